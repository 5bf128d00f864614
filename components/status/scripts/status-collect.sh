#!/usr/bin/env bash
# Runs on a manager for `npm run status`: prints what the swarm says of its nodes, services and
# tasks, in sections ("### NAME") of "|"-separated lines that components/status/report.ts reads.
# Read-only: it changes nothing. Usage: status-collect.sh
set -euo pipefail

die() { printf 'status-collect[%s]: ERROR: %s\n' "$(hostname)" "$*" >&2; exit 1; }

[ "$(docker info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null)" = true ] ||
  die "this node is not a manager of a swarm (docker info: $(docker info --format '{{.Swarm.LocalNodeState}}' 2>&1))"

echo "### self"
hostname

echo "### nodes"
mapfile -t nodes < <(docker node ls -q)
if [ "${#nodes[@]}" -gt 0 ]; then
  docker node inspect --format '{{.Description.Hostname}}|{{.Spec.Role}}|{{.Status.State}}|{{.Spec.Availability}}|{{.Description.Engine.EngineVersion}}|{{if .ManagerStatus}}{{.ManagerStatus.Leader}}|{{.ManagerStatus.Reachability}}{{else}}false|{{end}}' "${nodes[@]}"
fi

mapfile -t services < <(docker service ls -q)
echo "### services"
if [ "${#services[@]}" -gt 0 ]; then
  docker service inspect --format '{{.Spec.Name}}|{{index .Spec.Labels "com.docker.stack.namespace"}}|{{if .Spec.Mode.Replicated}}replicated|{{.Spec.Mode.Replicated.Replicas}}{{else if .Spec.Mode.Global}}global|{{else}}job|{{end}}|{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "${services[@]}"
fi

# Every task swarm wants running, with its node and state: the report counts those that really
# run on a Ready node (`docker service ls` also counts a task last seen on a node now Down).
echo "### tasks"
if [ "${#services[@]}" -gt 0 ]; then
  docker service ps --no-trunc --filter desired-state=running \
    --format '{{.Name}}|{{.Node}}|{{.CurrentState}}|{{.Error}}' "${services[@]}"
fi

# The newest few tasks of each service that ended with an error: why a service is short.
echo "### errors"
for s in "${services[@]}"; do
  docker service ps --no-trunc --format '{{.Name}}|{{.Node}}|{{.CurrentState}}|{{.Error}}' "$s" |
    awk -F'|' '$4 != ""' | head -n 3 || true
done
