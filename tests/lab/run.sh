#!/usr/bin/env bash
# `npm run test:lab`: builds the lab (5 hosts), runs the scenarios of issue 3 with the commands
# the program itself produces, prints a PASS/FAIL line and the time of each, then
# "N passed, M failed", and ALWAYS tears the lab down (also on failure, Ctrl-C or SIGTERM).
# Needs Linux and root. LAB_PLAN_TS=FILE uses another plan generator than tests/lab/plan.ts.
# LAB_ONLY="1 8" runs only those scenarios (for work on one; later ones expect the state the
# earlier ones leave, so their checks may fail for that reason alone). LAB_REPEAT="23:10" runs
# scenario 23 ten times in a row.
set -euo pipefail

if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  cat <<'USAGE'
usage: npm run test:lab        (as root, on Linux)
Builds five lab hosts on this machine (network namespaces, dockerd, sshd), runs every scenario
with the commands the program produces, prints PASS/FAIL per scenario and "N passed, M failed",
and always tears the lab down. Takes about 23 minutes. See tests/lab/README.md.
  LAB_ONLY="1 8"     run only those scenarios
  LAB_REPEAT="23:10" run scenario 23 ten times in a row
  LAB_PLAN_TS=FILE   another plan generator than tests/lab/plan.ts
USAGE
  exit 0
fi

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lab/lab.sh
. "$LAB_DIR/lab.sh"
# shellcheck source=tests/lab/scenarios.sh
. "$LAB_DIR/scenarios.sh"
# shellcheck source=tests/lab/scenarios-day2.sh
. "$LAB_DIR/scenarios-day2.sh"
# shellcheck source=tests/lab/scenarios-deploy.sh
. "$LAB_DIR/scenarios-deploy.sh"
# shellcheck source=tests/lab/scenarios-frontdoor.sh
. "$LAB_DIR/scenarios-frontdoor.sh"
# shellcheck source=tests/lab/scenarios-edge.sh
. "$LAB_DIR/scenarios-edge.sh"
# shellcheck source=tests/lab/scenarios-volumes.sh
. "$LAB_DIR/scenarios-volumes.sh"
# shellcheck source=tests/lab/scenarios-status.sh
. "$LAB_DIR/scenarios-status.sh"

PASSED=0
FAILED=0
SUMMARY=()
# What failed, with why, printed once more as the last lines of the run: a CI log may keep only
# its start and its end, and the summary above it runs to 40 lines.
FAILURES=()
FAILED_NAMES=()
CHILD=""
TORN_DOWN=0

teardown() {
  ((TORN_DOWN)) && return 0
  TORN_DOWN=1
  local t0 rc=0
  t0=$(lab_now)
  lab_down || rc=$?
  echo "teardown: $(lab_since "$t0") s"
  return "$rc"
}

on_signal() {
  echo "lab: interrupted by SIG$1, tearing down" >&2
  if [[ -n $CHILD ]]; then kill -TERM -- "-$CHILD" 2>/dev/null || true; fi
  exit 130
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $CHILD ]]; then kill -KILL -- "-$CHILD" 2>/dev/null || true; fi
  teardown || rc=1
  exit "$rc"
}

# isolated CMD...: runs CMD in a subshell with `set -e` that really applies (bash ignores it in
# anything called from a condition, even in a subshell started there: so never call this one in
# a condition either), in its own process group so that a signal stops all of it, with no
# terminal input (ssh would read it). Sets ISOLATED_RC to its status and returns 0.
isolated() {
  local rc=0
  set -m
  (
    set -euo pipefail
    "$@"
  ) </dev/null &
  CHILD=$!
  set +m
  wait "$CHILD" || rc=$?
  CHILD=""
  ISOLATED_RC=$rc
}

# run_scenario N TITLE FUNCTION: runs FUNCTION in its own process group (so a signal can stop
# all of it) and records PASS/FAIL with its time in SUMMARY and its status in LAST_RC. Never call
# it in a condition (`if`, `||`): bash would then ignore `set -e` inside the scenario.
run_scenario() {
  local n=$1 title=$2 fn=$3 t0 rc secs line seen
  seen=$(lab__lines "$LAB_CHECKS")
  echo
  echo "=== scenario $n: $title"
  t0=$(lab_now)
  isolated "$fn"
  rc=$ISOLATED_RC
  secs=$(lab_since "$t0")
  if ((rc == 0)); then
    PASSED=$((PASSED + 1))
    line="PASS scenario $n: $title ($secs s)"
  else
    FAILED=$((FAILED + 1))
    line="FAIL scenario $n: $title ($secs s, exit $rc)"
  fi
  echo "$line"
  SUMMARY+=("$line")
  if ((rc != 0)) && [[ -f $LAB_CHECKS ]]; then
    # Why it failed, again in the summary (a CI log may keep only its start and end).
    while IFS= read -r why; do SUMMARY+=("    $why"); done < <(tail -n +$((seen + 1)) "$LAB_CHECKS" | head -n 30)
  fi
  if ((rc != 0)); then
    FAILED_NAMES+=("scenario $n")
    FAILURES+=("$line")
    if [[ -f $LAB_CHECKS ]]; then
      while IFS= read -r why; do FAILURES+=("    $why"); done < <(tail -n +$((seen + 1)) "$LAB_CHECKS" | head -n 12)
    fi
  fi
  LAST_RC=$rc
}

# lab_repeats N: how many times scenario N runs (LAB_REPEAT="23:10" runs scenario 23 ten times in
# a row: a scenario that must pass every run is judged on several).
lab_repeats() {
  local pair
  for pair in ${LAB_REPEAT:-}; do
    if [[ ${pair%%:*} == "$1" ]]; then
      echo "${pair#*:}"
      return
    fi
  done
  echo 1
}

lab__lines() { if [[ -f $1 ]]; then wc -l <"$1"; else echo 0; fi; }

skip_scenario() {
  local line="FAIL scenario $1: $2 (not run: $3)"
  FAILED=$((FAILED + 1))
  echo "$line"
  SUMMARY+=("$line")
  FAILURES+=("$line")
  FAILED_NAMES+=("scenario $1")
}

lab_up_with_images() {
  lab_up 5 "${LAB_NAMES[@]}"
  lab_images
}

main() {
  local t_all t0 ok=1
  t_all=$(lab_now)
  trap on_exit EXIT
  trap 'on_signal INT' INT
  trap 'on_signal TERM' TERM
  cd "$LAB_REPO"
  lab_preflight
  lab_install_deps
  if [[ ! -x ${LAB_TSNODE[0]} ]]; then
    echo "=== lab: no node_modules: npm ci"
    (cd "$LAB_REPO" && npm ci --no-audit --no-fund) || lab_die "npm ci failed"
  fi
  [[ -x ${LAB_TSNODE[0]} ]] || lab_die "no ts-node in node_modules after npm ci"

  echo "=== lab: clearing leftovers of earlier runs"
  lab_down
  rm -rf "$LAB_OUT"
  mkdir -p "$LAB_OUT"

  echo "=== lab: 5 hosts"
  t0=$(lab_now)
  isolated lab_up_with_images
  if ((ISOLATED_RC == 0)); then
    SUMMARY+=("lab up: $(lab_since "$t0") s")
  else
    ok=0
  fi

  local titles=(
    "bootstrap 3 managers + 2 workers"
    "re-run every bootstrap command changes nothing"
    "deploy a stack, roll to v2 one task at a time, crashing v3 rolled back and reported"
    "remove a worker: drained, gone, its tasks elsewhere"
    "power off a manager: quorum kept, update succeeds, back Ready on power on"
    "rolling resize of every node by the program's hooks: one down at a time, service >= replicas-1, quorum kept"
    "a lost manager replaced: stale entry demoted and removed, the new one joins the raft"
    "the lost bootstrap manager-0 replaced: it joins the live swarm (token from a peer), no second swarm"
    "scale managers 3 -> 1: demoted and removed before their droplets go, no Down node left"
    "the only manager lost: a new swarm, the worker moves to it, the stack deployed again"
    "remove the stack from the config: docker stack rm, services and networks gone"
    "a five-service stack deployed, then updated: how long when nothing is wrong"
    "a paused update fails the deploy with its FAILED line"
    "new services that never converge (no such image, no node meets the constraint, crash at start) fail within timeoutSeconds, each named"
    "stack-rm.sh removes the deploy scenarios' stacks"
    "volume: N records written, the droplet lost and replaced, all N there on the replacement"
    "volume grown while the writer writes: online, same container, no record lost"
    "volume scale-in: snapshot first, then the volume goes; restoreFrom brings every record back"
    "volume failed to mount: the writer does not start, nothing on the root disk; back once mounted"
    "the edge: 3 managers + 2 workers again, the web stack behind the program's edge (Caddy, one per manager)"
    "under load through the edge: rolling update v1 -> v2, 0 failed requests"
    "under load through the edge: crashing v3 rolled back, 0 failed requests"
    "under load through the edge: a worker holding web tasks powered off, 0 failed (retries)"
    "under load through the edge: rolling resize of every node by the hooks, 0 failed but at the entry point's node"
    "under load: the edge itself updated: a new route reloaded in place, a file Caddy cannot load rolled back (0 failed, no Caddy task replaced); a new image measured"
    "front door: the reserved IP's holder (not the leader) powered off under load: the agent moves it"
    "front door: the old holder comes back: the IP stays where it is"
    "front door: the holder that is also the raft leader powered off under load: the lowest-named manager left moves it"
    "front door: a pulumi up replay after the failovers leaves the IP where it is"
    "edge: a new edge image where the reserved IP points: the holder's agent moves the IP before its edge stops: nothing refused, the move's own cost bounded"
    "a manager replaced by a new droplet while the old one runs: old node removed first, 3 managers, no Down member"
    "front door: the failover token without tag:read: the agents' install fails naming the scope; with the README's scopes it installs"
    "front door: tag:read revoked for a minute while 3 agents run: at most 60 API calls in the cluster"
    "npm run status: healthy exits 0; a crashing service and a powered-off worker exit 1, both named; npm run logs shows the crash; a slow deploy prints progress"
    "rolling resize of the worker pool at maxUnavailable 2 by the program's hooks: the service >= replicas-2, at most 2 workers out, quorum kept"
    "volume: a droplet holding it replaced while the writer writes: writer stopped and volume unmounted before the detach, N records before and after, one mount, also after a reboot"
  )
  local fns=(scenario_bootstrap scenario_rerun scenario_stack scenario_remove_worker
    scenario_power_off_manager scenario_rolling_resize scenario_replace_manager
    scenario_replace_bootstrap_manager scenario_scale_down_managers scenario_lost_only_manager
    scenario_remove_stack scenario_deploy_five scenario_paused_update scenario_broken_services
    scenario_deploy_cleanup scenario_volume_replace scenario_volume_grow
    scenario_volume_scale_in_restore scenario_volume_failed_mount scenario_edge_setup
    scenario_edge_rolling_update scenario_edge_rollback scenario_edge_worker_lost
    scenario_edge_rolling_resize scenario_edge_self_update scenario_fd_holder_off
    scenario_fd_holder_back scenario_fd_leader_off scenario_fd_replay scenario_edge_handoff
    scenario_replace_manager_live scenario_fd_token_no_tag scenario_fd_persistent_failure
    scenario_status scenario_batched_resize scenario_volume_replace_live)
  # The run order. A scenario keeps its number (its place in the lists above), but 32 and 33 run
  # on the front door 26-30 leave (the agents, the stand-in), after 30 (its edge hand-off needs
  # agents that did not just come out of 33's minute of refusals: the full run saw none hand off)
  # and before 31 changes the hosts; 34 and 35 (status, the batched resize) run on the cluster
  # 31 leaves, and 36 last (it adds a host under lab-worker-1's name).
  local order=({0..29} 31 32 30 33 34 35)
  ((${#order[@]} == ${#fns[@]})) || lab_die "run.sh: the run order has ${#order[@]} scenarios, the list ${#fns[@]}"
  local i bootstrapped=0
  LAST_RC=0
  for i in "${order[@]}"; do
    if [[ -n ${LAB_ONLY:-} && " $LAB_ONLY " != *" $((i + 1)) "* ]]; then
      SUMMARY+=("skip scenario $((i + 1)): not in LAB_ONLY")
    elif ((!ok)); then
      skip_scenario $((i + 1)) "${titles[i]}" "the lab did not come up"
    elif ((i > 0 && !bootstrapped)); then
      skip_scenario $((i + 1)) "${titles[i]}" "no bootstrapped swarm"
    else
      local k times
      times=$(lab_repeats $((i + 1)))
      for ((k = 1; k <= times; k++)); do
        run_scenario "$((i + 1))$( ((times > 1)) && echo " (run $k of $times)")" "${titles[i]}" "${fns[i]}"
        ((i == 0 && LAST_RC == 0)) && bootstrapped=1
      done
    fi
  done

  echo
  echo "=== lab: teardown"
  if ! teardown; then
    FAILED=$((FAILED + 1))
    SUMMARY+=("FAIL teardown: something of the lab was left on the machine")
    FAILURES+=("FAIL teardown: something of the lab was left on the machine")
    FAILED_NAMES+=("teardown")
  fi
  echo
  echo "=== summary (total $(lab_since "$t_all") s)"
  printf '%s\n' "${SUMMARY[@]}"
  if [[ -f $LAB_OUT/timings.log ]]; then cat "$LAB_OUT/timings.log"; fi
  if [[ -f $LAB_OUT/edge-loadtests.log ]]; then
    echo "=== load through the edge"
    cat "$LAB_OUT/edge-loadtests.log"
  fi
  if ((${#FAILURES[@]})); then
    echo "=== what failed"
    printf '%s\n' "${FAILURES[@]}"
    echo "$PASSED passed, $FAILED failed (${FAILED_NAMES[*]})"
  else
    echo "$PASSED passed, $FAILED failed"
  fi
  trap - EXIT INT TERM
  ((FAILED == 0))
}

main "$@"
