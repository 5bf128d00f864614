#!/usr/bin/env bash
# Runs on a manager once a node has joined: waits until the node is Ready, applies its labels
# (removing labels this script set earlier that are no longer wanted), and removes stale Down
# entries left by a droplet of the same name that was lost and replaced. Safe to re-run.
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
