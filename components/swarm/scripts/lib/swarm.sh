# shellcheck shell=bash
# Swarm steps shared by swarm-init.sh and swarm-join.sh (remote.ts inlines this file where a
# script sources it).

# mask_tokens: copies its input with every swarm join token (SWMTKN-1-<ca digest>-<secret>)
# masked. The provider logs what the scripts print on stderr and keeps it in the state in plain
# text, and docker's swarm commands print tokens (`swarm init` prints the worker's whole join
# command), so their output reaches stderr only through this filter. The tokens the program
# needs are read with `docker swarm join-token -q` into variables, never printed but on the
# secret stdout of swarm-init.sh.
mask_tokens() { sed -E 's/SWMTKN-[[:alnum:]-]+/SWMTKN-[masked]/g'; }

# answers HOST PORT: whether HOST accepts a TCP connection on PORT within 3 s (a manager serving
# a swarm answers on 2377; a fresh droplet or a dead one does not).
answers() {
  timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# After a failed `swarm join`: whether the join went on and completed. The CLI stops waiting
# after a while but the engine keeps trying; tearing that down with `leave --force` once it got
# into the raft would leave a Down member counting toward quorum. So wait while it is pending,
# and clean up only a join that really failed.
joined_in_background() {
  local s
  for _ in $(seq 30); do
    s="$(docker info --format '{{.Swarm.LocalNodeState}}')"
    [ "$s" = pending ] || break
    sleep 2
  done
  [ "$s" = active ] && return 0
  [ "$s" = inactive ] || docker swarm leave --force >&2 || true
  return 1
}

# in_raft: waits up to 120 s until this node, just joined as a manager, takes part in the raft.
# Managers join one at a time, so none reports success before it can vote.
in_raft() {
  for _ in $(seq 60); do
    [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] && return 0
    sleep 2
  done
  return 1
}
