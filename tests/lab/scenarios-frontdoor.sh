# shellcheck shell=bash disable=SC2016 # remote commands expand on the host, in single quotes here
# Front-door scenarios (issue 10), sourced by run.sh after the others; they run last and bring
# the cluster they find back to 3 managers + lab-worker-0 with the failover agent.
#
# The reserved IP is the address 10.77.0.100, which only its holder has (lab_move_address); the
# DigitalOcean API stand-in (tests/lab/do-api.ts) moves it when an assign action completes, a
# few seconds after it was asked, and answers 422 while one is pending. The agent is the
# product's own script, installed by the program's own command (plan.ts with a failover token
# and the stand-in's URL as digitalocean:apiEndpoint), on real managers over real SSH. The
# service behind the IP (stacks/front.yml) is published in host mode on every manager.
# Each power-off scenario prints the loadtest line of constant load on the IP.

FD_IP=${LAB_PUBLIC_NET}.100
FD_PORT=8080
FD_URL=http://$FD_IP:$FD_PORT/
FD_API_URL=http://${LAB_PUBLIC_NET}.1:18080
FD_TOKEN_FILE=$LAB_RUN/failover-token
# The stand-in's droplet id of host i is FD_ID_BASE + i.
FD_ID_BASE=1000
FD_MANAGERS=(lab-manager-0 lab-manager-1 lab-manager-2)
# The goal: under 15 s without service when the holder is powered off.
FD_OUTAGE_GOAL_MS=${FD_OUTAGE_GOAL_MS:-15000}
FD_AGENT=/usr/local/lib/do-swarm/failover-agent.sh
FD_AGENT_LOG=/run/do-swarm-failover.log

# fd_api METHOD PATH [BODY]: a call to the stand-in, as an operator's curl would make it.
fd_api() {
  curl -sS --max-time 5 -X "$1" -H "Authorization: Bearer $(cat "$FD_TOKEN_FILE")" \
    -H 'Content-Type: application/json' ${3:+--data "$3"} "$FD_API_URL/v2$2"
}

# fd_holder: the index of the host the reserved IP is assigned to (empty: none).
fd_holder() {
  local id
  id=$(fd_api GET "/reserved_ips/$FD_IP" |
    python3 -c 'import json,sys; d=json.load(sys.stdin)["reserved_ip"]["droplet"]; print(d["id"] if d else "")')
  [[ -z $id ]] || echo $((id - FD_ID_BASE))
}

# fd_on H: the IP is routed to host H (the stand-in's view and the address agree).
fd_on() {
  [[ $(fd_holder) == "$1" ]] && ip -n "$(lab_ns "$1")" -o addr show dev eth0 | grep " $FD_IP/" >/dev/null
}

# fd_address_hosts: the hosts that have the reserved IP's address (one, when all is well).
fd_address_hosts() {
  local k
  for k in 0 1 2 3 4; do
    if ip -n "$(lab_ns "$k")" -o addr show dev eth0 2>/dev/null | grep " $FD_IP/" >/dev/null; then
      printf '%s ' "$(lab_name "$k")"
    fi
  done
}

# fd_save_logs: every manager's agent log into $LAB_OUT (fd-agent-<host>.log), for a failed check.
fd_save_logs() {
  local k
  for k in 0 1 2; do
    lab_ssh "$k" "cat $FD_AGENT_LOG" >"$LAB_OUT/fd-agent-$(lab_name "$k").log" 2>/dev/null || true
  done
}

# fd_leader: the index of the raft leader, asked of any manager that answers.
fd_leader() {
  local h name
  for h in 0 1 2; do
    name=$(timeout 8 ssh "${LAB_SSH_OPTS[@]}" -i "$LAB_KEY" "root@$(lab_public "$h")" \
      "docker node ls --format '{{.Hostname}} {{.ManagerStatus}}'" 2>/dev/null |
      awk '$2 == "Leader" { print $1 }') || continue
    if [[ -n $name ]]; then
      lab_index "$name"
      return 0
    fi
  done
  return 1
}

# fd_api_up: starts the stand-in (once per lab run) with every lab host as a droplet (managers
# tagged lab-manager, as the program tags them) and the IP where it is now.
fd_api_up() {
  if [[ -f $LAB_DO_API_PID ]] && kill -0 "$(cat "$LAB_DO_API_PID")" 2>/dev/null; then return 0; fi
  [[ -f $FD_TOKEN_FILE ]] || (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$FD_TOKEN_FILE")
  local i name pub priv role droplets="" at=""
  while read -r i name pub priv; do
    role=${name#lab-}
    role=${role%-*}
    droplets+="${droplets:+,}{\"id\": $((FD_ID_BASE + i)), \"name\": \"$name\", \"tags\": [\"lab\", \"lab-$role\"], \"publicIp\": \"$pub\", \"privateIp\": \"$priv\"}"
    if ip -n "$(lab_ns "$i")" -o addr show dev eth0 2>/dev/null | grep " $FD_IP/" >/dev/null; then at=$((FD_ID_BASE + i)); fi
  done <"$LAB_RUN/hosts.tsv"
  printf '{"droplets": [%s], "reservedIps": [{"ip": "%s", "region": "fra1"%s}]}\n' \
    "$droplets" "$FD_IP" "${at:+, \"dropletId\": $at}" >"$LAB_RUN/do-state.json"
  # On completion of an action, the address moves to the new holder (host index = id - base).
  # It outlives this scenario (the next ones use it); lab_down stops it by its pid.
  "${LAB_TSNODE[@]}" "$LAB_DIR/do-api.ts" --listen "${FD_API_URL#http://}" \
    --token-file "$FD_TOKEN_FILE" --state "$LAB_RUN/do-state.json" --action-seconds 3 \
    --on-move "bash '$LAB_DIR/lab.sh' move-address \"\$DO_API_IP\" \$([ -n \"\$DO_API_TO\" ] && echo \$((DO_API_TO - $FD_ID_BASE)))" \
    </dev/null >>"$LAB_OUT/do-api.log" 2>&1 &
  echo $! >"$LAB_DO_API_PID"
  poll 60 grep -q 'listening on' "$LAB_OUT/do-api.log" || fail "the DigitalOcean API stand-in did not start: $(tail -n 5 "$LAB_OUT/do-api.log")"
}

# fd_assign H: moves the IP to host H through the API (as an operator would) and waits.
fd_assign() {
  fd_api POST "/reserved_ips/$FD_IP/actions" "{\"type\":\"assign\",\"droplet_id\":$((FD_ID_BASE + $1))}" >/dev/null
  poll 30 fd_on "$1" || fail "the IP did not move to host $1"
}

# fd_load TAG SECONDS: constant, modest load on the reserved IP in the background (lab
# address only, bounded in time and count); the summary line goes to $LAB_OUT/TAG.loadtest.
fd_load() {
  "${LAB_TSNODE[@]}" "$LAB_REPO/tests/tools/loadtest.ts" "$FD_URL" --connections 4 --rate 40 \
    --seconds "$2" --max-requests 20000 --timeout-seconds 1 --plot "$LAB_OUT/$1.svg" \
    >"$LAB_OUT/$1.loadtest" 2>&1 &
  FD_LOAD_PID=$!
}

# fd_load_wait TAG: waits for the load and prints its line; sets FD_FAILED and FD_OUTAGE_MS.
fd_load_wait() {
  wait "$FD_LOAD_PID" || true
  local line
  line=$(grep -E '^loadtest: [0-9]+ requests' "$LAB_OUT/$1.loadtest") || fail "no loadtest line: $(tail -n 3 "$LAB_OUT/$1.loadtest")" || return 1
  echo "    $line"
  sed -n 's/^failed requests by cause: /    (failed: /p' "$LAB_OUT/$1.loadtest" | sed 's/$/)/'
  FD_FAILED=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
  FD_OUTAGE_MS=$(sed -E 's/.*longest outage ([0-9]+) ms$/\1/' <<<"$line")
}

# fd_power_off H: pulls the plug: no answer at all on H's addresses, its processes gone.
fd_power_off() {
  lab_unplug "$1"
  lab_power_off "$1"
}

# fd_power_on H: plugs H in and boots it; its agent starts as systemd would start it at boot.
fd_power_on() {
  lab_plug "$1"
  lab_power_on "$1"
  lab_ssh "$1" "bash $FD_AGENT start"
}

# fd_timeline H T0: where the time went after host H was powered off at T0 (epoch seconds),
# from the deciding agent's log (any manager's: the leader's, or when the holder was the leader,
# the lowest-named manager left): detection (until it decided), the assign action (until done).
# Sets FD_DECIDER (the decider's host number) and FD_DECIDED_BY (the log's "decided by" words).
fd_timeline() {
  local h t0=$2 k log line decided="" done_at="" best=""
  FD_DECIDER="" FD_DECIDED_BY=""
  for k in 0 1 2; do
    ((k == $1)) && continue
    log=$(lab_ssh "$k" "cat $FD_AGENT_LOG" 2>/dev/null) || continue
    printf '%s\n' "$log" >"$LAB_OUT/fd-agent-$(lab_name "$k").log"
    line=$(grep ': moving ' <<<"$log" | tail -n 1) || continue
    if [[ -z $best || ${line%% *} > ${best%% *} ]]; then
      best=$line FD_DECIDER=$k
      done_at=$(grep " $FD_IP is on " <<<"$log" | tail -n 1 | cut -d' ' -f1)
    fi
  done
  [[ -n $best && -n $done_at ]] || return 0
  decided=${best%% *}
  FD_DECIDED_BY=$(sed -n 's/.*(decided by \(.*\))$/\1/p' <<<"$best")
  h=$(date -u -d "@${t0%.*}" +%H:%M:%S)
  note "powered off at $h.${t0#*.}; $(lab_name "$FD_DECIDER") decided at $decided ($(cut -d' ' -f3- <<<"$best")); the IP was on the new holder at $done_at"
  awk -v t0="$t0" -v d="$decided" -v e="$done_at" 'function s(x,  a) { split(x, a, ":"); return a[1]*3600 + a[2]*60 + a[3] }
    BEGIN { t = t0 % 86400; printf "    time: detection %.1f s, assign action %.1f s\n", s(d) - t, s(e) - s(d) }'
}

# Installs the front door: 3 managers, the front stack, the agent with the stand-in's URL.
fd_setup() {
  # Managers an earlier scale-in removed had their droplets destroyed: a scale back to 3 makes
  # new ones (fresh engines, the images pulled again).
  local h
  for h in "${FD_MANAGERS[@]}" lab-worker-0; do
    if ! lab_ssh "$h" true 2>/dev/null; then
      lab_plug "$h"
      lab_rebuild "$h"
      note "$h was gone: a new droplet of that name"
    fi
  done
  lab_move_address "$FD_IP" 0
  fd_api_up
  lab_plan frontdoor --managers 3 --workers 1 --stack "front=$LAB_DIR/stacks/front.yml" \
    --reserved-ip "$FD_IP" --failover-token-file "$FD_TOKEN_FILE" --api-url "$FD_API_URL"
  grep -q -- '-failover-agent"' "$LAB_OUT/frontdoor.json" || fail "the plan has no failover agent" || return 1
  lab_replay frontdoor --plan "$LAB_OUT/frontdoor.json" --all || fail "the front-door bootstrap failed" || return 1
  cp "$LAB_OUT/frontdoor.json" "$LAB_OUT/current.json"
  local mode
  for h in "${FD_MANAGERS[@]}"; do
    mode=$(lab_ssh "$h" 'stat -c "%a %U" /etc/do-swarm/failover-token')
    [[ $mode == "600 root" ]] || fail "$h: the token file is '$mode', not 600 root" || return 1
    # shellcheck disable=SC2029 # the token is looked for on the host, given on stdin
    if lab_ssh "$h" 'grep -qF -f /dev/stdin <(ps -eo args) <(cat /run/do-swarm-failover.log)' <"$FD_TOKEN_FILE"; then
      fail "$h: the token shows in ps or in the agent's log"
      return 1
    fi
    lab_ssh "$h" 'kill -0 "$(cat /run/do-swarm-failover.pid)"' || fail "$h: no agent running" || return 1
  done
  if lab_ssh lab-worker-0 'test -e /etc/do-swarm/failover-token'; then
    fail "the worker got the failover token"
    return 1
  fi
  poll 60 curl -sf -o /dev/null --max-time 2 "$FD_URL" || fail "nothing answers on $FD_URL" || return 1
  note "agents on ${FD_MANAGERS[*]} (token 0600, not in ps or logs), none on the worker; $FD_URL answers"
}

# Issue 10, lab 1: the holder, not the raft leader, is powered off.
scenario_fd_holder_off() {
  fd_setup
  local leader holder t0 now
  leader=$(fd_leader) || fail "no raft leader" || return 1
  holder=$(((leader + 1) % 3))
  fd_assign "$holder"
  note "leader $(lab_name "$leader"), the IP on $(lab_name "$holder")"
  sleep 3
  fd_load fd-holder-off 40
  sleep 8
  t0=$(date +%s.%N | cut -c1-14)
  fd_power_off "$holder"
  # Said at once: the next scenario powers it on again even when a check here fails.
  echo "$holder" >"$LAB_OUT/fd-off-host"
  fd_load_wait fd-holder-off
  now=$(fd_holder)
  [[ -n $now && $now != "$holder" ]] || fail "the IP is still on $(lab_name "$holder")" || return 1
  if ! fd_on "$now"; then
    fd_save_logs
    fail "the stand-in and the address disagree: the stand-in says $(lab_name "$(fd_holder)"), the address is on: $(fd_address_hosts)"
    return 1
  fi
  note "the IP moved to $(lab_name "$now")"
  fd_timeline "$holder" "$t0"
  ((FD_OUTAGE_MS < FD_OUTAGE_GOAL_MS)) || fail "longest outage $FD_OUTAGE_MS ms, goal < $FD_OUTAGE_GOAL_MS ms" || return 1
}

# Issue 10, lab 3: the old holder comes back (its agent starts too): the IP stays where it is.
scenario_fd_holder_back() {
  local off before after posts_before posts_after
  off=$(cat "$LAB_OUT/fd-off-host" 2>/dev/null) || fail "scenario 12 left no powered-off host" || return 1
  before=$(fd_holder)
  posts_before=$(curl -sS "$FD_API_URL/_lab/log" | { grep -o '"POST [^"]*actions' || true; } | wc -l)
  fd_load fd-holder-back 45
  sleep 3
  fd_power_on "$off"
  note "$(lab_name "$off") is back (its agent running); waiting past the cool-down"
  sleep 35
  fd_load_wait fd-holder-back
  after=$(fd_holder)
  posts_after=$(curl -sS "$FD_API_URL/_lab/log" | { grep -o '"POST [^"]*actions' || true; } | wc -l)
  [[ $after == "$before" ]] || fail "the IP moved from $(lab_name "$before") to $(lab_name "$after")" || return 1
  ((posts_after == posts_before)) || fail "$((posts_after - posts_before)) assign call(s) after the holder came back" || return 1
  ((FD_FAILED == 0)) || fail "$FD_FAILED requests failed while the old holder came back" || return 1
  note "the IP stayed on $(lab_name "$after"); no assign call"
  rm -f "$LAB_OUT/fd-off-host"
}

# Issue 10, lab 2: the holder that is also the raft leader is powered off.
scenario_fd_leader_off() {
  local leader t0 now
  settle check_managers 3
  leader=$(fd_leader) || fail "no raft leader" || return 1
  [[ $(fd_holder) == "$leader" ]] || fd_assign "$leader"
  note "the IP on the leader $(lab_name "$leader")"
  local posts_before posts_after
  posts_before=$(curl -sS "$FD_API_URL/_lab/log" | { grep -o '"POST [^"]*actions' || true; } | wc -l)
  sleep 3
  fd_load fd-leader-off 50
  sleep 8
  t0=$(date +%s.%N | cut -c1-14)
  fd_power_off "$leader"
  fd_load_wait fd-leader-off
  now=$(fd_holder)
  [[ -n $now && $now != "$leader" ]] || fail "the IP is still on $(lab_name "$leader")" || return 1
  note "the IP moved to $(lab_name "$now"), the new leader $(lab_name "$(fd_leader)")"
  fd_timeline "$leader" "$t0"
  fd_power_on "$leader"
  # Raft takes 10-20 s to elect a new leader (swarm's election timeout, which dockerd does not
  # let us shorten): the managers left do not wait for it. The lowest-named one that answers
  # decides, and only it: one assign call in all.
  [[ $FD_DECIDED_BY == "the lowest-named manager left"* ]] ||
    fail "the move was decided by '${FD_DECIDED_BY:-nobody}', not by the lowest-named manager left" || return 1
  posts_after=$(curl -sS "$FD_API_URL/_lab/log" | { grep -o '"POST [^"]*actions' || true; } | wc -l)
  ((posts_after - posts_before == 1)) ||
    fail "$((posts_after - posts_before)) assign calls after the leader went, want exactly 1" || return 1
  ((FD_OUTAGE_MS < FD_OUTAGE_GOAL_MS)) ||
    fail "longest outage $FD_OUTAGE_MS ms, goal < $FD_OUTAGE_GOAL_MS ms" || return 1
  note "goal met: longest outage $FD_OUTAGE_MS ms < $FD_OUTAGE_GOAL_MS ms"
}

# Issue 10, lab 4: a `pulumi up` replay after the failovers (every command of the plan again,
# the agents' installs included) leaves the IP where it is and serves throughout.
scenario_fd_replay() {
  local before after
  settle check_managers 3
  before=$(fd_holder)
  [[ -n $before && $before != 0 ]] || note "the IP is on $(lab_name "${before:-0}") (not moved away from manager-0 by the earlier scenarios)"
  fd_load fd-replay 60
  lab_replay frontdoor-again --plan "$LAB_OUT/frontdoor.json" --all || fail "the replay failed" || return 1
  fd_load_wait fd-replay
  after=$(fd_holder)
  [[ $after == "$before" ]] || fail "the replay moved the IP from $(lab_name "$before") to $(lab_name "$after")" || return 1
  ((FD_FAILED == 0)) || fail "$FD_FAILED requests failed during the replay" || return 1
  note "the IP stayed on $(lab_name "$after")"
}
