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

# fd_readme_scopes: the failover token's scopes as docs/entry-point.md lists them (*The token.*:
# the boxes ticked and the scopes the panel adds), comma-separated, read from the doc now
# (tests/lab/readme-scopes.ts, the parser tests/failoverAgent.test.ts uses): the lab keeps no
# copy of the list.
fd_readme_scopes() { "${LAB_TSNODE[@]}" "$LAB_DIR/readme-scopes.ts"; }

# fd_scopes SCOPES: the stand-in's token holds exactly SCOPES (comma-separated) from the next
# call on (the stand-in's PUT /_lab/scopes: a scope revoked or granted, as in the control panel).
fd_scopes() {
  local body
  body=$(python3 -c 'import json, sys; print(json.dumps({"scopes": [s for s in sys.argv[1].split(",") if s]}))' "$1")
  curl -sSf --max-time 5 -X PUT --data "$body" "$FD_API_URL/_lab/scopes" >/dev/null
}

# fd_token_scopes: the scopes the stand-in's token holds now, sorted, comma-separated.
fd_token_scopes() {
  curl -sSf --max-time 5 "$FD_API_URL/_lab/scopes" |
    python3 -c 'import json, sys; s = json.load(sys.stdin)["scopes"]; print("full access" if s is None else ",".join(sorted(s)))'
}

# fd_calls: how many calls the stand-in has received (the lab's own /_lab calls are not counted).
fd_calls() {
  curl -sSf --max-time 5 "$FD_API_URL/_lab/log" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["calls"]))'
}

# fd_api_up: starts the stand-in (once per lab run) with every lab host as a droplet (managers
# tagged lab-manager, as the program tags them), the IP where it is now, and a token holding
# exactly the scopes docs/entry-point.md tells users to give the failover token.
fd_api_up() {
  if [[ -f $LAB_DO_API_PID ]] && kill -0 "$(cat "$LAB_DO_API_PID")" 2>/dev/null; then return 0; fi
  [[ -f $FD_TOKEN_FILE ]] || (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$FD_TOKEN_FILE")
  local scopes
  scopes=$(fd_readme_scopes) || fail "reading the failover token's scopes from docs/entry-point.md failed" || return 1
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
    --scopes "$scopes" \
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
  local want have
  want=$(fd_readme_scopes | tr ',' '\n' | sort | paste -sd,) && have=$(fd_token_scopes) ||
    fail "the stand-in's token scopes could not be read" || return 1
  [[ $have == "$want" ]] ||
    fail "the stand-in's token holds [$have], not exactly docs/entry-point.md's [$want]" || return 1
  note "the stand-in's token holds exactly docs/entry-point.md's scopes: $have"
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

# fd_agents_plan OUT: the front door's plan cut to the agents' installs (its commands
# `<node>-failover-agent`, as the program makes them; what they depend on has run): what a
# `pulumi up` runs when only the failover token changed (the install's stdin). Prints how many.
fd_agents_plan() {
  python3 - "$LAB_OUT/frontdoor.json" "$1" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
agents = [c for c in plan["commands"] if c["name"].endswith("-failover-agent")]
names = {c["name"] for c in agents}
for c in agents:
    c["dependsOn"] = [d for d in c.get("dependsOn") or [] if d in names]
json.dump({"commands": agents}, open(sys.argv[2], "w"), indent=2)
print(len(agents))
PY
}

# fd_install_results TAG: "NAME STATUS NAMED LINE" per command of replay TAG: NAMED is 1 when
# its stderr names the scope tag:read as missing; LINE its last ERROR or "installed" line.
fd_install_results() {
  python3 - "$LAB_OUT/$1/results.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1])):
    err = r.get("stderr") or ""
    named = int("it lacks the scope tag:read" in err)
    lines = [l for l in err.splitlines() if "ERROR:" in l or "installed:" in l]
    print(r["name"], r["status"], named, (lines[-1] if lines else "-").strip())
PY
}

# Issue 21: the failover token made without tag:read. The agents' installs, as the program makes
# them (what `pulumi up` runs when the token changes), fail, each naming the scope; the agents
# already running keep running; with the README's scopes again, the installs succeed.
scenario_fd_token_no_tag() {
  local all without n before results failed=0 bad=0 ok=0 name status named line h
  settle check_managers 3
  all=$(fd_readme_scopes) || fail "reading the failover token's scopes from docs/entry-point.md failed" || return 1
  without=$(tr ',' '\n' <<<"$all" | grep -vx 'tag:read' | paste -sd,)
  [[ $without != "$all" ]] || fail "docs/entry-point.md's token has no tag:read to take away" || return 1
  n=$(fd_agents_plan "$LAB_OUT/fd-agents.json") || fail "cutting the agents' installs out of the plan failed" || return 1
  ((n == 3)) || fail "the front door's plan has $n agent installs, not 3" || return 1
  before=$(fd_holder)
  fd_scopes "$without" || fail "the stand-in did not take the scopes" || return 1
  note "the token holds docs/entry-point.md's scopes but tag:read: $(fd_token_scopes)"
  if lab_replay fd-no-tag --plan "$LAB_OUT/fd-agents.json" --all; then
    fd_scopes "$all"
    fail "the agents' installs succeeded with a token lacking tag:read"
    return 1
  fi
  results=$(fd_install_results fd-no-tag)
  while read -r name status named line; do
    case $status in
      ok) ok=$((ok + 1)) ;;
      failed)
        failed=$((failed + 1))
        ((named)) || bad=$((bad + 1))
        ;;
    esac
    note "$name: $status: $line"
  done <<<"$results"
  fd_scopes "$all" || fail "the stand-in did not take the scopes back" || return 1
  ((ok == 0 && failed >= 1)) || fail "with tag:read missing, $ok install(s) succeeded, $failed failed" || return 1
  ((bad == 0)) || fail "$bad failed install(s) do not name the missing scope tag:read" || return 1
  # The install stops before it restarts the agent: the one running goes on.
  for h in "${FD_MANAGERS[@]}"; do
    lab_ssh "$h" 'kill -0 "$(cat /run/do-swarm-failover.pid)"' || fail "$h: no agent running after the failed install" || return 1
  done
  note "the step failed at the agents' install ($failed failed, each naming tag:read); the agents that ran still run"

  lab_replay fd-tag-back --plan "$LAB_OUT/fd-agents.json" --all ||
    fail "the agents' installs failed with docs/entry-point.md's scopes" || return 1
  results=$(fd_install_results fd-tag-back)
  [[ $(awk '$2 == "ok" && /installed: watching/' <<<"$results" | wc -l) == 3 ]] ||
    fail "not every install says 'installed': $results" || return 1
  for h in "${FD_MANAGERS[@]}"; do
    lab_ssh "$h" 'kill -0 "$(cat /run/do-swarm-failover.pid)"' || fail "$h: no agent running" || return 1
  done
  [[ $(fd_holder) == "$before" ]] || fail "the IP moved from $(lab_name "$before") to $(lab_name "$(fd_holder)")" || return 1
  poll 30 curl -sf -o /dev/null --max-time 2 "$FD_URL" || fail "nothing answers on $FD_URL" || return 1
  note "with tag:read granted again, the 3 installs succeeded; the IP stayed on $(lab_name "$before")"
}

# fd_minute [CMD...]: counts the stand-in's calls for 60 s, CMD run at its start (the lab makes
# no API call meanwhile: fd_holder and the like call the API too); sets FD_MINUTE_CALLS,
# FD_MINUTE_REFUSED (403s), FD_MINUTE_SECS, FD_MINUTE_END and prints them by call and status.
fd_minute() {
  local n0 n1 t0 t1 left
  n0=$(fd_calls) || fail "the stand-in's log could not be read" || return 1
  t0=$(lab_now)
  (($# == 0)) || "$@" || return 1
  left=$(awk -v a="$t0" -v b="$(lab_now)" 'BEGIN { t = 60 - (b - a); printf "%.2f", (t > 0 ? t : 0) }')
  sleep "$left"
  n1=$(fd_calls) || fail "the stand-in's log could not be read" || return 1
  t1=$(lab_now)
  FD_MINUTE_END=$n1
  FD_MINUTE_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
  FD_MINUTE_CALLS=$((n1 - n0))
  curl -sSf --max-time 5 "$FD_API_URL/_lab/log" >"$LAB_OUT/fd-minute.log.json" || fail "the stand-in's log could not be read" || return 1
  FD_MINUTE_REFUSED=$(python3 - "$LAB_OUT/fd-minute.log.json" "$n0" "$n1" <<'PY'
import collections, json, re, sys
log = json.load(open(sys.argv[1]))
a, b = int(sys.argv[2]), int(sys.argv[3])
by = collections.Counter()
for call, status in zip(log["calls"][a:b], log["statuses"][a:b]):
    method, path = call.split(" ")[:2]
    path = re.sub(r"per_page=\d+", "per_page=N", re.sub(r"tag_name=[^&]*", "tag_name=T", path))
    by[(method + " " + path, status)] += 1
for (what, status), n in sorted(by.items()):
    print(f"      {n} x {what} -> {status}", file=sys.stderr)
print(sum(n for (_, status), n in by.items() if status == 403))
PY
  ) || fail "the stand-in's log could not be read" || return 1
}

# fd_restart_agents: every manager's agent started again, as at boot.
fd_restart_agents() {
  local h
  for h in "${FD_MANAGERS[@]}"; do
    lab_ssh "$h" "bash $FD_AGENT start" || fail "$h: the agent did not start" || return 1
  done
}

# Issue 21: a failure that persists for a minute (tag:read revoked while the 3 managers' agents
# run: every listing of the managers is refused) costs the whole cluster at most 60 API calls,
# counted at the stand-in. Then, the scope still revoked, every agent restarts (as at a reboot:
# each one's first view fails too, the harder minute) and another minute is counted. Then the
# scope comes back and the agents list the managers again.
scenario_fd_persistent_failure() {
  local all without h line since
  settle check_managers 3
  for h in "${FD_MANAGERS[@]}"; do
    lab_ssh "$h" 'kill -0 "$(cat /run/do-swarm-failover.pid)"' || fail "$h: no agent running" || return 1
  done
  all=$(fd_readme_scopes) || fail "reading the failover token's scopes from docs/entry-point.md failed" || return 1
  without=$(tr ',' '\n' <<<"$all" | grep -vx 'tag:read' | paste -sd,)
  fd_minute fd_scopes "$without" || { fd_scopes "$all"; return 1; }
  line="api calls in a persistent failure: $FD_MINUTE_CALLS in $FD_MINUTE_SECS s (3 managers)"
  note "$line"
  echo "front door: $line, $FD_MINUTE_REFUSED refused" >>"$LAB_OUT/timings.log"
  if ((FD_MINUTE_REFUSED == 0 || FD_MINUTE_CALLS > 60)); then
    fd_scopes "$all"
    ((FD_MINUTE_REFUSED > 0)) || fail "no call was refused in the minute: tag:read was not revoked" || return 1
    fail "$FD_MINUTE_CALLS API calls in $FD_MINUTE_SECS s of a persistent failure, more than 60"
    return 1
  fi
  fd_minute fd_restart_agents || { fd_scopes "$all"; return 1; }
  since=$FD_MINUTE_END
  fd_scopes "$all" || fail "the stand-in did not take the scopes back" || return 1
  line="api calls in a persistent failure, every agent started into it: $FD_MINUTE_CALLS in $FD_MINUTE_SECS s (3 managers)"
  note "$line"
  echo "front door: $line, $FD_MINUTE_REFUSED refused" >>"$LAB_OUT/timings.log"
  ((FD_MINUTE_REFUSED > 0)) || fail "no call was refused in the second minute" || return 1
  ((FD_MINUTE_CALLS <= 60)) ||
    fail "$FD_MINUTE_CALLS API calls in $FD_MINUTE_SECS s of a persistent failure (agents restarted into it), more than 60" || return 1
  # The scope is back: each agent calls again once its back-off (at most 30 s) has passed, and
  # the managers are listed again.
  sleep 31
  poll 30 fd_listed_since "$since" 3 || fail "the managers were not listed again (3 times) after tag:read came back" || return 1
  fd_save_logs
  for h in "${FD_MANAGERS[@]}"; do
    note "  $h's agent: $({ grep -c 'failed (HTTP 403' "$LAB_OUT/fd-agent-$h.log" || true; }) refused calls in its log (scenario 32's included)"
  done
  poll 30 curl -sf -o /dev/null --max-time 2 "$FD_URL" || fail "nothing answers on $FD_URL" || return 1
  note "tag:read granted again: the managers are listed again"
}

# fd_listed_since N K: at least K listings of the managers by their tag answered 200 after the
# stand-in's call N.
fd_listed_since() {
  curl -sSf --max-time 5 "$FD_API_URL/_lab/log" | python3 -c '
import json, sys
log = json.load(sys.stdin)
n = int(sys.argv[1])
ok = sum(1 for c, s in zip(log["calls"][n:], log["statuses"][n:]) if "tag_name=" in c and s == 200)
sys.exit(0 if ok >= int(sys.argv[2]) else 1)' "$1" "$2"
}
