#!/usr/bin/env bash
# Runs on a manager before a node goes down for maintenance (a resize powers the droplet off):
# drains it and waits until its tasks have stopped there AND every replicated service is back
# at full strength elsewhere, so taking the node down costs no capacity. Safe to re-run.
# Usage: node-drain.sh HOSTNAME [TIMEOUT_SECONDS] [SURGE_SECONDS]
# SURGE_SECONDS (a node joining others of its pool already down, components/maintenance/
# batches.ts): when the surge's extra tasks do not all run within it, the surge is undone, the
# node is left active and the script exits 75, so the batch shrinks instead of draining without
# room. Without it, the surge waits the whole timeout and drains anyway, with a warning.
set -euo pipefail

log() { printf 'node-drain[%s]: %s\n' "$host" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -ge 1 ] || { echo "usage: node-drain.sh HOSTNAME [TIMEOUT_SECONDS] [SURGE_SECONDS]" >&2; exit 1; }
host="$1"
timeout_s="${2:-600}"
surge_s="${3:-0}"

# The live entry of this hostname (a lost-and-replaced droplet can leave a Down one behind).
id="$(docker node ls --format '{{.ID}} {{.Hostname}} {{.Status}}' | awk -v h="$host" '$2 == h && $3 != "Down" { print $1; exit }')"
[ -n "$id" ] || die "no live swarm node is called $host"

# Replicated services below strength before the drain (crash-looping, unplaceable) are not this
# drain's to wait for; every other one must be whole again elsewhere before the node goes away.
# (Counted from tasks really Running: `docker service ls` REPLICAS can count a stale task.)
running_of() {
  docker service ps --filter desired-state=running --format '{{.CurrentState}}' "$1" | grep -c '^Running' || true
}
short() {
  local svc n
  for svc in $(docker service ls --filter mode=replicated --format '{{.Name}}'); do
    n="$(docker service inspect --format '{{.Spec.Mode.Replicated.Replicas}}' "$svc")"
    [ "$(running_of "$svc")" -ge "$n" ] || echo "$svc"
  done | sort
}
already_short="$(short)"
[ -z "$already_short" ] || log "already below strength before draining (not waited for): $(paste -sd, - <<<"$already_short")"
newly_short() { comm -23 <(short) <(printf '%s\n' "$already_short" | sort); }

# Surge first: swarm has no "start elsewhere, then stop here" for a drain, so a node holding k
# tasks of a service would cost it k tasks of capacity. Scale each replicated service with
# tasks here up by k, wait until the extra tasks run (elsewhere: this node is already paused),
# and only then drain and scale back. Capacity never dips; a cluster without room just waits.
declare -A here=() replicas=()
while read -r task; do
  [ -n "$task" ] || continue
  svc="${task%.*}"
  here["$svc"]=$((${here[$svc]:-0} + 1))
done < <(docker node ps --filter desired-state=running --format '{{.Name}}' "$id")
restore() {
  local svc
  for svc in "${!replicas[@]}"; do
    docker service scale --detach "$svc=${replicas[$svc]}" >/dev/null 2>&1 ||
      log "WARNING: could not scale $svc back to ${replicas[$svc]}; run: docker service scale $svc=${replicas[$svc]}"
  done
}
trap restore EXIT
docker node update --availability pause "$id" >/dev/null
for svc in "${!here[@]}"; do
  n="$(docker service inspect --format '{{if .Spec.Mode.Replicated}}{{.Spec.Mode.Replicated.Replicas}}{{end}}' "$svc" 2>/dev/null || true)"
  [ -n "$n" ] || continue # global services have exactly one task per node: nothing to surge
  replicas["$svc"]="$n"
  log "surge: $svc $n -> $((n + ${here[$svc]})) while $host drains"
  docker service scale --detach "$svc=$((n + ${here[$svc]}))" >/dev/null
done
deadline=$((SECONDS + timeout_s))
surge_deadline="$deadline"
[ "$surge_s" -le 0 ] || surge_deadline=$((SECONDS + surge_s))
for svc in "${!replicas[@]}"; do
  want=$((replicas[$svc] + here[$svc]))
  until [ "$(running_of "$svc")" -ge "$want" ]; do
    if [ "$surge_s" -gt 0 ] && [ "$SECONDS" -ge "$surge_deadline" ]; then
      log "no room for the surge: $svc did not reach $want running tasks in ${surge_s}s beside the nodes already down; $host stays active"
      restore
      trap - EXIT
      docker node update --availability active "$id" >/dev/null
      exit 75
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "WARNING: $svc did not reach $want running tasks (no room elsewhere?); draining anyway"
      break
    fi
    sleep 2
  done
done

docker node update --availability drain "$id" >/dev/null
log "draining"
# The desired state flips at once; wait until the containers have really stopped there.
while [ "$(docker node ps --format '{{.CurrentState}}' "$id" | grep -c '^Running')" -gt 0 ]; do
  [ "$SECONDS" -lt "$deadline" ] || die "tasks still run on $host after ${timeout_s}s"
  sleep 2
done
restore
trap - EXIT
until [ -z "$(newly_short)" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    die "services not back at full strength after ${timeout_s}s: $(newly_short | paste -sd, -); the rest of the cluster may lack capacity"
  fi
  sleep 2
done
log "drained; every replicated service runs at full strength on other nodes"
