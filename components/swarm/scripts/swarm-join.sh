#!/usr/bin/env bash
# Joins this node to the swarm as a manager or a worker, with a join token it fetches at run time
# from one of the given managers over the VPC (with the program's SSH key, given on stdin): the
# token is never an input of the command, so a change of the swarm's init command (a manager IP,
# a script edit) does not make every join "unknown" in preview, and no token is in the state.
# Prints the node ID on stdout.
# Safe to re-run: a node already in this swarm with the right role is left as it is; a node in
# another live swarm is an error; a node still in a swarm that is gone (its only manager was lost
# and rebuilt) leaves it and joins; a stale half-finished join is cleaned up and retried.
# Usage: swarm-join.sh manager|worker ADVERTISE_ADDR MANAGER_ADDR [MANAGER_ADDR ...] <<< SSH_PRIVATE_KEY
set -euo pipefail
# shellcheck source=components/scripts/lib/swarm.sh
. "$(dirname "$0")/lib/swarm.sh"
# shellcheck source=components/scripts/lib/peer-ssh.sh
. "$(dirname "$0")/lib/peer-ssh.sh"

log() { printf 'swarm-join[%s]: %s\n' "$(hostname)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -ge 3 ] || die "usage: swarm-join.sh manager|worker ADVERTISE_ADDR MANAGER_ADDR... (SSH key on stdin)"
role="$1"
advertise="$2"
shift 2
case "$role" in manager | worker) ;; *) die "role must be manager or worker, not '$role'" ;; esac

peer_read_key || die "no SSH private key on standard input (the join token is fetched with it from a manager)"

# The first given manager that hands out a token (one not yet in the swarm, or without a leader
# for a moment, does not): a few rounds, since managers join one at a time.
token=""
for round in 1 2 3 4 5 6; do
  for m in "$@"; do
    if token="$(peer_ssh "$m" docker swarm join-token -q "$role" 2>/dev/null)" && [ -n "$token" ]; then
      break 2
    fi
  done
  token=""
  log "no manager of $* handed out a $role join token (round $round of 6); trying again in 10s"
  sleep 10
done
[ -n "$token" ] || die "could not get a $role join token from any of: $*; check that the managers are up and reach each other over SSH (22/tcp) in the VPC"

info() { docker info --format "$1"; }

# Swarms are told apart by their root CA: a token names it (SWMTKN-1-<digest>-<secret>) and the
# node keeps the one it trusts; swarmkit's digest is the SHA-256 of that PEM file in base 36,
# padded to 50 characters. An address is not enough: a rebuilt manager may get the old one's
# address back, and the node would still list it as its manager.
token_ca() {
  local rest="${token#SWMTKN-1-}"
  printf '%s\n' "${rest%%-*}"
}
node_ca() {
  local crt
  crt="$(info '{{.DockerRootDir}}')/swarm/certificates/swarm-root-ca.crt"
  [ -r "$crt" ] && command -v python3 >/dev/null || return 1
  python3 -c '
import hashlib, sys
n = int(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest(), 16)
s = ""
while n:
    n, r = divmod(n, 36)
    s = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + s
print(s.rjust(50, "0"))' "$crt"
}

# Whether one of the given managers is among the node's remote managers.
knows_a_manager() {
  local known m
  known=" $(info '{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}') "
  for m in "$@"; do
    case "$known" in *" $m:2377 "*) return 0 ;; esac
  done
  return 1
}

# A node belongs to "this" swarm when it trusts the token's root CA (or, without python3 to
# compute that, when one of the given managers is among its remote managers).
in_this_swarm() {
  local ca
  if ca="$(node_ca)"; then [ "$ca" = "$(token_ca)" ]; else knows_a_manager "$@"; fi
}

# Whether any of the ADDR:PORT given accepts a TCP connection.
any_answers() {
  local a
  for a in "$@"; do
    if answers "${a%:*}" "${a##*:}"; then return 0; fi
  done
  return 1
}

join() {
  local m
  for m in "$@"; do
    log "joining as $role through $m, advertising $advertise"
    # The token is an argument of the docker CLI for the second this takes; only root can see it.
    # What docker prints is logged and stored in plain text: masked (see mask_tokens).
    if docker swarm join --token "$token" --advertise-addr "$advertise" \
      --listen-addr "$advertise:2377" "$m:2377" 2>&1 | mask_tokens >&2 || joined_in_background; then
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
    if ! in_this_swarm "$@"; then
      old="$(info '{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}')"
      read -r -a olds <<<"$old"
      if knows_a_manager "$@"; then
        # Its manager's address now serves THIS swarm: the manager was rebuilt (a one-manager
        # cluster that lost it), so the swarm this node knows is gone. (A root CA rotation
        # could look alike only while `docker swarm ca --rotate` runs, if a join re-ran then.)
        log "this node's swarm is gone (the manager at ${olds[*]} was rebuilt and serves a new swarm): leaving it for this one"
      elif any_answers "${olds[@]}"; then
        die "this node is in another swarm (managers: ${olds[*]}); run 'docker swarm leave --force' on it if that swarm is not wanted"
      else
        log "this node is still in a swarm whose managers (${olds[*]}) no longer answer: leaving it for this one"
      fi
      docker swarm leave --force >&2
      join "$@"
      joined_now=1
    fi
    is_manager="$(info '{{.Swarm.ControlAvailable}}')"
    if [ "$role" = manager ] && [ "$is_manager" != true ]; then
      die "this node is a worker of the swarm but should be a manager; on a manager run 'docker node promote $(hostname)'"
    fi
    if [ "$role" = worker ] && [ "$is_manager" = true ]; then
      die "this node is a manager of the swarm but should be a worker; on a manager run 'docker node demote $(hostname)'"
    fi
    [ -n "${joined_now:-}" ] || log "already a $role of this swarm; nothing to change"
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
  # Managers join one at a time: the next manager's join must never overlap with this one's.
  in_raft || die "joined, but the manager did not become reachable in the raft within 120s"
fi
info '{{.Swarm.NodeID}}'
