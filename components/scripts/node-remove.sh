#!/usr/bin/env bash
# Runs on a manager before a node's droplet is destroyed: drains the node and waits until its
# tasks have stopped there (swarm starts them elsewhere), demotes it if it is a manager so the
# raft membership shrinks cleanly, then removes it from the swarm. It works whether or not the
# node itself is still reachable, so a lost droplet can be removed too. Safe to re-run.
# Usage: node-remove.sh NODE [DRAIN_TIMEOUT_SECONDS]
set -euo pipefail

log() { printf 'node-remove: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -ge 1 ] || die "usage: node-remove.sh NODE [DRAIN_TIMEOUT_SECONDS]"
node="$1"
drain_timeout="${2:-300}"

if ! docker node inspect "$node" >/dev/null 2>&1; then
  log "$node is not in the swarm; nothing to remove"
  exit 0
fi
id="$(docker node inspect --format '{{.ID}}' "$node")"
hostname="$(docker node inspect --format '{{.Description.Hostname}}' "$id")"
if [ "$id" = "$(docker info --format '{{.Swarm.NodeID}}')" ]; then
  # Only happens when the whole cluster is destroyed: the entry point is the last to go.
  log "$hostname is the manager running this script; its droplet is being destroyed with the cluster"
  exit 0
fi

log "draining $hostname ($id)"
docker node update --availability drain "$id" >/dev/null
deadline=$((SECONDS + drain_timeout))
# Wait until no task is still RUNNING there (the desired state flips at once, the containers
# stop later). A Down node cannot report its tasks stopping: nothing to wait for.
still_running() {
  [ "$(docker node inspect --format '{{.Status.State}}' "$id")" != down ] &&
    [ "$(docker node ps --format '{{.CurrentState}}' "$id" 2>/dev/null | grep -c '^Running')" -gt 0 ]
}
while still_running; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    log "WARNING: tasks still on $hostname after ${drain_timeout}s; removing it anyway"
    break
  fi
  sleep 2
done

if [ "$(docker node inspect --format '{{.Spec.Role}}' "$id")" = manager ]; then
  log "demoting $hostname so the raft membership shrinks before it goes"
  docker node demote "$id" >&2
  for _ in $(seq 30); do
    [ -z "$(docker node inspect --format '{{if .ManagerStatus}}x{{end}}' "$id")" ] && break
    sleep 2
  done
fi

log "removing $hostname from the swarm"
docker node rm --force "$id" >&2
