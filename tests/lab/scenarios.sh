# shellcheck shell=bash disable=SC2016 # remote commands expand on the host, in single quotes here
# The lab's scenarios (issue 3), sourced by run.sh after lab.sh. Each scenario_* function runs in
# its own subshell with `set -e`: the first failed check ends it, printing why.
#
# The commands come from the program itself: tests/lab/plan.ts runs the real components under
# mocks with the lab hosts as droplets and prints the plan; replay.ts runs it over SSH. The
# checks here look at the swarm from a manager (host 0, which holds the reserved IP's stand-in).

LAB_REPO=$(cd "$LAB_DIR/../.." && pwd)
LAB_TSNODE=("$LAB_REPO/node_modules/.bin/ts-node" --transpile-only)
LAB_PLAN_TS=${LAB_PLAN_TS:-$LAB_DIR/plan.ts}
LAB_STACK=web
LAB_SERVICE=${LAB_STACK}_web
LAB_REPLICAS=5
LAB_NAMES=(lab-manager-0 lab-manager-1 lab-manager-2 lab-worker-0 lab-worker-1)
# Time limit of one command of a replay (replay.ts kills it after that).
LAB_COMMAND_TIMEOUT=${LAB_COMMAND_TIMEOUT:-240}
# Time limit of the stack update while a manager is off (the deploy's own limit may be longer).
LAB_DEGRADED_TIMEOUT=${LAB_DEGRADED_TIMEOUT:-150}
# Where the plans and replay outputs of this run go.
LAB_OUT=$LAB_RUN/out

# Failed checks also go to $LAB_CHECKS, from which run.sh repeats them in the summary: the end
# of the output is what survives when a CI log is cut short.
LAB_CHECKS=$LAB_OUT/failed-checks.log

fail() {
  echo "    CHECK FAILED: $*" >&2
  [[ -n ${LAB_QUIET:-} ]] || echo "CHECK FAILED: $*" >>"$LAB_CHECKS"
  return 1
}
note() { echo "    $*"; }

# poll SECONDS CMD...: runs CMD until it succeeds or SECONDS have passed.
poll() {
  local limit=$1 deadline
  shift
  deadline=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 1
  done
}

# settle CHECK ARGS...: a check of what swarm reaches by itself shortly after a change, retried
# quietly for up to 30 s, then once more with its message. After a leader change, for one, the
# new leader marks every node Unknown until its agent reports again.
settle() {
  local t0=$SECONDS out first=""
  until out=$(LAB_QUIET=1 "$@" 2>&1 >/dev/null); do
    first=${first:-$out}
    ((SECONDS < t0 + 30)) || {
      "$@"
      return
    }
    sleep 1
  done
  # Say what it waited for: a wait here that grows is worth a look.
  [[ -z $first ]] || note "settled after $((SECONDS - t0)) s; at first: ${first#*CHECK FAILED: }"
}

# On the entry manager (host 0).
m() { lab_ssh 0 "$@"; }

# lab_plan NAME ARGS...: makes $LAB_OUT/NAME.json with plan.ts, for the lab hosts.
lab_plan() {
  local name=$1 out h
  shift
  out=$LAB_OUT/$name.json
  [[ -f $LAB_PLAN_TS ]] || fail "no plan generator at $LAB_PLAN_TS" || return 1
  if ! "${LAB_TSNODE[@]}" "$LAB_PLAN_TS" --hosts "$LAB_RUN/hosts.json" "$@" >"$out" 2>"$out.err"; then
    sed 's/^/      | /' "$out.err" >&2
    fail "plan.ts $* failed"
    return 1
  fi
  # Every SSH address of the plan must be a lab host; another one is the reserved IP's
  # stand-in, which the program assigns to the first manager (host 0).
  for h in $("${LAB_TSNODE[@]}" "$LAB_DIR/plan-tool.ts" hosts "$out"); do
    if ! cut -f3 "$LAB_RUN/hosts.tsv" | grep -xF "$h" >/dev/null; then lab_add_address 0 "$h"; fi
  done
}

# lab_replay TAG ARGS...: replays a plan (see replay.ts); output in $LAB_OUT/TAG/. A failed
# command's lines (name, last lines of stderr) also go to $LAB_CHECKS.
lab_replay() {
  local tag=$1 rc=0
  shift
  "${LAB_TSNODE[@]}" "$LAB_DIR/replay.ts" --key "$LAB_KEY" --state "$LAB_OUT/state.json" \
    --timeout "$LAB_COMMAND_TIMEOUT" --out "$LAB_OUT/$tag" "$@" 2>&1 |
    tee "$LAB_OUT/$tag.log" | sed 's/^/    /' || rc=$?
  if ((rc != 0)); then
    awk '/^ *FAILED /{n=8} n-- > 0' "$LAB_OUT/$tag.log" | tail -n 24 >>"$LAB_CHECKS"
  fi
  return "$rc"
}

# --- checks -----------------------------------------------------------------------------------

# check_nodes NAME...: exactly these nodes are in the swarm, all Ready and Active.
check_nodes() {
  local want got bad
  want=$(printf '%s\n' "$@" | sort)
  got=$(m "docker node ls --format '{{.Hostname}} {{.Status}} {{.Availability}}'" | sort)
  [[ $(awk '{print $1}' <<<"$got") == "$want" ]] ||
    fail "nodes are [$(awk '{print $1}' <<<"$got" | paste -sd' ')], want [$(paste -sd' ' <<<"$want")]" || return 1
  bad=$(awk '$2 != "Ready" || $3 != "Active"' <<<"$got")
  [[ -z $bad ]] || fail "nodes not Ready/Active: $bad"
}

# check_managers N: N managers, all reachable, exactly one leader.
check_managers() {
  local n=$1 got
  got=$(m 'docker node inspect --format "{{.Description.Hostname}} {{.ManagerStatus.Reachability}} {{.ManagerStatus.Leader}}" $(docker node ls --filter role=manager -q)')
  [[ $(wc -l <<<"$got") == "$n" ]] || fail "want $n managers, got: $got" || return 1
  [[ -z $(awk '$2 != "reachable"' <<<"$got") ]] || fail "unreachable managers: $got" || return 1
  [[ $(awk '$3 == "true"' <<<"$got" | wc -l) == 1 ]] || fail "not exactly one leader: $got"
}

# check_no_token DIR: the swarm's join tokens appear in no output the provider logs or keeps in
# plain text: every command's stderr, and every stdout but swarm-init's (secret by design).
check_no_token() {
  local dir=$1 t f leaked=() errs=("$1"/*.err)
  [[ -f ${errs[0]} ]] || fail "no command output in $dir" || return 1
  for t in $(m 'docker swarm join-token -q worker; docker swarm join-token -q manager'); do
    [[ $t == SWMTKN-* ]] || fail "no join token from the manager: $t" || return 1
    for f in "$dir"/*.err "$dir"/*.out; do
      [[ $f == */lab-swarm-init.create.out ]] && continue
      # The token's secret half: a token masked only in part must fail too.
      if grep -qF -- "${t##*-}" "$f"; then leaked+=("${f##*/}"); fi
    done
  done
  ((${#leaked[@]} == 0)) || fail "a join token is in ${leaked[*]}" || return 1
  note "no join token in the logged output of ${#errs[@]} commands"
}

# check_labels PLAN: every node has the labels its register command applies.
check_labels() {
  local node labels have l n=0
  while read -r node labels; do
    have=$(m "docker node inspect --format '{{range \$k, \$v := .Spec.Labels}}{{\$k}}={{\$v}}{{println}}{{end}}' $node" </dev/null)
    for l in $labels; do
      grep -qxF "$l" <<<"$have" || fail "node $node lacks label $l (has: $(paste -sd' ' <<<"$have"))" || return 1
      n=$((n + 1))
    done
  done < <("${LAB_TSNODE[@]}" "$LAB_DIR/plan-tool.ts" labels "$1")
  ((n > 0)) || fail "the plan applies no labels" || return 1
  note "labels applied: $n"
}

# check_addresses: each node's swarm address (and manager address) is its private address.
check_addresses() {
  local name addr maddr want
  while read -r name addr maddr; do
    want=$(awk -v n="$name" '$2 == n { print $4 }' "$LAB_RUN/hosts.tsv")
    [[ -n $want && $addr == "$want" ]] || fail "$name: swarm address $addr, want private $want" || return 1
    [[ -z $maddr || $maddr == "$want:2377" ]] || fail "$name: manager address $maddr, want $want:2377" || return 1
  done < <(m 'docker node inspect --format "{{.Description.Hostname}} {{.Status.Addr}} {{if .ManagerStatus}}{{.ManagerStatus.Addr}}{{end}}" $(docker node ls -q)')
}

# What "nothing changed" compares: cluster, nodes, roles, addresses, labels, states, join tokens.
swarm_snapshot() {
  m 'docker info --format "cluster {{.Swarm.Cluster.ID}}"
     docker swarm join-token -q worker; docker swarm join-token -q manager
     for n in $(docker node ls -q); do
       docker node inspect --format "{{.ID}} {{.Description.Hostname}} {{.Spec.Role}} {{.Spec.Availability}} {{.Status.State}} {{.Status.Addr}} {{if .ManagerStatus}}{{.ManagerStatus.Reachability}}{{end}} {{.Spec.Labels}}" "$n"
     done' | sort
}

# check_service IMAGE: the service runs IMAGE, REPLICAS tasks running, none elsewhere.
service_state() {
  m "docker service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}} {{if .UpdateStatus}}{{.UpdateStatus.State}}{{else}}none{{end}}' $LAB_SERVICE
     docker service ps --filter desired-state=running --format '{{.Image}} {{.CurrentState}}' $LAB_SERVICE"
}
service_is() {
  local image=$1 st spec running
  st=$(service_state) || return 1
  spec=$(head -1 <<<"$st")
  [[ ${spec%% *} == "$image" || ${spec%% *} == "$image@"* ]] || return 1
  running=$(tail -n +2 <<<"$st" | awk -v i="$image" '($1 == i || index($1, i "@") == 1) && $2 == "Running"' | wc -l)
  [[ $running == "$LAB_REPLICAS" && $(tail -n +2 <<<"$st" | wc -l) == "$LAB_REPLICAS" ]]
}
check_service() {
  if ! poll 60 service_is "$1"; then
    fail "service $LAB_SERVICE is not $LAB_REPLICAS x $1 running: $(service_state | paste -sd'|')"
    return 1
  fi
}

# check_http VERSION: every running task of the service answers /version with VERSION (asked
# inside each task, on its own node), then, as information, how many tasks answer it over the
# overlay network from another task (a VXLAN between the lab hosts; dnsrr lists every task).
versions_local() {
  local want=$1 i got all=""
  for i in $(seq 0 $(($(lab_count) - 1))); do
    got=$(lab_ssh "$i" bash -s -- "$LAB_SERVICE" 2>/dev/null <<'EOF'
for c in $(docker ps -q --filter "label=com.docker.swarm.service.name=$1"); do
  echo "$(hostname)/$c $(docker exec "$c" wget -q -O - http://127.0.0.1/version)"
done
EOF
    ) || continue # a powered-off host
    all+=${got:+$got$'\n'}
  done
  HTTP_SEEN=${all%$'\n'}
  [[ $(grep -c . <<<"$HTTP_SEEN") == "$LAB_REPLICAS" && -z $(awk -v w="$want" '$2 != w' <<<"$HTTP_SEEN") ]]
}
versions_overlay() {
  local want=$1 i got
  for i in $(seq 0 $(($(lab_count) - 1))); do
    got=$(lab_ssh "$i" bash -s -- "$LAB_SERVICE" 2>/dev/null <<'EOF'
s=$1
c=$(docker ps -q --filter "label=com.docker.swarm.service.name=$s" | head -n 1)
[ -n "$c" ] || exit 3
# busybox: nslookup has its own resolver; wget by address (its static getaddrinfo crashes on names)
docker exec "$c" sh -c '
  for a in $(nslookup "tasks.$1" 2>/dev/null | sed -n "s/^Address:* *//p" | grep -v ":53$" | grep -v "^127"); do
    echo "$a $(timeout 3 wget -q -O - "http://$a/version")"
  done' sh "$s"
EOF
    ) || continue
    OVERLAY_SEEN=$got
    [[ $(awk -v w="$want" '$2 == w' <<<"$got" | wc -l) == "$LAB_REPLICAS" ]]
    return
  done
  return 1
}
check_http() {
  HTTP_SEEN=""
  OVERLAY_SEEN=""
  poll 30 versions_local "$1" || fail "not every task answers $1: $(paste -sd'|' <<<"$HTTP_SEEN")" || return 1
  if poll 15 versions_overlay "$1"; then
    note "all $LAB_REPLICAS tasks answer $1 over the overlay network"
  else
    note "(information) over the overlay network: $(paste -sd'|' <<<"$OVERLAY_SEEN")"
  fi
}

# check_one_at_a_time: the update replaced tasks one by one: parallelism 1, and each new task
# was created only after the previous new task was running.
check_one_at_a_time() {
  local par rows prev_running="" created running n=0
  par=$(m "docker service inspect --format '{{.Spec.UpdateConfig.Parallelism}}' $LAB_SERVICE")
  [[ $par == 1 ]] || fail "update parallelism is $par, not 1" || return 1
  rows=$(m "docker inspect --format '{{.CreatedAt.UnixNano}} {{.Status.Timestamp.UnixNano}}' \$(docker service ps -q --filter desired-state=running $LAB_SERVICE)" | sort -n)
  while read -r created running; do
    if [[ -n $prev_running ]] && ((created < prev_running)); then
      fail "a task was created before the previous one was running: $(paste -sd'|' <<<"$rows")"
      return 1
    fi
    prev_running=$running
    n=$((n + 1))
  done <<<"$rows"
  note "rolled $n tasks one at a time"
}

# --- scenarios --------------------------------------------------------------------------------

scenario_bootstrap() {
  local t0
  lab_plan boot --managers 3 --workers 2
  t0=$(lab_now)
  lab_replay boot --plan "$LAB_OUT/boot.json" || fail "bootstrap commands failed"
  note "bootstrap wall time: $(lab_since "$t0") s"
  cp "$LAB_OUT/boot.json" "$LAB_OUT/current.json"
  settle check_nodes "${LAB_NAMES[@]}"
  settle check_managers 3
  check_labels "$LAB_OUT/boot.json"
  check_addresses
  check_no_token "$LAB_OUT/boot"
}

scenario_rerun() {
  local before after
  before=$(swarm_snapshot)
  lab_replay rerun --plan "$LAB_OUT/current.json" --all || fail "a re-run bootstrap command failed"
  after=$(swarm_snapshot)
  if [[ $before != "$after" ]]; then
    diff <(echo "$before") <(echo "$after") | sed 's/^/      /' >&2 || true
    fail "the swarm changed on re-run"
    return 1
  fi
  note "swarm unchanged ($(grep -c . <<<"$after") facts compared)"
  check_no_token "$LAB_OUT/rerun"
}

scenario_stack() {
  local dir
  lab_plan v1 --managers 3 --workers 2 --stack "$LAB_STACK=$LAB_DIR/stacks/web-v1.yml"
  lab_replay deploy-v1 --plan "$LAB_OUT/v1.json" --prev "$LAB_OUT/current.json" ||
    fail "the deploy of v1 failed"
  cp "$LAB_OUT/v1.json" "$LAB_OUT/current.json"
  check_service lab/web:v1
  check_http v1
  note "v1 converged: $LAB_REPLICAS tasks serve v1"

  lab_plan v2 --managers 3 --workers 2 --stack "$LAB_STACK=$LAB_DIR/stacks/web-v2.yml"
  lab_replay deploy-v2 --plan "$LAB_OUT/v2.json" --prev "$LAB_OUT/current.json" ||
    fail "the update to v2 failed"
  cp "$LAB_OUT/v2.json" "$LAB_OUT/current.json"
  check_service lab/web:v2
  check_one_at_a_time
  check_http v2

  lab_plan v3 --managers 3 --workers 2 --stack "$LAB_STACK=$LAB_DIR/stacks/web-v3-crash.yml"
  if lab_replay deploy-v3 --plan "$LAB_OUT/v3.json" --prev "$LAB_OUT/current.json"; then
    fail "the deploy of the crashing image exited 0"
    return 1
  fi
  dir=$LAB_OUT/deploy-v3
  grep -q '"status": "failed"' "$dir/results.json" || fail "no command of the crashing deploy failed" || return 1
  grep -lq "$LAB_SERVICE" "$dir"/*.err "$dir"/*.out 2>/dev/null ||
    fail "the failed deploy does not name the service $LAB_SERVICE" || return 1
  local st
  st=$(m "docker service inspect --format '{{.UpdateStatus.State}}' $LAB_SERVICE")
  [[ $st == rollback_completed ]] || fail "update state is '$st', not rollback_completed" || return 1
  check_service lab/web:v2
  check_http v2
  note "crashing v3 rolled back by swarm to v2; the deploy command failed naming $LAB_SERVICE"
  # Like Pulumi after a failed update, the state keeps v2; the next up starts from it.
}

# check_left H: H's own engine is out of the swarm (it ran `docker swarm leave`), not merely
# forgotten by the managers.
check_left() {
  local state
  state=$(lab_ssh "$1" "docker info --format '{{.Swarm.LocalNodeState}}'")
  [[ $state == inactive ]] || fail "$1 was removed but its engine still says swarm state '$state' (it did not leave)"
}

no_task_on() {
  [[ -z $(lab_ssh "$1" "docker ps -q --filter label=com.docker.swarm.service.name=$LAB_SERVICE") ]]
}

scenario_remove_worker() {
  local victim=lab-worker-1 tasks left
  tasks=$(m "docker node ps --filter desired-state=running -q $victim")
  [[ -n $tasks ]] || fail "$victim runs no task before its removal, nothing to move" || return 1
  lab_plan w1 --managers 3 --workers 1 --stack "$LAB_STACK=$LAB_DIR/stacks/web-v2.yml"
  lab_replay remove-worker --plan "$LAB_OUT/w1.json" --prev "$LAB_OUT/current.json" ||
    fail "removing $victim failed"
  cp "$LAB_OUT/w1.json" "$LAB_OUT/current.json"
  grep -q '"op": "delete"' "$LAB_OUT/remove-worker/results.json" || fail "no delete command ran" || return 1
  local t0 still
  t0=$(lab_now)
  still=$(lab_ssh "$victim" "docker ps -q --filter label=com.docker.swarm.service.name=$LAB_SERVICE" | wc -l)
  settle check_nodes lab-manager-0 lab-manager-1 lab-manager-2 lab-worker-0
  # Drained: the node's own engine stopped its tasks (given 15 s, far more than a stop takes).
  if ! poll 15 no_task_on "$victim"; then
    left=$(lab_ssh "$victim" "docker ps --filter label=com.docker.swarm.service.name=$LAB_SERVICE --format '{{.Names}} {{.Status}}'")
    fail "$victim still runs tasks of $LAB_SERVICE 15 s after its removal (not drained): $left"
    return 1
  fi
  ((still == 0)) || note "right after the removal $victim still ran $still task(s); stopped within $(lab_since "$t0") s"
  check_service lab/web:v2
  check_left "$victim" || return 1
  note "$victim drained, left the swarm itself, removed; its $(wc -w <<<"$tasks") task(s) run elsewhere"
  # Pulumi then destroys the droplet.
  lab_power_off "$victim"
}

manager_is_down() {
  m "docker node inspect --format '{{.Status.State}} {{.ManagerStatus.Reachability}}' $1" 2>/dev/null |
    grep -qx 'down unreachable'
}
manager_is_back() {
  m "docker node inspect --format '{{.Status.State}} {{.ManagerStatus.Reachability}}' $1" 2>/dev/null |
    grep -qx 'ready reachable'
}

scenario_power_off_manager() {
  local leader victim t0
  leader=$(m "docker node ls --filter role=manager --format '{{.Hostname}} {{.ManagerStatus}}'" | awk '$2 == "Leader" { print $1 }')
  # Power off the leader if it is not the entry manager (which holds the reserved IP), else the
  # next manager.
  if [[ $leader != lab-manager-0 ]]; then victim=$leader; else victim=lab-manager-1; fi
  note "leader is $leader; powering off $victim"
  lab_power_off "$victim"
  t0=$(lab_now)
  poll 60 manager_is_down "$victim" || fail "$victim is not seen down and unreachable" || return 1
  note "$victim down after $(lab_since "$t0") s"
  leader=$(m "docker node ls --filter role=manager --format '{{.Hostname}} {{.ManagerStatus}}'" | awk '$2 == "Leader" { print $1 }')
  [[ -n $leader && $leader != "$victim" ]] || fail "no leader after the power off" || return 1
  note "quorum kept: leader $leader"
  lab_plan v1w1 --managers 3 --workers 1 --stack "$LAB_STACK=$LAB_DIR/stacks/web-v1.yml"
  # A failed update is reported at the end: powering the manager on again is checked anyway.
  local updated=1
  lab_replay update-degraded --timeout "$LAB_DEGRADED_TIMEOUT" --plan "$LAB_OUT/v1w1.json" \
    --prev "$LAB_OUT/current.json" || updated=0
  if ((updated)); then
    cp "$LAB_OUT/v1w1.json" "$LAB_OUT/current.json"
    check_service lab/web:v1 || updated=0
  else
    note "service while $victim is off: $(service_state | paste -sd'|')"
    note "docker service ls says: $(m "docker service ls --format '{{.Name}} {{.Replicas}}'" | paste -sd'|')"
  fi
  lab_power_on "$victim"
  t0=$(lab_now)
  poll 90 manager_is_back "$victim" || fail "$victim did not come back Ready and Reachable" || return 1
  note "$victim Ready and Reachable again after $(lab_since "$t0") s"
  settle check_managers 3
  ((updated)) || fail "the stack update with $victim powered off did not succeed"
}
