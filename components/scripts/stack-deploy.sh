#!/usr/bin/env bash
# Runs on a manager: unpacks the rendered stack bundle read from stdin, runs `docker stack
# deploy`, waits for every service it changed to converge, and FAILS when an update paused or was
# rolled back. `docker stack deploy --detach=false` exits 0 after a completed rollback
# (docker/cli#6752), so the script reads each service's UpdateStatus itself.
# Usage: stack-deploy.sh STACK_NAME [TIMEOUT_SECONDS] < bundle
#   bundle: one line per file, "RELATIVE_PATH BASE64_CONTENT"; stack.yml is the stack file and
#   an optional .docker/config.json holds registry credentials for --with-registry-auth.
set -euo pipefail

log() { printf 'stack-deploy[%s]: %s\n' "${stack:-?}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -ge 1 ] || die "usage: stack-deploy.sh STACK_NAME [TIMEOUT_SECONDS] < bundle"
stack="$1"
timeout_s="${2:-600}"

dir="$(mktemp -d /tmp/do-swarm-stack.XXXXXX)"
trap 'rm -rf "$dir"' EXIT
chmod 700 "$dir"
while IFS=' ' read -r rel b64 || [ -n "$rel" ]; do
  [ -n "$rel" ] || continue
  case "/$rel/" in */../* | //*) die "refusing unsafe path '$rel' in the bundle" ;; esac
  mkdir -p "$dir/$(dirname "$rel")"
  printf '%s' "$b64" | base64 -d >"$dir/$rel" || die "bundle entry '$rel' is not valid base64"
done
[ -f "$dir/stack.yml" ] || die "the bundle on stdin has no stack.yml"
if [ -f "$dir/.docker/config.json" ]; then
  export DOCKER_CONFIG="$dir/.docker"
fi

services() { docker service ls --filter "label=com.docker.stack.namespace=$stack" --format '{{.Name}}'; }
version() { docker service inspect --format '{{.Version.Index}}' "$1" 2>/dev/null || echo new; }

declare -A before=()
for s in $(services); do before["$s"]="$(version "$s")"; done

args=(stack deploy --prune --with-registry-auth -c "$dir/stack.yml")
# --detach=false (CLI >= 26) streams progress while swarm converges; older CLIs return at once
# and the loop below does the waiting either way.
# (grep reads the whole help text: with pipefail, `grep -q` exiting early could SIGPIPE docker.)
if [ "$(docker stack deploy --help 2>&1 | grep -c -- '--detach')" -gt 0 ]; then args+=(--detach=false); fi
log "deploying"
(cd "$dir" && docker "${args[@]}" "$stack") >&2 || die "docker stack deploy failed"

# Only services this deploy created or changed are judged: an old rollback on an untouched
# service must not fail every later deploy.
changed=()
for s in $(services); do
  [ "${before[$s]:-new}" != "$(version "$s")" ] && changed+=("$s")
done
if [ "${#changed[@]}" -eq 0 ]; then
  log "no service changed"
  exit 0
fi

last_error() {
  docker service ps --no-trunc --format '{{.Error}}' "$1" 2>/dev/null | grep -v '^$' | head -n 1 || true
}
converged() { # prints nothing when converged, otherwise the reason
  local s="$1" state mode want running
  state="$(docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "$s")"
  case "$state" in
    updating | rollback_started) echo "update $state"; return ;;
  esac
  # Count tasks that really run. `docker service ls` REPLICAS also counts a task last seen
  # running on a node that is now Down ("6/5"), which would never look converged.
  running="$(docker service ps --filter desired-state=running --format '{{.CurrentState}}' "$s" | grep -c '^Running' || true)"
  mode="$(docker service inspect --format '{{if .Spec.Mode.Replicated}}replicated {{.Spec.Mode.Replicated.Replicas}}{{else if .Spec.Mode.Global}}global{{else}}job{{end}}' "$s")"
  case "$mode" in
    replicated*) want="${mode#replicated }" ;;
    global) want="$(docker service ps --filter desired-state=running -q "$s" | wc -l)" ;;
    *) return ;; # jobs run to completion; there is no steady state to wait for
  esac
  [ "$running" -eq "$want" ] || echo "$running/$want tasks running"
}

deadline=$((SECONDS + timeout_s))
pending=("${changed[@]}")
while [ "${#pending[@]}" -gt 0 ]; do
  still=()
  for s in "${pending[@]}"; do
    reason="$(converged "$s")"
    [ -z "$reason" ] || still+=("$s: $reason")
  done
  [ "${#still[@]}" -eq 0 ] && break
  if [ "$SECONDS" -ge "$deadline" ]; then
    for line in "${still[@]}"; do
      s="${line%%:*}"
      log "FAILED $line; last task error: $(last_error "$s")"
    done
    die "services did not converge within ${timeout_s}s"
  fi
  pending=()
  for line in "${still[@]}"; do pending+=("${line%%:*}"); done
  sleep 3
done

failed=0
for s in "${changed[@]}"; do
  status="$(docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}|{{.UpdateStatus.Message}}{{end}}' "$s")"
  state="${status%%|*}"
  case "$state" in
    "" | completed) log "$s: converged" ;;
    *)
      log "FAILED $s: update state '$state': ${status#*|}; last task error: $(last_error "$s")"
      failed=1
      ;;
  esac
done
[ "$failed" -eq 0 ] || die "the deploy did not roll out (see FAILED lines); swarm kept or restored the previous version"
log "all ${#changed[@]} changed services converged"
