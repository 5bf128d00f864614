#!/usr/bin/env bash
# Runs on a manager after a node's maintenance (a resize powers it back on): waits until the
# node is Ready again (and, for a manager, Reachable in the raft), then makes it available for
# tasks. Swarm does not move running tasks back by itself; new and updated tasks will use it.
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
log "Ready and active again"
