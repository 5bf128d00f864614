#!/usr/bin/env bash
# Runs on a manager after a node's maintenance (a resize powers it back on): waits until the
# node is Ready again (and, for a manager, Reachable in the raft), makes it available for tasks
# and waits until it runs its global services' tasks again. Swarm does not move replicated tasks
# back by itself; new and updated tasks will use it.
# Usage: node-activate.sh HOSTNAME [TIMEOUT_SECONDS]
set -euo pipefail

log() { printf 'node-activate[%s]: %s\n' "$host" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -ge 1 ] || { echo "usage: node-activate.sh HOSTNAME [TIMEOUT_SECONDS]" >&2; exit 1; }
host="$1"
timeout_s="${2:-600}"

deadline=$((SECONDS + timeout_s))
id=""
while :; do
  id="$(docker node ls --format '{{.ID}} {{.Hostname}} {{.Status}}' | awk -v h="$host" '$2 == h && $3 == "Ready" { print $1; exit }')"
  if [ -n "$id" ]; then
    reach="$(docker node inspect --format '{{if .ManagerStatus}}{{.ManagerStatus.Reachability}}{{else}}worker{{end}}' "$id")"
    if [ "$reach" = reachable ] || [ "$reach" = worker ]; then break; fi
  fi
  [ "$SECONDS" -lt "$deadline" ] || die "$host is not Ready (and Reachable, if a manager) after ${timeout_s}s"
  sleep 2
done
docker node update --availability active "$id" >/dev/null

# Global services run one task per node (the edge: the Caddy of each entry node). The node is
# back in service once its tasks of them run again (swarm says Running only once a task with a
# healthcheck is healthy): the reserved IP is handed back to it right after this. Only services
# that ran here before count (their earlier tasks are still listed); waiting is bounded by the
# same deadline, and a service that does not come back is a warning, not a failed resize.
for s in $(docker service ls --filter mode=global --format '{{.Name}}'); do
  [ -n "$(docker service ps -q --filter "node=$id" "$s" 2>/dev/null)" ] || continue
  # (grep -c reads everything: with pipefail, grep -q leaving early could SIGPIPE docker.)
  until [ "$(docker service ps --filter "node=$id" --filter desired-state=running \
    --format '{{.CurrentState}}' "$s" 2>/dev/null | grep -c '^Running' || true)" -gt 0 ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "WARNING: global service $s has no running task on $host yet"
      break
    fi
    sleep 1
  done
done
log "Ready and active again"
