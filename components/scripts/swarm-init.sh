#!/usr/bin/env bash
# Creates the swarm on the bootstrap manager, or confirms it already leads one, and prints the
# join tokens as one JSON line on stdout (the caller keeps stdout secret). Everything else goes
# to stderr. Safe to re-run: a node that already manages the swarm is left as it is.
# Usage: swarm-init.sh ADVERTISE_ADDR ADDRESS_POOL [PEER_MANAGER_ADDR ...]
#   ADVERTISE_ADDR  the node's private (VPC) address: managers need a stable one
#   ADDRESS_POOL    CIDR the overlay networks are carved from (must not overlap the VPC)
#   PEER_...        the other managers' private addresses, to refuse creating a second swarm
set -euo pipefail

log() { printf 'swarm-init[%s]: %s\n' "$(hostname)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -ge 2 ] || die "usage: swarm-init.sh ADVERTISE_ADDR ADDRESS_POOL [PEER_MANAGER_ADDR ...]"
advertise="$1"
pool="$2"
shift 2

info() { docker info --format "$1"; }
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
  inactive)
    # A fresh bootstrap manager while its peers still hold a swarm means this droplet was
    # replaced: initialising would split the cluster in two. Refuse, and say how to recover.
    for peer in "$@"; do
      if timeout 3 bash -c "exec 3<>/dev/tcp/$peer/2377" 2>/dev/null; then
        die "manager $peer already serves a swarm (port 2377 answers), so this replaced bootstrap manager must join it instead of creating a second swarm. On a healthy manager run 'docker swarm join-token manager', run the printed command here with --advertise-addr $advertise, then run 'pulumi up' again"
      fi
    done
    log "initialising a new swarm advertised on $advertise (overlay pool $pool)"
    docker swarm init --advertise-addr "$advertise" --listen-addr "$advertise:2377" \
      --default-addr-pool "$pool" >&2
    ;;
  locked)
    die "the swarm on this node is locked (autolock); unlock it with 'docker swarm unlock'"
    ;;
  *)
    die "swarm state is '$state'; inspect with 'docker info' and 'docker swarm leave --force' if it is a stale attempt"
    ;;
esac

printf '{"clusterId":"%s","nodeId":"%s","workerToken":"%s","managerToken":"%s"}\n' \
  "$(info '{{.Swarm.Cluster.ID}}')" "$(info '{{.Swarm.NodeID}}')" \
  "$(docker swarm join-token -q worker)" "$(docker swarm join-token -q manager)"
