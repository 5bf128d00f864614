#!/bin/sh
# The edge's Caddy: PID 1 of every do-swarm-edge_caddy task (components/edge/stack.ts). Runs
# Caddy on the Caddyfile that the config service installs in the node's shared volume, and
# reloads Caddy IN PLACE whenever that file changes: a change of the routes never replaces this
# task, whose host-mode ports (one task's per node) would otherwise go dark while it restarts.
#
# Why a reload loses no request (read in caddyserver/caddy, v2.6.2 and v2.11.4): `caddy reload`
# posts the config to the admin API's /load, which answers once caddy.Load is done; Load runs
# the NEW config and starts its servers before it stops the old ones (caddy.go,
# unsyncedDecodeAndRun: run(newCfg, true), then unsyncedStop(oldCtx)). The new servers bind
# the same ports next to the old ones (listen_unix.go: SO_REUSEPORT, the listener pool counts
# the users of an address), and the old servers then shut down gracefully (caddyhttp App.Stop:
# http.Server.Shutdown within grace_period: in-flight requests finish, idle keep-alive
# connections close and clients reopen them; upgraded connections such as WebSockets are closed
# by reverseproxy's Handler.Cleanup and clients reconnect). A config that fails to load leaves
# the old one running (changeConfig puts the previous config back). One race remains: a new
# connection landing on the old socket as it closes is reset (seen in tests/edgeReload.test.ts,
# a tight loop of new connections: about 1 run in 10, 1 or 2 of a few hundred; never in the lab).
#
# Why not `caddy run --watch` (cmd/main.go, watchConfigFile): the watcher takes its baseline
# apart from the startup load, in v2.6.2 the file's mtime when the watcher starts and in v2.11.4
# a second read of the file, so a change landing between the startup load and that baseline is
# never loaded; and in v2.11.4 one failure to read or adapt the file ends the watching for good.
# Here the baseline is the very copy Caddy started on, and a file Caddy refused is skipped only
# until the file changes again.
#
# SHARED_DIR/loaded, a copy of the content Caddy runs, is the marker the config service's task
# waits for before it reports healthy (edge-config.sh); it is written only once Caddy answers
# HEALTH_URL after its start, and after each successful reload (which returns once loaded).
# SHARED_DIR/refused, a copy of the last content Caddy refused, lets that task fail at once.
#
# Stopping where the reserved IP points (HANDOFF_SECONDS > 0: a failover agent runs on the
# node). Swarm stops this task with SIGTERM on an image change (stop-first: a host port is one
# task's per node) or a drain, and until a new edge listens there the node refuses connections.
# So first: SHARED_DIR/close-connections (every response then says "Connection: close", the
# Caddyfile's @closing, so no idle keep-alive connection is left to be reset when the IP moves)
# and SHARED_DIR/stopping, which asks the node's failover agent to move the IP to another
# manager if this node holds it (failover-agent.sh, edge_handoff). Caddy keeps serving until
# the agent answers with SHARED_DIR/released (at once when the node does not hold the IP) or
# HANDOFF_SECONDS pass; then it stops gracefully. A new edge clears the three markers.
#
# Stopping behind the load balancer (DRAIN_SECONDS > 0): SHARED_DIR/close-connections also
# makes the Caddyfile's catch-all site, which answers the balancer's health check, answer 503;
# Caddy serves every site for DRAIN_SECONDS more, while the balancer takes the node out.
#
# POSIX sh: the image's shell is busybox ash (pipefail is not POSIX: no pipeline here whose
# failure matters). Every wait is bounded by WAIT_SECONDS (HANDOFF_SECONDS, DRAIN_SECONDS when
# stopping).
# Usage: edge-caddy.sh SHARED_DIR HEALTH_URL [WAIT_SECONDS] [POLL_SECONDS] [HANDOFF_SECONDS] [DRAIN_SECONDS]
set -eu

log() { printf 'edge-caddy: %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

[ "$#" -ge 2 ] || die "usage: edge-caddy.sh SHARED_DIR HEALTH_URL [WAIT_SECONDS] [POLL_SECONDS] [HANDOFF_SECONDS] [DRAIN_SECONDS]"
shared=$1
health=$2
wait_s=${3:-120}
poll_s=${4:-1}
handoff_s=${5:-0}
drain_s=${6:-0}
# Private to this container: what Caddy runs, the file being tried, the last file Caddy refused.
state=$(mktemp -d "${TMPDIR:-/tmp}/edge-caddy.XXXXXX")
loaded=$state/loaded
next=$state/next
refused=$state/refused
caddy_pid=""

# The docker config's name for a content (caddyfile_ + 12 hex digits of its SHA-256, as
# components/edge/stack.ts names it), so the logs of both services speak of the same thing.
name() {
  _d=$(sha256sum "$1")
  printf 'caddyfile_%.12s' "$_d"
}
now() { date +%s; }
# sleep that a signal interrupts at once (a trap runs only after a foreground command ends).
pause() {
  sleep "$1" &
  wait "$!" || true
}

# Swarm stops the task with SIGTERM to PID 1: Caddy gets it and stops gracefully (its
# grace_period; the service's stop_grace_period is longer). INT too, as TERM: a background
# child of a non-interactive shell ignores SIGINT.
on_signal() {
  trap - TERM INT
  if [ "$handoff_s" -gt 0 ] && [ -n "$caddy_pid" ]; then hand_off; fi
  if [ "$drain_s" -gt 0 ] && [ -n "$caddy_pid" ]; then
    : >"$shared/close-connections"
    log "stopping: failing the load balancer's health check for ${drain_s}s first (Caddy serves meanwhile)"
    sleep "$drain_s"
  fi
  log "got SIG$1: stopping Caddy gracefully (in-flight requests get its grace period)"
  _rc=0
  if [ -n "$caddy_pid" ]; then
    kill -TERM "$caddy_pid" 2>/dev/null || true
    wait "$caddy_pid" || _rc=$?
  fi
  log "Caddy stopped (exit status $_rc)"
  exit "$_rc"
}
trap 'on_signal TERM' TERM
trap 'on_signal INT' INT

# hand_off: asks the node's failover agent to take the reserved IP off this node, Caddy serving
# (and closing keep-alive connections) meanwhile; returns once the agent answered, or after
# HANDOFF_SECONDS (the agent is down: stopping is what swarm asked for, so stop anyway).
hand_off() {
  rm -f "$shared/released"
  : >"$shared/close-connections"
  date >"$shared/.stopping.$$"
  mv -f "$shared/.stopping.$$" "$shared/stopping"
  log "stopping: asking this node's failover agent to move the reserved IP off it first (up to ${handoff_s}s; Caddy serves meanwhile)"
  _deadline=$(($(now) + handoff_s))
  until [ -e "$shared/released" ]; do
    # -gt: whole seconds of the clock, so at least HANDOFF_SECONDS pass
    if [ "$(now)" -gt "$_deadline" ]; then
      log "ERROR: no answer from the failover agent within ${handoff_s}s (is it running? journalctl -u do-swarm-failover): stopping anyway"
      return 0
    fi
    # A plain sleep (the traps are off; swarm's stop_grace_period covers this wait); busybox
    # and coreutils take fractions, a strictly POSIX sleep may not.
    sleep 0.5 2>/dev/null || sleep 1
  done
  log "the failover agent: $(cat "$shared/released" 2>/dev/null || true)"
}

# publish FILE NAME: SHARED_DIR/NAME := FILE, replaced atomically (a rename in the same dir).
publish() {
  _t=$(mktemp "$shared/.$2.XXXXXX")
  cp "$1" "$_t"
  chmod 0644 "$_t"
  mv -f "$_t" "$shared/$2"
}

# start FILE: Caddy on a private copy of FILE, in the background; then waits until it answers
# HEALTH_URL. Returns 1 when Caddy exited first (its status in caddy_rc).
start() {
  cp "$1" "$loaded"
  log "starting Caddy on $(name "$loaded")"
  caddy run --config "$loaded" --adapter caddyfile &
  caddy_pid=$!
  _deadline=$(($(now) + wait_s))
  until wget -q -O /dev/null "$health" 2>/dev/null; do
    if ! kill -0 "$caddy_pid" 2>/dev/null; then
      caddy_rc=0
      wait "$caddy_pid" || caddy_rc=$?
      caddy_pid=""
      return 1
    fi
    [ "$(now)" -lt "$_deadline" ] || die "Caddy did not answer $health within ${wait_s}s"
    pause "$poll_s"
  done
}

# A new edge on this node: the markers of one that stopped before are not about this one.
rm -f "$shared/stopping" "$shared/released" "$shared/close-connections"

_deadline=$(($(now) + wait_s))
if [ ! -s "$shared/Caddyfile" ]; then
  log "waiting for the config service (do-swarm-edge_config) to install $shared/Caddyfile"
  until [ -s "$shared/Caddyfile" ]; do
    [ "$(now)" -lt "$_deadline" ] ||
      die "no $shared/Caddyfile after ${wait_s}s: the config service installs it (docker service logs do-swarm-edge_config)"
    pause "$poll_s"
  done
fi

if ! start "$shared/Caddyfile"; then
  # A file that passed `caddy validate` (edge-config.sh) yet does not run: fall back to the last
  # config Caddy ran on this node rather than stay down; the config task waiting for the new
  # file then fails, and swarm rolls its update back.
  cp "$loaded" "$refused"
  publish "$refused" refused
  if [ -s "$shared/loaded" ] && ! cmp -s "$shared/loaded" "$refused"; then
    log "ERROR: Caddy exited (status $caddy_rc) on $(name "$refused"); falling back to $(name "$shared/loaded"), the last config it ran on this node"
    start "$shared/loaded" || die "Caddy exited (status $caddy_rc) on $(name "$loaded") too"
  else
    die "Caddy exited (status $caddy_rc) on $(name "$refused")"
  fi
fi
publish "$loaded" loaded
log "Caddy runs $(name "$loaded") and answers $health"

while :; do
  pause "$poll_s"
  if ! kill -0 "$caddy_pid" 2>/dev/null; then
    _rc=0
    wait "$caddy_pid" || _rc=$?
    die "Caddy exited (status $_rc); swarm starts this task again"
  fi
  [ -s "$shared/Caddyfile" ] || continue
  if cmp -s "$shared/Caddyfile" "$loaded"; then
    # Back to what Caddy runs (the failed config task put its previous file back): a refused
    # file is tried again if it is installed again.
    if [ -f "$refused" ]; then rm -f "$refused" "$shared/refused"; fi
    continue
  fi
  [ -f "$refused" ] && cmp -s "$shared/Caddyfile" "$refused" && continue
  # The file is replaced by a rename, so the copy is one whole version (compared again: it may
  # have changed back in between).
  cp "$shared/Caddyfile" "$next"
  cmp -s "$next" "$loaded" && continue
  log "$(name "$next") installed: reloading Caddy in place (it runs $(name "$loaded"))"
  if caddy reload --config "$next" --adapter caddyfile >"$state/reload.log" 2>&1; then
    mv -f "$next" "$loaded"
    rm -f "$refused" "$shared/refused"
    publish "$loaded" loaded
    log "Caddy runs $(name "$loaded")"
  else
    cat "$state/reload.log" >&2
    mv -f "$next" "$refused"
    publish "$refused" refused
    log "ERROR: Caddy refused $(name "$refused") and keeps running $(name "$loaded"); that file is not tried again while it stays installed"
  fi
done
