#!/usr/bin/env bash
# Runs on a manager once a node has joined: waits until the node is Ready, applies its labels
# (removing labels this script set earlier that are no longer wanted), and removes stale Down
# entries left by a droplet of the same name that was lost and replaced, and entries of joins
# that never completed. Safe to re-run.
# Usage: node-register.sh NODE_ID [KEY=VALUE ...]
set -euo pipefail

log() { printf 'node-register: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -ge 1 ] || die "usage: node-register.sh NODE_ID [KEY=VALUE ...]"
node="$1"
shift

# The label that remembers which labels this script manages, so removing a label from the
# config removes it from the node without touching labels an operator added by hand.
managed_key="do-swarm.managed-labels"

docker node inspect "$node" >/dev/null 2>&1 || die "node $node is not in this swarm"
hostname="$(docker node inspect --format '{{.Description.Hostname}}' "$node")"

for _ in $(seq 90); do
  [ "$(docker node inspect --format '{{.Status.State}}' "$node")" = ready ] && break
  sleep 2
done
[ "$(docker node inspect --format '{{.Status.State}}' "$node")" = ready ] ||
  die "node $hostname ($node) did not become Ready within 180s"

declare -A wanted=()
update_args=()
for pair in "$@"; do
  case "$pair" in *=*) ;; *) die "label '$pair' is not KEY=VALUE" ;; esac
  wanted["${pair%%=*}"]=1
  update_args+=(--label-add "$pair")
done
previous="$(docker node inspect --format "{{index .Spec.Labels \"$managed_key\"}}" "$node")"
IFS=',' read -r -a previous_keys <<<"$previous"
for key in "${previous_keys[@]}"; do
  if [ -n "$key" ] && [ -z "${wanted[$key]:-}" ]; then
    update_args+=(--label-rm "$key")
  fi
done
keys="$(printf '%s\n' "${!wanted[@]}" | sort | paste -sd, -)"
update_args+=(--label-add "$managed_key=$keys")
docker node update "${update_args[@]}" "$node" >/dev/null
log "$hostname ($node) is Ready; labels: ${keys:-none}"

# Entries with this hostname but another ID are droplets that were lost and replaced. Right after
# a replacement the old entry may still look Ready: swarm marks a silent node Down after about 15
# seconds of missed heartbeats. Wait for that; a node that stays Ready is alive and left alone.
for stale in $(docker node ls --format '{{.ID}} {{.Hostname}}' | awk -v h="$hostname" -v id="$node" '$2 == h && $1 != id { print $1 }'); do
  for _ in $(seq 45); do
    [ "$(docker node inspect --format '{{.Status.State}}' "$stale")" != ready ] && break
    sleep 2
  done
  state="$(docker node inspect --format '{{.Status.State}}' "$stale")"
  if [ "$state" = ready ]; then
    log "WARNING: another node $stale called $hostname is still Ready after 90s; leaving it alone"
    continue
  fi
  if [ "$(docker node inspect --format '{{.Spec.Role}}' "$stale")" = manager ]; then
    log "demoting the stale manager entry $stale ($hostname, $state) so it stops counting toward quorum"
    docker node demote "$stale" >&2
  fi
  log "removing the stale entry $stale ($hostname, $state)"
  docker node rm --force "$stale" >&2
done

# Entries that never reported at all (no hostname, never Ready) for a minute. A join whose
# certificate request timed out on a slow leader and was retried leaves one: swarmkit's CA creates
# a node entry for each request it answers. A manager entry of that kind keeps its role in the
# spec, so every global service on the managers (the edge) waits forever for a task that cannot
# run: the lab saw two, made during a manager's join on a loaded machine, stop the edge's deploy.
# A node still joining reports its hostname within seconds, so a young entry is watched until it
# is a minute old (this only waits when there is one). Such an entry is no raft member: swarmkit
# removes it without a demotion (it refuses only a manager that is a raft member).
# never_reported ID: sets `state` and `created`; true while ID has no hostname and is not Ready.
never_reported() {
  local h
  IFS='|' read -r h state created <<<"$(docker node inspect --format '{{.Description.Hostname}}|{{.Status.State}}|{{.CreatedAt.Unix}}' "$1" 2>/dev/null)"
  [ -z "$h" ] && [ -n "$created" ] && [ "$state" != ready ]
}
for id in $(docker node ls -q); do
  never_reported "$id" || continue
  while [ $(($(date +%s) - created)) -le 60 ]; do
    sleep 2
    never_reported "$id" || continue 2
  done
  log "removing the entry $id of a join that never completed ($state, created $(($(date +%s) - created))s ago)"
  docker node rm --force "$id" >&2 || log "WARNING: could not remove $id; remove it by hand: docker node rm --force $id"
done
