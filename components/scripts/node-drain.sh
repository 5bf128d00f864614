#!/usr/bin/env bash
# Runs on a manager before a node goes down for maintenance (a resize powers the droplet off):
# drains it and waits until its tasks have stopped there AND every replicated service is back
# at full strength elsewhere, so taking the node down costs no capacity. Safe to re-run.
# Usage: node-drain.sh HOSTNAME [TIMEOUT_SECONDS]
set -euo pipefail

log() { printf 'node-drain[%s]: %s\n' "$host" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -ge 1 ] || { echo "usage: node-drain.sh HOSTNAME [TIMEOUT_SECONDS]" >&2; exit 1; }
host="$1"
timeout_s="${2:-600}"

# The live entry of this hostname (a lost-and-replaced droplet can leave a Down one behind).
id="$(docker node ls --format '{{.ID}} {{.Hostname}} {{.Status}}' | awk -v h="$host" '$2 == h && $3 != "Down" { print $1; exit }')"
[ -n "$id" ] || die "no live swarm node is called $host"

# Replicated services below strength before the drain (crash-looping, unplaceable) are not this
# drain's to wait for; every other one must be whole again elsewhere before the node goes away.
short() {
  docker service ls --format '{{.Name}} {{.Mode}} {{.Replicas}}' |
    awk '$2 == "replicated" { split($3, r, "/"); if (r[1] != r[2]) print $1 }' | sort
}
already_short="$(short)"
[ -z "$already_short" ] || log "already below strength before draining (not waited for): $(paste -sd, - <<<"$already_short")"
newly_short() { comm -23 <(short) <(printf '%s\n' "$already_short" | sort); }

docker node update --availability drain "$id" >/dev/null
log "draining"
deadline=$((SECONDS + timeout_s))
until [ -z "$(docker node ps --filter desired-state=running -q "$id")" ]; do
  [ "$SECONDS" -lt "$deadline" ] || die "tasks still run on $host after ${timeout_s}s"
  sleep 2
done
until [ -z "$(newly_short)" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    die "services not back at full strength after ${timeout_s}s: $(newly_short | paste -sd, -); the rest of the cluster may lack capacity"
  fi
  sleep 2
done
log "drained; every replicated service runs at full strength on other nodes"
