# shellcheck shell=bash
# Reaching a peer node over the VPC with the program's SSH key, for the two steps that need it:
# a replaced manager-0 fetching a manager join token, and a removed node leaving the swarm.
#
# Why the key travels: only a manager can hand out a token or ask "who is in the swarm", and only
# the node itself can `docker swarm leave`; the program reaches one of them at a time. The key
# comes on stdin (never argv, never the command string, never the state in plain text), lives in
# a private tmpfs file for the length of the script and is deleted on exit. A manager already
# controls every node through swarm (it can schedule a privileged task anywhere), so the key
# gives a compromised manager nothing new; use a key made for the cluster (see README, Keys).
#
# remote.ts inlines this file where a script sources it, so the remote side needs no lib/ dir.

peer_keydir=""

peer_forget_key() { [ -z "$peer_keydir" ] || rm -rf "$peer_keydir"; }

# peer_read_key: reads the key from stdin. Returns 1 (no key kept) when stdin held none, or is
# a terminal (a script run by hand must not wait for input).
peer_read_key() {
  [ ! -t 0 ] || return 1
  peer_keydir="$(umask 077 && { mktemp -d /dev/shm/do-swarm-key.XXXXXX 2>/dev/null || mktemp -d; })"
  trap peer_forget_key EXIT
  (umask 077 && cat >"$peer_keydir/key")
  if ! grep -c 'PRIVATE KEY' "$peer_keydir/key" >/dev/null; then
    peer_forget_key
    peer_keydir=""
    return 1
  fi
}

# peer_has_key: whether peer_read_key found a key.
peer_has_key() { [ -n "$peer_keydir" ]; }

# peer_ssh ADDR COMMAND...: runs COMMAND as root on ADDR. The peer's host key is not checked:
# the peer is named by its VPC address, the only secret sent is a signature bound to this session.
peer_ssh() {
  local addr="$1"
  shift
  ssh -F /dev/null -i "$peer_keydir/key" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
    -o ConnectTimeout=5 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 \
    "root@$addr" "$@" </dev/null
}
