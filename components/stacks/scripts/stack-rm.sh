#!/usr/bin/env bash
# Runs on a manager: removes a stack and waits until its services and networks are gone, so a
# later deploy of the same name, or the destruction of the nodes, does not race the cleanup.
# Safe to re-run: a stack that does not exist is already removed.
# Usage: stack-rm.sh STACK_NAME [TIMEOUT_SECONDS]
set -euo pipefail

log() { printf 'stack-rm[%s]: %s\n' "$stack" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -ge 1 ] || { echo "usage: stack-rm.sh STACK_NAME [TIMEOUT_SECONDS]" >&2; exit 1; }
stack="$1"
timeout_s="${2:-300}"
filter="label=com.docker.stack.namespace=$stack"

leftovers() {
  docker service ls --filter "$filter" -q
  docker network ls --filter "$filter" -q
}
if [ -z "$(leftovers)" ]; then
  log "not deployed; nothing to remove"
  exit 0
fi
# `docker stack rm` fails ("failed to remove some resources from stack") when it races a task
# still shutting down: the task holds the stack's network, whose removal is refused while it
# is in use. The services are gone or going by then; what failed is retried until the deadline.
deadline=$((SECONDS + timeout_s))
until remove_output="$(docker stack rm "$stack" 2>&1)"; do
  printf '%s\n' "$remove_output" >&2
  [ -n "$(leftovers)" ] || break
  [ "$SECONDS" -lt "$deadline" ] ||
    die "docker stack rm still fails after ${timeout_s}s: $(printf '%s' "$remove_output" | tail -n 1)"
  log "docker stack rm did not remove everything yet (a task still shutting down?); trying again"
  sleep 2
done
while [ -n "$(leftovers)" ]; do
  [ "$SECONDS" -lt "$deadline" ] || die "services or networks of the stack still exist after ${timeout_s}s"
  sleep 2
done
log "removed"
