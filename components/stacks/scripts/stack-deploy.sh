#!/usr/bin/env bash
# Runs on a manager: unpacks the rendered stack bundle read from stdin, runs `docker stack
# deploy`, waits until every service of the stack has converged, and FAILS when one did not:
# an update that paused or was rolled back, or a service whose tasks do not run within
# TIMEOUT_SECONDS, counted from the moment this script starts, whatever the CLI does.
#
# Why not `docker stack deploy --detach=false`: it waits service after service in an unbounded
# loop (docker/cli's waitOnServices/ServiceProgress), each with its monitor period; a new service
# that never runs (no such image, a constraint no node meets, a crash at its first start: it has
# nothing to roll back to) makes it wait forever; a paused update makes it exit 1 with nothing
# said of why; a completed rollback makes it exit 0 (docker/cli#6752). So the CLI runs detached
# (bounded by `timeout`), and one loop here judges all services together.
# Usage: stack-deploy.sh STACK_NAME [TIMEOUT_SECONDS] < bundle
#   bundle: one line per file, "RELATIVE_PATH BASE64_CONTENT"; stack.yml is the stack file and
#   an optional .docker/config.json holds registry credentials for --with-registry-auth.
set -euo pipefail

log() { printf 'stack-deploy[%s]: %s\n' "${stack:-?}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -ge 1 ] || die "usage: stack-deploy.sh STACK_NAME [TIMEOUT_SECONDS] < bundle"
stack="$1"
timeout_s="${2:-600}"
deadline=$((SECONDS + timeout_s))

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

# --resolve-image changed: a service whose image reference changed is resolved to a digest (all
# nodes run the same image); one whose reference did not change keeps the digest it runs, so a
# tag that moved upstream does not roll out services nobody changed (`always`, the default,
# would). A moved tag is picked up by pinImages (or a new tag), which changes the reference.
args=(stack deploy --prune --with-registry-auth --resolve-image changed -c "$dir/stack.yml")
# (grep reads the whole help text: with pipefail, `grep -q` exiting early could SIGPIPE docker.)
if [ "$(docker stack deploy --help 2>&1 | grep -c -- '--detach')" -gt 0 ]; then args+=(--detach=true); fi
log "deploying (converged within ${timeout_s}s or failed)"
rc=0
left=$((deadline - SECONDS))
(cd "$dir" && timeout "$((left > 0 ? left : 1))" docker "${args[@]}" "$stack") >&2 || rc=$?
[ "$rc" -ne 124 ] || die "docker stack deploy did not return within ${timeout_s}s"
[ "$rc" -eq 0 ] || die "docker stack deploy failed (exit $rc); its error is above"

# Every service of the stack is judged: the CLI updates each one, and swarm resets a service's
# UpdateStatus on every update (swarmkit controlapi UpdateService), so an old rollback on an
# untouched service is gone and what is left describes this deploy only.
mapfile -t services < <(docker service ls --filter "label=com.docker.stack.namespace=$stack" --format '{{.Name}}' | sort)
[ "${#services[@]}" -gt 0 ] || die "the stack has no services after the deploy"

last_error() {
  docker service ps --no-trunc --format '{{.Error}}' "$1" 2>/dev/null | grep -v '^$' | head -n 1 || true
}
# The state and swarm's message of the service's newest task (`service ps` lists each slot's
# newest first): "pending: pending task scheduling", "rejected: preparing", "running: started".
newest_task() {
  local id
  id="$(docker service ps --no-trunc -q "$1" 2>/dev/null | head -n 1 || true)"
  [ -n "$id" ] || { echo "none"; return; }
  docker inspect --format '{{.Status.State}}: {{.Status.Message}}' "$id" 2>/dev/null || echo "unknown"
}

# judge: one pass over all services. Prints "SERVICE<TAB>VERDICT<TAB>DETAIL" per service, with
# VERDICT ok (converged), settle (converged, not yet watched for long: no swarm update watched
# it), wait (not yet) or failed (swarm gave up: paused or rolled back).
judge() {
  local name current mode replicas state message running want
  declare -A run=() all=()
  # Tasks that should run, and those of them on the CURRENT spec that really run. Up-to-date
  # (`_up-to-date`, the filter the CLI's own progress uses): a task of the previous spec does
  # not count, so a pass right after the deploy, before swarm started the update, cannot look
  # converged. Really running: not `docker service ls` REPLICAS, which also counts a task last
  # seen on a node that is now Down ("6/5"). A global service wants one task per eligible node:
  # as many as swarm wants running, old spec or new.
  while read -r name _; do
    name="${name%.*}" # stack_svc.3 (replicated) or stack_svc.NODEID (global)
    all["$name"]=$((${all["$name"]:-0} + 1))
  done < <(docker service ps --filter desired-state=running --format '{{.Name}}' "${services[@]}")
  while read -r name current; do
    [ "$current" = Running ] || continue
    name="${name%.*}"
    run["$name"]=$((${run["$name"]:-0} + 1))
  done < <(docker service ps --filter _up-to-date=true --filter desired-state=running \
    --format '{{.Name}} {{.CurrentState}}' "${services[@]}" | awk '{ print $1, $2 }')
  while IFS='|' read -r name mode replicas state message; do
    running="${run["$name"]:-0}"
    case "$mode" in
      replicated) want="$replicas" ;;
      global) want="${all["$name"]:-0}" ;;
      *) # jobs run to completion: there is no steady state to wait for
        printf '%s\tok\tjob\n' "$name"
        continue
        ;;
    esac
    case "$state" in
      paused | rollback_paused | rollback_completed)
        printf '%s\tfailed\tupdate %s (swarm: %s); %s/%s up-to-date tasks running\n' "$name" "${state/_/ }" "$message" "$running" "$want"
        ;;
      updating | rollback_started)
        printf '%s\twait\tupdate %s (swarm: %s); %s/%s up-to-date tasks running\n' "$name" "${state/_/ }" "$message" "$running" "$want"
        ;;
      *)
        if [ "$running" -ne "$want" ]; then
          printf '%s\twait\t%s/%s up-to-date tasks running%s\n' "$name" "$running" "$want" "${state:+ (update $state)}"
        elif [ "$state" = completed ]; then # swarm's updater watched each new task (monitor)
          printf '%s\tok\t%s/%s tasks running\n' "$name" "$running" "$want"
        else # a new service, or one whose tasks did not change
          printf '%s\tsettle\t%s/%s tasks running\n' "$name" "$running" "$want"
        fi
        ;;
    esac
  done < <(docker service inspect --format '{{.Spec.Name}}|{{if .Spec.Mode.Replicated}}replicated|{{.Spec.Mode.Replicated.Replicas}}{{else if .Spec.Mode.Global}}global|{{else}}job|{{end}}|{{if .UpdateStatus}}{{.UpdateStatus.State}}|{{.UpdateStatus.Message}}{{else}}|{{end}}' "${services[@]}")
}

# All services in one loop. A service no update watched counts as converged once it has stayed
# so for stable_s: a new task that crashes a second after it started must not pass (the CLI's
# own wait has its monitor period for this); swarm's updater already watches each task it
# replaces, so a completed update passes at once.
stable_s=5
# While services are unfinished, a line at least this often, naming each with its progress: a
# deploy may wait minutes (timeoutSeconds), and `pulumi up` shows these lines as they come.
progress_s="${DO_SWARM_PROGRESS_SECONDS:-15}"
last_progress=$SECONDS
declare -A since=()
while :; do
  waiting=""
  settling=""
  failed=""
  while IFS=$'\t' read -r name verdict detail; do
    case "$verdict" in
      ok) ;;
      settle)
        since["$name"]="${since["$name"]:-$SECONDS}"
        if [ $((SECONDS - since["$name"])) -lt "$stable_s" ]; then
          settling+="$name "
        fi
        ;;
      wait)
        unset 'since[$name]'
        waiting+="$name"$'\t'"$detail"$'\n'
        ;;
      *) failed+="$name"$'\t'"$detail"$'\n' ;;
    esac
  done < <(judge)
  [ -n "$waiting$settling" ] || break
  [ "$SECONDS" -lt "$deadline" ] || break # (a service still settling at the deadline passes)
  if [ $((SECONDS - last_progress)) -ge "$progress_s" ]; then
    last_progress=$SECONDS
    progress="$(printf '%s' "$waiting" | awk -F'\t' 'NF { printf "%s%s: %s", sep, $1, $2; sep = "; " }')"
    log "still waiting after $((SECONDS - (deadline - timeout_s)))s of ${timeout_s}s: ${progress:-}${settling:+${progress:+; }settling: ${settling% }}"
  fi
  sleep 2
done

report() {
  local name detail
  while IFS=$'\t' read -r name detail; do
    [ -n "$name" ] || continue
    log "FAILED $name: $detail; newest task $(newest_task "$name"); last task error: $(last_error "$name")"
  done <<<"$1"
}
if [ -n "$waiting" ]; then
  report "$failed$waiting"
  die "services did not converge within ${timeout_s}s (see FAILED lines)"
fi
if [ -n "$failed" ]; then
  report "$failed"
  die "the deploy did not roll out (see FAILED lines): a rolled-back service runs its previous version again; a paused one runs a mix of both until the next deploy (or 'docker service rollback SERVICE')"
fi
log "all ${#services[@]} services of the stack converged in $((SECONDS - (deadline - timeout_s)))s"
