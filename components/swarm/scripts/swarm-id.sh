#!/usr/bin/env bash
# Runs on manager-0 once the swarm exists: prints {"nodeId": ..., "clusterId": ...} of this node
# and its swarm. Its own command (not swarm-init's output) so that what the registration and the deploys
# take as input changes only when manager-0's droplet does, and a preview after an edit of the
# init command shows known values (see bootstrap.ts). Safe to re-run.
# Usage: swarm-id.sh
set -euo pipefail

log() { printf 'swarm-id: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

state="$(docker info --format '{{.Swarm.LocalNodeState}}')"
[ "$state" = active ] || die "this node is not in a swarm (state '$state'); swarm-init.sh must run first"
[ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] || die "this node is not a manager of its swarm"
printf '{"nodeId":"%s","clusterId":"%s"}\n' "$(docker info --format '{{.Swarm.NodeID}}')" \
  "$(docker info --format '{{.Swarm.Cluster.ID}}')"
