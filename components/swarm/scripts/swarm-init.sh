#!/usr/bin/env bash
# Creates the swarm on the bootstrap manager, or confirms it already manages one, and prints the
# join tokens as one JSON line on stdout (the caller keeps stdout secret). Everything else goes
# to stderr. Safe to re-run: a node that already manages the swarm is left as it is.
# A REPLACED bootstrap manager (a fresh droplet while its peers still serve the swarm) must not
# create a second swarm: it fetches a manager token from a live peer over the VPC, with the
# program's SSH key given on stdin, and joins as a manager instead.
# Usage: swarm-init.sh ADVERTISE_ADDR ADDRESS_POOL [PEER_MANAGER_ADDR ...] <<< SSH_PRIVATE_KEY
#   ADVERTISE_ADDR  the node's private (VPC) address: managers need a stable one
#   ADDRESS_POOL    CIDR the overlay networks are carved from (must not overlap the VPC)
#   PEER_...        the other managers' private addresses
set -euo pipefail
# shellcheck source=components/scripts/lib/peer-ssh.sh
. "$(dirname "$0")/lib/peer-ssh.sh"
# shellcheck source=components/scripts/lib/swarm.sh
. "$(dirname "$0")/lib/swarm.sh"

log() { printf 'swarm-init[%s]: %s\n' "$(hostname)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -ge 2 ] || die "usage: swarm-init.sh ADVERTISE_ADDR ADDRESS_POOL [PEER_MANAGER_ADDR ...]"
advertise="$1"
pool="$2"
shift 2

info() { docker info --format "$1"; }

# Peers that answer on 2377 serve a swarm (a fresh droplet answers nothing there).
live_peers() {
  local peer
  for peer in "$@"; do
    if answers "$peer" 2377; then echo "$peer"; fi
  done
}

# Joins the swarm the live peers serve, as a manager, with a token one of them hands out.
rejoin() {
  local peer token round
  peer_has_key ||
    die "managers $* already serve a swarm, so this replaced bootstrap manager must join it, but no SSH key came on stdin to fetch a join token. By hand: on a healthy manager run 'docker swarm join-token manager', run the printed command here with --advertise-addr $advertise, then run 'pulumi up' again"
  log "managers $* already serve a swarm: this is a replaced bootstrap manager, joining them"
  # If the lost manager was the raft leader, the others answer "no leader" until they have
  # elected one (10 s or more): a few rounds over the peers ride that out.
  for round in 1 2 3 4 5 6; do
    for peer in "$@"; do
      log "asking $peer for a manager join token"
      if ! token="$(peer_ssh "$peer" docker swarm join-token -q manager)" || [ -z "$token" ]; then
        log "no token from $peer (is SSH open between the nodes, does $peer have quorum?); trying the next manager"
        continue
      fi
      log "joining as a manager through $peer, advertising $advertise"
      if docker swarm join --token "$token" --advertise-addr "$advertise" \
        --listen-addr "$advertise:2377" "$peer:2377" 2>&1 | mask_tokens >&2 || joined_in_background; then
        in_raft || die "joined through $peer, but this manager did not become reachable in the raft within 120s"
        return 0
      fi
      log "could not join through $peer; trying the next manager"
    done
    if [ "$round" -lt 6 ]; then
      log "no manager took this one in round $round of 6; trying again in 10s"
      sleep 10
    fi
  done
  die "could not join the swarm served by $* as a manager within about a minute; fix what is logged above and run 'pulumi up' again"
}

start() {
  local peers
  # Initialising while peers hold a swarm would split the cluster in two.
  mapfile -t peers < <(live_peers "$@")
  if [ "${#peers[@]}" -gt 0 ]; then
    rejoin "${peers[@]}"
  else
    log "initialising a new swarm advertised on $advertise (overlay pool $pool)"
    # Its stdout is the worker's join command, token included: dropped (the tokens are read
    # below with -q). Its errors name no token, and are masked all the same.
    docker swarm init --advertise-addr "$advertise" --listen-addr "$advertise:2377" \
      --default-addr-pool "$pool" 2>&1 >/dev/null | mask_tokens >&2 ||
      die "docker swarm init failed (see above); 'docker info' on this node tells its swarm state"
    log "initialised swarm $(info '{{.Swarm.Cluster.ID}}'); this node is its first manager"
  fi
}

peer_read_key || true
state="$(info '{{.Swarm.LocalNodeState}}')"
case "$state" in
  active)
    [ "$(info '{{.Swarm.ControlAvailable}}')" = "true" ] ||
      die "this node is a worker of another swarm (managers: $(info '{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}')); run 'docker swarm leave' on it first if that swarm is not wanted"
    addr="$(info '{{.Swarm.NodeAddr}}')"
    [ "$addr" = "$advertise" ] ||
      die "this node already manages a swarm advertised on $addr, not $advertise; was it created by hand?"
    log "already manages swarm $(info '{{.Swarm.Cluster.ID}}'); nothing to change"
    ;;
  pending)
    # Only a join leaves this state: an earlier rejoin (above) that never completed.
    log "swarm state is 'pending' (an unfinished join): leaving it and starting over"
    docker swarm leave --force >&2 || true
    start "$@"
    ;;
  inactive) start "$@" ;;
  locked)
    die "the swarm on this node is locked (autolock); unlock it with 'docker swarm unlock'"
    ;;
  *)
    die "swarm state is '$state'; inspect with 'docker info' and 'docker swarm leave --force' if it is a stale attempt"
    ;;
esac

# Read into variables first: a failure inside printf's arguments would not stop the script, and
# the program would get an empty token. Only this line, on the secret stdout, carries them.
cluster_id="$(info '{{.Swarm.Cluster.ID}}')"
node_id="$(info '{{.Swarm.NodeID}}')"
worker_token="$(docker swarm join-token -q worker)"
manager_token="$(docker swarm join-token -q manager)"
if [ -z "$cluster_id" ] || [ -z "$node_id" ] || [ -z "$worker_token" ] || [ -z "$manager_token" ]; then
  die "the swarm is up, but docker returned an empty cluster ID, node ID or join token; run 'pulumi up' again"
fi
printf '{"clusterId":"%s","nodeId":"%s","workerToken":"%s","managerToken":"%s"}\n' \
  "$cluster_id" "$node_id" "$worker_token" "$manager_token"
