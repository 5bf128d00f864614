# shellcheck shell=bash
# Shared by swarm-init.sh and swarm-join.sh (remote.ts inlines it where a script sources it).

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
