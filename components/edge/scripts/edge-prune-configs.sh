#!/usr/bin/env bash
# Runs on a manager after a successful deploy of the edge stack (components/edge/index.ts):
# removes the stack's docker configs that no service of the stack uses any more. Docker configs
# are immutable, so the edge names each Caddyfile (and script) by its content (stack.ts
# contentName): every route change adds a config, and `docker stack deploy --prune` prunes
# services only, so the old ones stayed forever.
# Kept: every config a service of the stack names in its spec or in its previous spec (swarm's
# rollback, automatic on a failed update or `docker service rollback`, returns to the previous
# spec and needs its config). Anything else docker refuses to remove (in use) is kept too.
# Never fails the deploy: what it could not remove is logged and left for the next run.
# Usage: edge-prune-configs.sh STACK_NAME
set -uo pipefail

stack="${1:?usage: edge-prune-configs.sh STACK_NAME}"
log() { printf 'edge-prune-configs[%s]: %s\n' "$stack" "$*" >&2; }

if ! configs="$(docker config ls --filter "label=com.docker.stack.namespace=$stack" --format '{{.Name}}')"; then
  log "could not list the stack's configs; nothing removed"
  exit 0
fi
[ -n "$configs" ] || exit 0
if ! services="$(docker service ls --filter "label=com.docker.stack.namespace=$stack" -q)"; then
  log "could not list the stack's services; nothing removed"
  exit 0
fi
used=""
if [ -n "$services" ]; then
  # shellcheck disable=SC2086 # one argument per service id
  if ! used="$(docker service inspect --format '{{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{.ConfigName}} {{end}}{{if .PreviousSpec}}{{range .PreviousSpec.TaskTemplate.ContainerSpec.Configs}}{{.ConfigName}} {{end}}{{end}}' $services)"; then
    log "could not read the services' configs; nothing removed"
    exit 0
  fi
fi
used=" $(printf '%s' "$used" | tr '\n' ' ') "
removed=0
while IFS= read -r name; do
  [ -n "$name" ] || continue
  case "$used" in *" $name "*) continue ;; esac
  if docker config rm "$name" >/dev/null 2>&1; then
    removed=$((removed + 1))
    log "removed $name (no service of the stack uses it)"
  else
    log "kept $name (docker refused to remove it)"
  fi
done <<<"$configs"
log "$removed unused config(s) removed"
