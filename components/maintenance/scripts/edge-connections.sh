#!/usr/bin/env bash
# Tells this node's edge to stop keeping connections alive, or to keep them again; run by the
# rolling resize around a move of the reserved IP (components/maintenance.ts).
#
# A connection to the reserved IP that is still open when the IP moves is reset by the new
# holder, and the client's next request on it fails. While SHARED_DIR/close-connections exists
# in the edge's volume, every response of this node's edge says "Connection: close" (the
# Caddyfile's @closing, components/edge/caddyfile.ts), so after SECONDS of that, the clients
# that were sending hold no idle connection here: only a request in flight at the very instant
# of the move can still be cut.
#
# Usage: edge-connections.sh close SECONDS | keep
# No edge on this node (no volume do-swarm-edge_edge_conf): nothing to do, exit 0.
set -euo pipefail

VOLUME=do-swarm-edge_edge_conf
MARKER=close-connections

die() {
  echo "edge-connections: ERROR: $*" >&2
  exit 1
}

mode=${1:-}
case "$mode" in
  close)
    seconds=${2:-}
    [[ $seconds =~ ^[0-9]+$ ]] || die "usage: edge-connections.sh close SECONDS | keep"
    ;;
  keep) ;;
  *) die "usage: edge-connections.sh close SECONDS | keep" ;;
esac

if ! dir=$(docker volume inspect --format '{{.Mountpoint}}' "$VOLUME" 2>/dev/null) || [[ ! -d $dir ]]; then
  echo "edge-connections: no edge on $(hostname) (no volume $VOLUME): nothing to do" >&2
  exit 0
fi

if [[ $mode == close ]]; then
  : >"$dir/$MARKER"
  echo "edge-connections: $(hostname)'s edge closes every connection after its response; waiting ${seconds}s for the open ones to go" >&2
  sleep "$seconds"
else
  rm -f "$dir/$MARKER"
  echo "edge-connections: $(hostname)'s edge keeps connections alive again" >&2
fi
