# shellcheck shell=bash disable=SC2016 # remote commands expand on the host, in single quotes here
# Day-two scenarios (issue 5), sourced by run.sh after scenarios.sh; they run after the issue 3
# scenarios, on the cluster those leave: 3 managers and lab-worker-0 (lab-worker-1 was removed),
# the lab stack at 5 replicas.

# A stand-in for the reserved IP that can move between hosts, as DigitalOcean's does.
LAB_RESERVED_STANDIN=${LAB_PUBLIC_NET}.100

full_strength() {
  [[ $(m "docker service ls --filter name=$LAB_SERVICE --format '{{.Replicas}}'") == "$LAB_REPLICAS/$LAB_REPLICAS" ]]
}

# no_stale_nodes: every node of the swarm is Ready (no Down or Unknown entry left behind).
no_stale_nodes() {
  local bad
  bad=$(m "docker node ls --format '{{.Hostname}} {{.Status}}'" | awk '$2 != "Ready"')
  [[ -z $bad ]] || fail "nodes not Ready: $(paste -sd'|' <<<"$bad")"
}

scenario_rolling_resize() {
  lab_add_address 0 "$LAB_RESERVED_STANDIN"
  poll 120 full_strength || fail "$LAB_SERVICE is not at full strength before the resize" || return 1
  "${LAB_TSNODE[@]}" "$LAB_DIR/maintenance.ts" --hosts "$LAB_RUN/hosts.json" --skip lab-worker-1 \
    --key "$LAB_KEY" --reserved-ip "$LAB_RESERVED_STANDIN" --service "$LAB_SERVICE" \
    --replicas "$LAB_REPLICAS" || fail "the rolling resize did not keep its guarantees" || return 1
  settle check_nodes lab-manager-0 lab-manager-1 lab-manager-2 lab-worker-0
  settle check_managers 3
  poll 120 full_strength || fail "$LAB_SERVICE is not back at full strength" || return 1
}

scenario_replace_manager() {
  local victim=lab-manager-2 old_id new_id managers
  old_id=$(m "docker node ls --format '{{.ID}} {{.Hostname}}'" | awk -v h="$victim" '$2 == h { print $1 }')
  [[ -n $old_id ]] || fail "$victim is not in the swarm before the test" || return 1
  # The droplet is lost and Pulumi creates a new one of the same name: a fresh engine.
  lab_rebuild "$victim"
  note "$victim replaced by a fresh node (old node ID $old_id)"
  # `pulumi up` runs the commands whose inputs changed (the new node's); the others are
  # idempotent, so running them all again is the same test and more.
  lab_replay replace-manager --plan "$LAB_OUT/current.json" --all || fail "the bootstrap after the replacement failed" || return 1
  if m "docker node inspect $old_id" >/dev/null 2>&1; then
    fail "the old entry $old_id of $victim is still in the swarm"
    return 1
  fi
  new_id=$(m "docker node ls --format '{{.ID}} {{.Hostname}}'" | awk -v h="$victim" '$2 == h { print $1 }')
  note "stale entry removed; $victim joined again as $new_id"
  managers=$(m "docker info --format '{{.Swarm.Managers}}'")
  [[ $managers == 3 ]] || fail "the raft has $managers managers, not 3" || return 1
  settle check_nodes lab-manager-0 lab-manager-1 lab-manager-2 lab-worker-0
  settle check_managers 3
  settle no_stale_nodes
}

# A lost bootstrap manager: manager-0 runs swarm-init, which on a fresh droplet would create a
# second swarm. It must find its live peers, fetch a manager token from one over the VPC with
# the key it gets on stdin, and join them.
scenario_replace_bootstrap_manager() {
  local victim=lab-manager-0 cluster old_id new_id managers leader
  # manager-0 is the lab's usual entry point (`m`): ask manager-1 while it is gone.
  cluster=$(lab_ssh lab-manager-1 "docker info --format '{{.Swarm.Cluster.ID}}'")
  old_id=$(lab_ssh lab-manager-1 "docker node ls --format '{{.ID}} {{.Hostname}}'" | awk -v h="$victim" '$2 == h { print $1 }')
  [[ -n $old_id ]] || fail "$victim is not in the swarm before the test" || return 1
  leader=$(lab_ssh lab-manager-1 "docker node ls --filter role=manager --format '{{.Hostname}} {{.ManagerStatus}}'" | awk '$2 == "Leader" { print $1 }')
  lab_rebuild "$victim"
  note "$victim (leader before: $leader) replaced by a fresh node (old node ID $old_id, swarm $cluster)"
  lab_replay replace-bootstrap --plan "$LAB_OUT/current.json" --all ||
    fail "the bootstrap after replacing $victim failed" || return 1
  grep -q "asking .* for a manager join token" "$LAB_OUT/replace-bootstrap/lab-swarm-init.create.err" ||
    fail "swarm-init did not take the replaced-manager path" || return 1
  check_no_token "$LAB_OUT/replace-bootstrap" || return 1
  [[ $(m "docker info --format '{{.Swarm.Cluster.ID}}'") == "$cluster" ]] ||
    fail "$victim is not in the original swarm $cluster (a second swarm was created?)" || return 1
  [[ $(m "docker info --format '{{.Swarm.ControlAvailable}}'") == true ]] ||
    fail "$victim is not a manager after the replacement" || return 1
  if m "docker node inspect $old_id" >/dev/null 2>&1; then
    fail "the old entry $old_id of $victim is still in the swarm"
    return 1
  fi
  new_id=$(m "docker info --format '{{.Swarm.NodeID}}'")
  managers=$(m "docker info --format '{{.Swarm.Managers}}'")
  [[ $managers == 3 ]] || fail "the raft has $managers managers, not 3" || return 1
  settle check_nodes lab-manager-0 lab-manager-1 lab-manager-2 lab-worker-0
  settle check_managers 3
  settle no_stale_nodes
  poll 120 full_strength || fail "$LAB_SERVICE is not at full strength" || return 1
  note "$victim joined swarm $cluster again as manager $new_id; stale entry demoted and removed"
}

scenario_scale_down_managers() {
  lab_plan m1 --managers 1 --workers 1 --stack "$LAB_STACK=$LAB_DIR/stacks/web-v1.yml"
  lab_replay scale-down-managers --plan "$LAB_OUT/m1.json" --prev "$LAB_OUT/current.json" ||
    fail "scaling the managers from 3 to 1 failed" || return 1
  cp "$LAB_OUT/m1.json" "$LAB_OUT/current.json"
  check_left lab-manager-2 || return 1
  check_left lab-manager-1 || return 1
  # Pulumi then destroys the two droplets.
  lab_power_off lab-manager-2
  lab_power_off lab-manager-1
  local managers
  managers=$(m "docker info --format '{{.Swarm.Managers}}'")
  [[ $managers == 1 ]] || fail "the raft has $managers managers, not 1" || return 1
  settle check_nodes lab-manager-0 lab-worker-0
  settle no_stale_nodes
  poll 120 full_strength || fail "$LAB_SERVICE is not at full strength on the two nodes left" || return 1
  note "2 managers drained, demoted, left and removed before their droplets went; the swarm works with 1"
}

# The only manager lost (a 1-manager cluster): the swarm cannot be saved, so the program makes
# a new one. The replacement (same private address, as a VPC may hand out) initialises a new
# swarm; the worker, still in the dead one, must leave it and join; the stack, whose deploy
# command names the swarm, is deployed again.
scenario_lost_only_manager() {
  local victim=lab-manager-0 old_cluster new_cluster
  old_cluster=$(m "docker info --format '{{.Swarm.Cluster.ID}}'")
  lab_rebuild "$victim"
  note "the only manager $victim replaced by a fresh node (swarm $old_cluster is gone)"
  # What `pulumi up` runs here: every command whose inputs changed. The new cluster ID reaches
  # the deploy command, so the replay's re-run of everything is the same set.
  lab_replay lost-only-manager --plan "$LAB_OUT/current.json" --all ||
    fail "the bootstrap after losing the only manager failed" || return 1
  new_cluster=$(m "docker info --format '{{.Swarm.Cluster.ID}}'")
  [[ -n $new_cluster && $new_cluster != "$old_cluster" ]] ||
    fail "expected a new swarm, got '$new_cluster' (was $old_cluster)" || return 1
  grep -q "leaving it for this one\|rebuilt" "$LAB_OUT/lost-only-manager/lab-worker-0-join.create.err" ||
    fail "the worker did not leave the dead swarm" || return 1
  settle check_nodes lab-manager-0 lab-worker-0
  settle no_stale_nodes
  poll 120 full_strength || fail "$LAB_SERVICE is not at full strength on the new swarm" || return 1
  note "new swarm $new_cluster: lab-worker-0 left the dead one and joined, the stack was deployed again"
}

stack_leftovers() {
  m "docker service ls -q --filter label=com.docker.stack.namespace=$LAB_STACK; docker network ls -q --filter label=com.docker.stack.namespace=$LAB_STACK"
}

scenario_remove_stack() {
  [[ -n $(stack_leftovers) ]] || fail "the stack is not deployed before its removal" || return 1
  # The stack leaves the config: its deploy command's delete (stack-rm.sh) runs.
  lab_plan nostack --managers 1 --workers 1
  lab_replay remove-stack --plan "$LAB_OUT/nostack.json" --prev "$LAB_OUT/current.json" ||
    fail "removing the stack failed" || return 1
  cp "$LAB_OUT/nostack.json" "$LAB_OUT/current.json"
  grep -q '"op": "delete"' "$LAB_OUT/remove-stack/results.json" || fail "no delete command ran" || return 1
  # stack-rm.sh returns only once the services and networks are gone: check right away.
  local left
  left=$(stack_leftovers)
  [[ -z $left ]] || fail "services or networks of $LAB_STACK still exist: $(paste -sd' ' <<<"$left")" || return 1
  note "stack $LAB_STACK removed with its services and networks"
}

# A manager replaced by a NEW droplet while the old one still runs, in the engine's order
# (issue 16, point 6): `pulumi up --replace` (or a region change) creates the new droplet first
# and deletes the old one after every other step. The registration is replaced delete-first, so
# its delete removes the OLD node (drain, demote, leave, rm) while the old droplet still runs;
# no Down member may be left once the old droplet goes, and the raft is back at 3 managers.
# It runs last: the cluster is first brought back to 3 managers (scenario 9 left one).
scenario_replace_manager_live() {
  local victim=lab-manager-2 old_id new_id new managers count h
  # Managers an earlier scale-in removed come back as new droplets; ones still in the swarm (the
  # front-door scenarios run before this one) stay: wiping two of three would lose the quorum.
  for h in lab-manager-1 "$victim"; do
    if [[ $(lab_ssh "$h" "docker info --format '{{.Swarm.LocalNodeState}}'" 2>/dev/null) != active ]]; then
      lab_rebuild "$h"
    fi
  done
  lab_plan m3 --managers 3 --workers 1
  lab_replay scale-out-managers --plan "$LAB_OUT/m3.json" --prev "$LAB_OUT/current.json" ||
    fail "scaling the managers from 1 back to 3 failed" || return 1
  cp "$LAB_OUT/m3.json" "$LAB_OUT/current.json"
  settle check_managers 3
  old_id=$(m "docker node ls --format '{{.ID}} {{.Hostname}}'" | awk -v h="$victim" '$2 == h { print $1 }')
  [[ -n $old_id ]] || fail "$victim is not in the swarm before the test" || return 1

  # The new droplet: another host under the same name; the program's droplet now maps to it.
  new=$(lab_count)
  lab_host_add "$victim"
  node -e '
    const fs = require("fs");
    const [file, name, pub, priv, out] = process.argv.slice(1);
    const hosts = JSON.parse(fs.readFileSync(file, "utf8")).map((h) =>
      h.name === name ? { name, public: pub, private: priv } : h);
    fs.writeFileSync(out, JSON.stringify(hosts, null, 2));' \
    "$LAB_RUN/hosts.json" "$victim" "$(lab_public "$new")" "$(lab_private "$new")" "$LAB_OUT/hosts-replaced.json"
  lab_plan replaced --hosts "$LAB_OUT/hosts-replaced.json" --managers 3 --workers 1
  lab_replay replace-live --plan "$LAB_OUT/replaced.json" --prev "$LAB_OUT/current.json" ||
    fail "the up after replacing $victim failed" || return 1
  grep -q '"op": "delete"' "$LAB_OUT/replace-live/results.json" ||
    fail "no delete ran: the registration was not replaced" || return 1
  # The engine deletes the old droplet last.
  lab_power_off 2
  note "old droplet of $victim (host 2) deleted after the up, as the engine does"

  if m "docker node inspect $old_id" >/dev/null 2>&1; then
    fail "the old node $old_id of $victim is still in the swarm"
    return 1
  fi
  count=$(m "docker node ls --format '{{.Hostname}}'" | grep -cx "$victim")
  [[ $count == 1 ]] || fail "$count swarm entries are called $victim" || return 1
  new_id=$(m "docker node ls --format '{{.ID}} {{.Hostname}}'" | awk -v h="$victim" '$2 == h { print $1 }')
  [[ $(lab_ssh "$new" "docker info --format '{{.Swarm.NodeID}} {{.Swarm.ControlAvailable}}'") == "$new_id true" ]] ||
    fail "the new host is not the swarm's $victim manager" || return 1
  managers=$(m "docker info --format '{{.Swarm.Managers}}'")
  [[ $managers == 3 ]] || fail "the raft has $managers managers, not 3" || return 1
  settle check_managers 3
  settle no_stale_nodes
  note "old node $old_id drained, demoted and removed while its droplet ran; $victim is $new_id on the new droplet; 3 managers, no Down member"
  # What the cluster runs on now, for the scenarios after this one.
  cp "$LAB_OUT/replaced.json" "$LAB_OUT/current.json"
  cp "$LAB_OUT/hosts-replaced.json" "$LAB_OUT/hosts-current.json"
}
