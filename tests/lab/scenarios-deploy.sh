# shellcheck shell=bash disable=SC2016 # remote commands expand on the host, in single quotes here
# Deploy scenarios (issue 17), sourced by run.sh after scenarios-day2.sh. They run on whatever
# cluster the earlier scenarios leave (3 managers + 2 workers after scenario 1 alone, 1 + 1 after
# all eleven) and deploy stacks of their own beside it, through the program's deploy command:
# each step is a `pulumi up` from the previous plan, so only these stacks' commands run, and
# $LAB_OUT/current.json (what the other scenarios diff against) is left alone.

LAB_FIVE=five
LAB_BROKEN=broken
# The broken stack's timeoutSeconds: its deploy must fail within it (plus SSH and start-up).
LAB_BROKEN_TIMEOUT=${LAB_BROKEN_TIMEOUT:-45}

# deploy_plan NAME ARGS...: a plan of the cluster as it stands (counted from the swarm) plus ARGS.
deploy_plan() {
  local name=$1 managers workers
  shift
  managers=$(m "docker node ls --filter role=manager -q" | wc -l)
  workers=$(m "docker node ls --filter role=worker -q" | wc -l)
  lab_plan "$name" --managers "$managers" --workers "$workers" "$@"
}

# timed_replay TAG NEW PREV: replays NEW from PREV; sets REPLAY_SECS and REPLAY_RC.
timed_replay() {
  local t0
  t0=$(lab_now)
  REPLAY_RC=0
  lab_replay "$1" --plan "$LAB_OUT/$2.json" --prev "$LAB_OUT/$3.json" || REPLAY_RC=$?
  REPLAY_SECS=$(lab_since "$t0")
}

five_running() { # every service of the five-service stack at 2/2 on IMAGE
  local got
  got=$(m "docker service ls --filter label=com.docker.stack.namespace=$LAB_FIVE --format '{{.Name}} {{.Replicas}} {{.Image}}'")
  [[ $(awk -v i="$1" '$2 == "2/2" && ($3 == i || index($3, i "@") == 1)' <<<"$got" | wc -l) == 5 ]]
}

scenario_deploy_five() {
  deploy_plan d0
  deploy_plan d1 --stack "$LAB_FIVE=$LAB_DIR/stacks/five-v1.yml"
  timed_replay five-v1 d1 d0
  ((REPLAY_RC == 0)) || fail "the deploy of the five-service stack failed" || return 1
  poll 30 five_running lab/web:v1 || fail "the five services are not 2/2 on v1" || return 1
  note "five-service deploy (5 new services, 2 replicas each): $REPLAY_SECS s"
  local created=$REPLAY_SECS
  deploy_plan d2 --stack "$LAB_FIVE=$LAB_DIR/stacks/five-v2.yml"
  timed_replay five-v2 d2 d1
  ((REPLAY_RC == 0)) || fail "the update of the five-service stack to v2 failed" || return 1
  poll 30 five_running lab/web:v2 || fail "the five services are not 2/2 on v2" || return 1
  note "five-service update (all 5 to v2, one task at a time each): $REPLAY_SECS s"
  echo "deploy timing: five services created in $created s, updated in $REPLAY_SECS s" >>"$LAB_OUT/timings.log"
}

# A paused update (failure_action pause, an image that crashes at start): the deploy fails with
# the FAILED line naming the service, its update state and swarm's message.
scenario_paused_update() {
  local err
  deploy_plan d2 --stack "$LAB_FIVE=$LAB_DIR/stacks/five-v2.yml"
  deploy_plan d3 --stack "$LAB_FIVE=$LAB_DIR/stacks/five-pause.yml" --stack-timeout "$LAB_FIVE=120"
  timed_replay five-pause d3 d2
  ((REPLAY_RC != 0)) || fail "the deploy of a crashing update with failure_action pause exited 0" || return 1
  err=$LAB_OUT/five-pause/lab-stack-$LAB_FIVE-deploy.update.err
  [[ -f $err ]] || err=$LAB_OUT/five-pause/lab-stack-$LAB_FIVE-deploy.create.err
  sed 's/^/      | /' "$err" | tail -n 8
  grep -q "FAILED ${LAB_FIVE}_e: update paused" "$err" ||
    fail "no FAILED line for ${LAB_FIVE}_e's paused update in $(basename "$err")" || return 1
  if grep -q "FAILED ${LAB_FIVE}_[abcd]" "$err"; then
    fail "an unchanged service is reported FAILED: $(grep FAILED "$err" | paste -sd'|')"
    return 1
  fi
  note "paused update reported in $REPLAY_SECS s: $(grep "FAILED ${LAB_FIVE}_e" "$err")"
}

# New services that never converge (an image that does not exist, a constraint no node meets, a
# crash at the first start: nothing to roll back to) beside one that does: the deploy fails
# within the stack's timeoutSeconds, naming each and why. On a CLI that waits for convergence by itself, this deploy never returned.
scenario_broken_services() {
  local err limit
  deploy_plan b0
  deploy_plan b1 --stack "$LAB_BROKEN=$LAB_DIR/stacks/broken.yml" --stack-timeout "$LAB_BROKEN=$LAB_BROKEN_TIMEOUT"
  timed_replay broken b1 b0
  err=$LAB_OUT/broken/lab-stack-$LAB_BROKEN-deploy.create.err
  sed 's/^/      | /' "$err" | tail -n 8
  ((REPLAY_RC != 0)) || fail "the deploy of services that cannot run exited 0" || return 1
  # The limit counts from the deploy's start; plan, SSH and unpacking add a few seconds.
  limit=$((LAB_BROKEN_TIMEOUT + 20))
  awk -v s="$REPLAY_SECS" -v l="$limit" 'BEGIN { exit !(s <= l) }' ||
    fail "the failing deploy took $REPLAY_SECS s, more than timeoutSeconds $LAB_BROKEN_TIMEOUT + 20" || return 1
  grep -q "FAILED ${LAB_BROKEN}_noimage: .*No such image" "$err" ||
    fail "no FAILED line naming ${LAB_BROKEN}_noimage and its missing image" || return 1
  grep -q "FAILED ${LAB_BROKEN}_nowhere: .*no suitable node" "$err" ||
    fail "no FAILED line naming ${LAB_BROKEN}_nowhere and its unmet constraint" || return 1
  grep -q "FAILED ${LAB_BROKEN}_crash: .*non-zero exit" "$err" ||
    fail "no FAILED line naming ${LAB_BROKEN}_crash, which crashes at its first start" || return 1
  if grep -q "FAILED ${LAB_BROKEN}_ok" "$err"; then
    fail "the service that runs is reported FAILED"
    return 1
  fi
  note "the deploy failed after $REPLAY_SECS s (timeoutSeconds $LAB_BROKEN_TIMEOUT), naming the three services and why"
}

# Both stacks removed by stack-rm.sh, run as it is (the broken stack's failed create left no
# state to delete it from, as in Pulumi).
scenario_deploy_cleanup() {
  local s left
  for s in "$LAB_FIVE" "$LAB_BROKEN"; do
    m "bash -s -- $s 120" <"$LAB_REPO/components/stacks/scripts/stack-rm.sh" || fail "stack-rm.sh $s failed" || return 1
    left=$(m "docker service ls -q --filter label=com.docker.stack.namespace=$s; docker network ls -q --filter label=com.docker.stack.namespace=$s")
    [[ -z $left ]] || fail "stack $s left services or networks: $(paste -sd' ' <<<"$left")" || return 1
  done
  note "stacks $LAB_FIVE and $LAB_BROKEN removed"
}
