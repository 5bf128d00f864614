#!/usr/bin/env bash
# Runs on a manager before a node's droplet is destroyed: drains the node and waits until its
# tasks have stopped there (swarm starts them elsewhere), demotes it if it is a manager so the
# raft membership shrinks cleanly, has the node itself `docker swarm leave` (over the VPC, with
# the program's SSH key given on stdin), then removes it from the swarm. A node that is down or
# unreachable (a lost droplet) is removed without the leave. Safe to re-run.
# Usage: node-remove.sh NODE [DRAIN_TIMEOUT_SECONDS] <<< SSH_PRIVATE_KEY
set -euo pipefail
# shellcheck source=components/scripts/lib/peer-ssh.sh
. "$(dirname "$0")/lib/peer-ssh.sh"

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

peer_read_key || true
addr="$(docker node inspect --format '{{.Status.Addr}}' "$id")"
if [ "$(docker node inspect --format '{{.Status.State}}' "$id")" = down ]; then
  log "$hostname is down: it cannot leave by itself"
elif ! peer_has_key; then
  log "WARNING: no SSH key on stdin: $hostname is removed without leaving the swarm itself"
elif peer_ssh "$addr" docker swarm leave >&2; then
  log "$hostname left the swarm"
else
  log "WARNING: could not reach $hostname at $addr to make it leave; removing it anyway"
fi

log "removing $hostname from the swarm"
# The node has left (or cannot), so its entry is only a record now. A plain `rm` would first
# wait ~10 s for the managers to see it Down, per node and managers one at a time; --force
# removes the same record at once.
docker node rm --force "$id" >&2
