#!/usr/bin/env bash
# Joins this node to the swarm as a manager or a worker, reading the join token from stdin so it
# never appears in the command line Pulumi stores or logs. Prints the node ID on stdout.
# Safe to re-run: a node already in this swarm with the right role is left as it is; a node in
# another swarm is an error; a stale half-finished join is cleaned up and retried.
# Usage: swarm-join.sh manager|worker ADVERTISE_ADDR MANAGER_ADDR [MANAGER_ADDR ...] <<< TOKEN
set -euo pipefail

log() { printf 'swarm-join[%s]: %s\n' "$(hostname)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -ge 3 ] || die "usage: swarm-join.sh manager|worker ADVERTISE_ADDR MANAGER_ADDR... (token on stdin)"
role="$1"
advertise="$2"
shift 2
case "$role" in manager | worker) ;; *) die "role must be manager or worker, not '$role'" ;; esac

token=""
IFS= read -r token || true
[ -n "$token" ] || die "no join token on standard input"

info() { docker info --format "$1"; }

# A node belongs to "this" swarm when one of the given managers is among its remote managers.
in_this_swarm() {
  local known m
  known=" $(info '{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}') "
  for m in "$@"; do
    case "$known" in *" $m:2377 "*) return 0 ;; esac
  done
  return 1
}

join() {
  local m
  for m in "$@"; do
    log "joining as $role through $m, advertising $advertise"
    # The token is an argument of the docker CLI for the second this takes; only root can see it.
    if docker swarm join --token "$token" --advertise-addr "$advertise" \
      --listen-addr "$advertise:2377" "$m:2377" >&2; then
      return 0
    fi
    log "could not join through $m; trying the next manager"
  done
  die "could not join the swarm through any of: $*; check that 2377/tcp is open between the nodes and that the token is current"
}

state="$(info '{{.Swarm.LocalNodeState}}')"
case "$state" in
  inactive) join "$@" ;;
  active)
    in_this_swarm "$@" ||
      die "this node is in another swarm (managers: $(info '{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}')); run 'docker swarm leave --force' on it if that swarm is not wanted"
    is_manager="$(info '{{.Swarm.ControlAvailable}}')"
    if [ "$role" = manager ] && [ "$is_manager" != true ]; then
      die "this node is a worker of the swarm but should be a manager; on a manager run 'docker node promote $(hostname)'"
    fi
    if [ "$role" = worker ] && [ "$is_manager" = true ]; then
      die "this node is a manager of the swarm but should be a worker; on a manager run 'docker node demote $(hostname)'"
    fi
    log "already a $role of this swarm; nothing to change"
    ;;
  pending | error)
    # A join that never completed (manager unreachable at the time, or a crash mid-join).
    log "swarm state is '$state': leaving the half-joined swarm and joining again"
    docker swarm leave --force >&2 || true
    join "$@"
    ;;
  locked) die "the swarm on this node is locked (autolock); unlock it with 'docker swarm unlock'" ;;
  *) die "unexpected swarm state '$state'" ;;
esac

if [ "$role" = manager ]; then
  # Managers join one at a time: do not report success until this one takes part in the raft,
  # so the next manager's join never overlaps with this one's.
  for _ in $(seq 60); do
    [ "$(info '{{.Swarm.ControlAvailable}}')" = true ] && break
    sleep 2
  done
  [ "$(info '{{.Swarm.ControlAvailable}}')" = true ] || die "joined, but the manager did not become reachable in the raft within 120s"
fi
info '{{.Swarm.NodeID}}'
