#!/bin/sh
# The edge's config: PID 1 of every do-swarm-edge_config task (components/edge/stack.ts). The
# task carries one Caddyfile (a docker config named by its content, so a change of the routes
# is a new task of this service, never of the caddy service). It:
#   1. validates it with `caddy validate` (the edge's own image, so the same Caddy version);
#   2. installs it atomically in the node's shared volume (a copy in the same directory, then a
#      rename), where the node's Caddy reloads it in place (edge-caddy.sh);
#   3. waits, at most WAIT_SECONDS, until that Caddy has loaded exactly this content
#      (SHARED_DIR/loaded, written by edge-caddy.sh), then creates READY_FILE, which the
#      service's healthcheck tests, and sleeps: swarm counts the task running only once healthy.
# A file `caddy validate` refuses exits non-zero before anything is installed; a file the
# node's Caddy refused to load (SHARED_DIR/refused, at once) or did not load in time is replaced
# by the previous one (when nobody installed another meanwhile) before exiting non-zero. Either
# way swarm's update of this service fails and rolls back (update_config failure_action
# rollback), and `stack-deploy.sh` fails the deploy, naming this service.
#
# POSIX sh: the image's shell is busybox ash (no pipeline here whose failure matters).
# Usage: edge-config.sh CADDYFILE SHARED_DIR READY_FILE [WAIT_SECONDS] [POLL_SECONDS]
set -eu

log() { printf 'edge-config: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

[ "$#" -ge 3 ] || die "usage: edge-config.sh CADDYFILE SHARED_DIR READY_FILE [WAIT_SECONDS] [POLL_SECONDS]"
src=$1
shared=$2
ready=$3
wait_s=${4:-90}
poll_s=${5:-1}
rm -f "$ready"
# Private to this container: caddy validate's output, the file this one replaces.
work=$(mktemp -d "${TMPDIR:-/tmp}/edge-config.XXXXXX")

name() {
  _d=$(sha256sum "$1")
  printf 'caddyfile_%.12s' "$_d"
}
now() { date +%s; }
pause() {
  sleep "$1" &
  wait "$!" || true
}
# Stopped by swarm (replaced by a newer task, or the stack removed): the file stays installed.
trap 'log "stopped"; exit 0' TERM INT

# install FILE: SHARED_DIR/Caddyfile := FILE, by a rename within the shared directory, so the
# node's Caddy never reads a half-written file.
install_file() {
  _t=$(mktemp "$shared/.Caddyfile.XXXXXX")
  cp "$1" "$_t"
  chmod 0644 "$_t"
  mv -f "$_t" "$shared/Caddyfile"
}

[ -s "$src" ] || die "no Caddyfile at $src (the service's docker config)"
me=$(name "$src")
_v=$(caddy version 2>&1) || _v="unknown version"
log "validating $me with Caddy $_v"
if ! caddy validate --config "$src" --adapter caddyfile >"$work/validate.log" 2>&1; then
  cat "$work/validate.log" >&2
  die "Caddy refuses $me (above): nothing installed, the node's Caddy keeps its config"
fi

mkdir -p "$shared"
# A refusal of an earlier attempt is not this one's.
rm -f "$shared/refused"
prev=""
if [ ! -f "$shared/Caddyfile" ]; then
  install_file "$src"
  log "installed $me (the first Caddyfile on this node)"
elif ! cmp -s "$shared/Caddyfile" "$src"; then
  prev=$work/previous
  cp "$shared/Caddyfile" "$prev"
  install_file "$src"
  log "installed $me in place of $(name "$prev")"
else
  log "$me is already installed"
fi

_deadline=$(($(now) + wait_s))
failed=""
until cmp -s "$shared/loaded" "$src"; do
  if cmp -s "$shared/refused" "$src"; then
    failed="the node's Caddy refused to load $me (docker service logs do-swarm-edge_caddy says why)"
  elif [ "$(now)" -ge "$_deadline" ]; then
    failed="the node's Caddy did not load $me within ${wait_s}s (see docker service logs do-swarm-edge_caddy)"
  fi
  if [ -n "$failed" ]; then
    if [ -n "$prev" ] && cmp -s "$shared/Caddyfile" "$src"; then
      install_file "$prev"
      log "put $(name "$prev") back in place"
    fi
    die "$failed"
  fi
  pause "$poll_s"
done
: >"$ready"
log "the node's Caddy runs $me: ready"
while :; do pause 3600; done
