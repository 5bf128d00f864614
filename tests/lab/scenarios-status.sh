# shellcheck shell=bash
# `npm run status`, `npm run logs` and the deploy's progress lines (issue 25), sourced by run.sh.
# Runs on whatever cluster the earlier scenarios leave, with a stack of its own deployed through
# the program's deploy command (as scenarios-deploy.sh does: $LAB_OUT/current.json is left alone),
# and a crashing service and a powered-off worker for the degraded case; it puts everything back.

LAB_SLOW=slow

# status_run: the status command as a user runs it, at manager-0 with the lab's key; its output
# in $LAB_OUT/status.out; sets STATUS_RC.
status_run() {
  STATUS_RC=0
  "${LAB_TSNODE[@]}" "$LAB_REPO/components/status/cli.ts" --host "$(lab_public 0)" --key "$LAB_KEY" \
    --known-hosts /dev/null --no-certs >"$LAB_OUT/status.out" 2>"$LAB_OUT/status.err" || STATUS_RC=$?
}

status_healthy() {
  status_run
  ((STATUS_RC == 0))
}

# status_back BASELINE: status says what it said before the faults (healthy, or the same problems).
status_back() {
  status_run
  if [[ -z $1 ]]; then ((STATUS_RC == 0)); else [[ $(sed -n 's/^  - //p' "$LAB_OUT/status.out" | sort) == "$1" ]]; fi
}

node_down() { [[ $(m "docker node inspect --format '{{.Status.State}}' $1") == down ]]; }

scenario_status() {
  local err lines victim=lab-worker-1
  # A slow-starting service: the deploy says how it is getting on while it waits.
  deploy_plan st0
  deploy_plan st1 --stack "$LAB_SLOW=$LAB_DIR/stacks/slow.yml" --stack-timeout "$LAB_SLOW=120"
  timed_replay status-slow st1 st0
  ((REPLAY_RC == 0)) || fail "the deploy of the slow-starting stack failed" || return 1
  err=$LAB_OUT/status-slow/lab-stack-$LAB_SLOW-deploy.create.err
  lines=$(grep -c "still waiting after" "$err" || true)
  grep "still waiting after" "$err" | sed 's/^/      | /' | head -n 3
  ((lines >= 1)) || fail "the deploy of a service that starts in ~20 s ($REPLAY_SECS s) printed no progress line" || return 1
  note "a service healthy after ~20 s: deployed in $REPLAY_SECS s, $lines progress line(s)"

  # The cluster as the earlier scenarios leave it may carry a problem of theirs (in the full run,
  # the volume scenarios' writer pinned to a host that is gone): status must report it, and the
  # faults below are judged on top of it. On a cluster without one, status must exit 0.
  local baseline=""
  if poll 60 status_healthy; then
    note "status on a healthy cluster: exit 0"
  else
    ((STATUS_RC == 1)) || fail "status exited $STATUS_RC before the faults (want 0, or 1 naming an earlier scenario's leftover)" || return 1
    baseline=$(sed -n 's/^  - //p' "$LAB_OUT/status.out" | sort)
    note "status before the faults: exit 1 for what earlier scenarios left: $(paste -sd';' <<<"$baseline")"
  fi

  # A crashing service and a powered-off worker.
  m "docker service create --detach --quiet --name crash_crash --label com.docker.stack.namespace=crash --restart-delay 1s lab/web:v3-crash" >/dev/null ||
    fail "could not create the crashing service" || return 1
  lab_power_off "$victim"
  local ok=1
  poll 60 node_down "$victim" || fail "$victim is not Down in the swarm" || ok=0
  sleep 3
  status_run
  sed 's/^/      | /' "$LAB_OUT/status.out" | tail -n 8
  ((STATUS_RC == 1)) || fail "status exited $STATUS_RC with a crashing service and a powered-off worker (want 1)" || ok=0
  grep -q "node $victim is down" "$LAB_OUT/status.out" || fail "status does not name $victim as down" || ok=0
  grep -q "service crash_crash: 0/1 tasks running" "$LAB_OUT/status.out" || fail "status does not name the crashing service" || ok=0

  # Its logs, as a user reads them.
  "${LAB_TSNODE[@]}" "$LAB_REPO/components/status/logs.ts" crash crash --tail 5 --host "$(lab_public 0)" \
    --key "$LAB_KEY" --known-hosts /dev/null >"$LAB_OUT/logs.out" 2>&1 || true
  grep -q "crashing at start" "$LAB_OUT/logs.out" || fail "npm run logs crash crash shows no line of the crashing service: $(head -c 300 "$LAB_OUT/logs.out")" || ok=0

  # Everything back: the worker on, the crashing service and the slow stack gone.
  m "docker service rm crash_crash" >/dev/null || ok=0
  lab_power_on "$victim"
  m "bash -s -- $LAB_SLOW 120" <"$LAB_REPO/components/stacks/scripts/stack-rm.sh" >/dev/null || fail "stack-rm.sh $LAB_SLOW failed" || ok=0
  poll 90 status_back "$baseline" || fail "status is not back to what it was before the faults: $(tail -n 5 "$LAB_OUT/status.out" | paste -sd'|')" || ok=0
  ((ok)) || return 1
  note "status with a crashing service and a powered-off worker: exit 1, both named; logs show the crash; healthy again: exit 0"
}

# A rolling resize of the worker pool at maxUnavailable 2 by the program's hooks (issue 24): both
# workers may be in maintenance at once, one drain at a time; a replicated service of its own
# (web-v1.yml's 5 replicas, deployed through the program's deploy command beside whatever runs)
# never drops below replicas minus 2 (the batch without its surge), quorum is never lost, and
# the driver prints the minimum and the most workers in maintenance at once.
LAB_BATCH="batch"
batch_full() {
  [[ $(m "docker service ls --filter name=${LAB_BATCH}_web --format '{{.Replicas}}'") == "5/5" ]]
}
scenario_batched_resize() {
  lab_add_address 0 "$LAB_RESERVED_STANDIN"
  deploy_plan b0
  deploy_plan b1 --stack "$LAB_BATCH=$LAB_DIR/stacks/web-v1.yml"
  timed_replay batch-web b1 b0
  ((REPLAY_RC == 0)) || fail "the deploy of the batch's web stack failed" || return 1
  poll 120 batch_full || fail "${LAB_BATCH}_web is not at full strength before the resize" || return 1
  local ok=1 hosts=$LAB_RUN/hosts.json
  # The hosts the cluster runs on now (scenario 31 leaves lab-manager-2 on a new host).
  if [[ -f $LAB_OUT/hosts-current.json ]]; then hosts=$LAB_OUT/hosts-current.json; fi
  "${LAB_TSNODE[@]}" "$LAB_DIR/maintenance.ts" --hosts "$hosts" --only lab-worker-0 \
    --only lab-worker-1 --max-unavailable 2 --key "$LAB_KEY" --reserved-ip "$LAB_RESERVED_STANDIN" \
    --service "${LAB_BATCH}_web" --replicas 5 2>&1 | tee "$LAB_OUT/batched-resize.log" | sed 's/^/  /' ||
    fail "the batched resize of the worker pool did not keep its guarantees" || ok=0
  grep -o 'resized .*' "$LAB_OUT/batched-resize.log" | tail -n 1 | sed 's/^/batched resize: /' >>"$LAB_OUT/timings.log" || true
  settle check_nodes "${LAB_NAMES[@]}" || ok=0
  m "bash -s -- $LAB_BATCH 120" <"$LAB_REPO/components/stacks/scripts/stack-rm.sh" >/dev/null || fail "stack-rm.sh $LAB_BATCH failed" || ok=0
  ((ok))
}
