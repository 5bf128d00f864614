#!/usr/bin/env bash
# The reserved IP's failover agent: keeps the cluster's reserved IP on a manager that serves.
# Runs on every manager; exactly one decides, so two managers never fight over the IP, and no
# second consensus protocol is run (keepalived's VRRP cannot cross DigitalOcean's cloud
# firewalls): normally the swarm's raft leader. When the silent holder WAS the raft leader, the
# swarm has no leader for raft's 10-20 s election; the managers left then apply one fixed rule
# to the swarm's last view: the lowest-named manager that answers decides (see cmd_run). A
# manager that reaches no majority of the managers moves nothing, leader or not.
#
# The holder stops serving when it is powered off or unreachable, or its Docker is down (it has
# not answered on the swarm port PROBE_PORT for FAIL_CHECKS x INTERVAL_S seconds, and at least
# its last two checks failed), or swarm reports it Down or drained, or the IP is on no manager
# (on no droplet only when it fell off one that is gone: an IP unassigned from a droplet that
# runs was unassigned on purpose, as `pulumi destroy` does before deleting it).
# The silence is measured by the clock, not by counting rounds: while the swarm has no leader,
# a round's docker calls stall for seconds. Then the decider assigns the IP to a healthy
# manager (itself first), waits on DigitalOcean's action, retries the 422 "pending event" while
# another action runs, and moves nothing for COOLDOWN_S afterwards. A holder that serves keeps
# the IP: a manager coming back never takes it back (no flapping). The rolling resize's drain of
# the holder is the same case: the leader moves the IP off a drained node. One move is not the
# leader's: when the edge on the holder is about to stop (its image changes, the node drains),
# the holder's own agent moves the IP away first and tells the edge (edge_handoff).
#
# Usage (the program runs `install` on every manager, the failover token on stdin, never in
# argv; changing the token or any setting runs it again in place):
#   failover-agent.sh install IP API_URL MANAGER_TAG [INTERVAL_S] [COOLDOWN_S] [FAIL_CHECKS] [PROBE_PORT]
#   failover-agent.sh run      the loop (what the service runs)
#   failover-agent.sh start    (re)starts the service from the installed files
#   failover-agent.sh remove   stops it and deletes the token, the settings and the agent
# The agent also removes itself once its node has left the swarm (scale-in), token included.
#
# Files: /etc/do-swarm/failover-token (0600, root), /etc/do-swarm/failover.conf,
# /usr/local/lib/do-swarm/failover-agent.sh; a systemd unit where systemd runs, else (a
# container, the lab) a detached loop with its pid in /run. Logs never contain the token: it
# reaches curl on its standard input, as a config line.
set -euo pipefail

ETC=${DO_SWARM_FAILOVER_ETC:-/etc/do-swarm}
LIB=${DO_SWARM_FAILOVER_LIB:-/usr/local/lib/do-swarm}
RUN_DIR=${DO_SWARM_FAILOVER_RUN:-/run}
TOKEN_FILE=$ETC/failover-token
CONF=$ETC/failover.conf
AGENT=$LIB/failover-agent.sh
UNIT=do-swarm-failover
UNIT_FILE=${DO_SWARM_FAILOVER_UNIT_DIR:-/etc/systemd/system}/$UNIT.service

log() { printf '%s failover-agent[%s]: %s\n' "$(date -u +%H:%M:%S.%3N)" "$(hostname)" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# The API back-off. DigitalOcean allows 250 requests a minute per token (5,000 an hour), and
# every manager uses the same token: a failure that persists (a refused call, an API outage)
# must not make each agent call every second. After a failed call no call is made until
# API_HOLD_MS (epoch ms): 1 s after the first failure in a row, doubling up to
# API_BACKOFF_MAX_S; after a 429, at least what DigitalOcean's retry-after (else its
# ratelimit-reset) says. api_ok, once a whole refresh or assign worked, resets it.
API_FAILS=0 API_HOLD_MS=0 API_BACKOFF_MAX_S=30

# api METHOD PATH [BODY]: one DigitalOcean API call. Sets API_STATUS (000: no answer; "held":
# not made, the back-off holds calls), API_BODY and API_HEADERS. The token goes to curl on stdin
# as a config line, never in its argv.
api() {
  local method=$1 path=$2 body=${3:-} out token
  API_HEADERS="" API_BODY=""
  if [ "$(now_ms)" -lt "$API_HOLD_MS" ]; then
    API_STATUS=held
    return
  fi
  local args=(-sS -K - -D - --max-time 10 -X "$method" -H 'Content-Type: application/json'
    -w '\n%{http_code}')
  [ -n "$body" ] && args+=(--data "$body")
  token=$(<"$TOKEN_FILE")
  if out=$(printf 'header = "Authorization: Bearer %s"\n' "$token" |
    curl "${args[@]}" "$API_URL/v2$path"); then
    API_STATUS=${out##*$'\n'}
    out=${out%$'\n'*}
    API_HEADERS=${out%%$'\r\n\r\n'*}
    API_BODY=${out#*$'\r\n\r\n'}
  else
    API_STATUS=000
  fi
  case "$API_STATUS" in 2??) ;; *) api_failed "$method $path" ;; esac
}

# header NAME: a header of the last answer (names are case-insensitive).
header() {
  awk -v k="$1" 'BEGIN { FS = ":[ \t]*" } tolower($1) == k { sub(/\r$/, "", $2); print $2 }' <<<"$API_HEADERS"
}

api_failed() {
  local now delay_ms wait
  now=$(now_ms)
  API_FAILS=$((API_FAILS + 1))
  delay_ms=$((API_BACKOFF_MAX_S * 1000))
  [ "$API_FAILS" -gt 15 ] || delay_ms=$(((1000 << (API_FAILS - 1)) < delay_ms ? 1000 << (API_FAILS - 1) : delay_ms))
  if [ "$API_STATUS" = 429 ]; then
    wait=$(header retry-after)
    if [[ $wait =~ ^[0-9]+$ ]]; then
      [ $((wait * 1000)) -le "$delay_ms" ] || delay_ms=$((wait * 1000))
    else
      wait=$(header ratelimit-reset)
      [[ ! $wait =~ ^[0-9]+$ ]] || [ $((wait * 1000 - now)) -le "$delay_ms" ] || delay_ms=$((wait * 1000 - now))
    fi
  fi
  API_HOLD_MS=$((now + delay_ms))
  log "$1 failed (HTTP $API_STATUS; $API_FAILS in a row): no API call for $((delay_ms / 1000)).$((delay_ms % 1000 / 100)) s"
}

api_ok() { API_FAILS=0 API_HOLD_MS=0; }

# api_wait: sleeps until the back-off lets a call through.
api_wait() {
  local ms=$((API_HOLD_MS - $(now_ms)))
  [ "$ms" -le 0 ] || sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
}

# json PYTHON_EXPR: evaluates EXPR with `d` = API_BODY parsed; prints the result (lists one item
# a line). python3 is on every Ubuntu droplet (cloud-init is written in it).
json() {
  printf '%s' "$API_BODY" | python3 -c '
import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print("\n".join(r) if isinstance(r, list) else ("" if r is None else r))
' "$1"
}

# now_ms: milliseconds since the epoch (bash 5's EPOCHREALTIME, whatever the locale's decimal mark).
now_ms() {
  local t=${EPOCHREALTIME//[!0-9]/}
  echo $((t / 1000))
}

# Every other manager is checked each round (probe_round): when it last answered on PROBE_PORT
# (HEARD, epoch ms; from when it was first checked if it never did) and how many checks in a row
# it has missed (FAILED), by private address. Every manager's, not just the holder's: a holder
# learnt late (the IP moved by someone else) comes with its history.
declare -A HEARD=() FAILED=()

# silent IP: whether the manager at IP has not answered for FAIL_CHECKS x INTERVAL_S seconds,
# with its last two checks or more missed (one lost connect is not a failure). Sets SILENT_MS.
silent() {
  [ -n "${HEARD[$1]:-}" ] || return 1
  SILENT_MS=$(($(now_ms) - HEARD[$1]))
  [ "${FAILED[$1]}" -ge 2 ] && [ "$SILENT_MS" -ge $((FAIL_CHECKS * INTERVAL_S * 1000)) ]
}

# answers HOST PORT: whether HOST accepts a TCP connection on PORT within a second.
answers() {
  timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

load_conf() {
  [ -r "$CONF" ] || die "no $CONF: run 'failover-agent.sh install' (the program does)"
  [ -r "$TOKEN_FILE" ] || die "no $TOKEN_FILE: run 'failover-agent.sh install' (the program does)"
  local k v
  while IFS='=' read -r k v; do
    case "$k" in
      IP) IP=$v ;;
      API_URL) API_URL=$v ;;
      TAG) TAG=$v ;;
      INTERVAL_S) INTERVAL_S=$v ;;
      COOLDOWN_S) COOLDOWN_S=$v ;;
      FAIL_CHECKS) FAIL_CHECKS=$v ;;
      PROBE_PORT) PROBE_PORT=$v ;;
    esac
  done <"$CONF"
}

# refresh: the holder and the cluster's managers, from the API. MANAGERS: "id name status ip"
# lines (ip: the private address); HOLDER_*: the holder's, empty when it is none of them.
refresh() {
  api GET "/reserved_ips/$IP"
  [ "$API_STATUS" != held ] || return 1
  if [ "$API_STATUS" != 200 ]; then
    log "reading reserved IP $IP failed (HTTP $API_STATUS): keeping the last view"
    return 1
  fi
  HOLDER_ID=$(json '(d["reserved_ip"].get("droplet") or {}).get("id")')
  api GET "/droplets?tag_name=$TAG&per_page=200"
  [ "$API_STATUS" != held ] || return 1
  if [ "$API_STATUS" != 200 ]; then
    log "listing the managers (tag $TAG) failed (HTTP $API_STATUS$([ "$API_STATUS" != 403 ] || echo ": the token lacks droplet:read or tag:read")): keeping the last view"
    return 1
  fi
  MANAGERS=$(json '[" ".join([str(x["id"]), x["name"], x["status"], next((n["ip_address"] for n in x["networks"]["v4"] if n["type"] == "private"), "-")]) for x in d["droplets"]]')
  HOLDER_NAME="" HOLDER_STATUS="" HOLDER_IP=""
  if [ -n "$HOLDER_ID" ]; then
    read -r _ HOLDER_NAME HOLDER_STATUS HOLDER_IP < <(awk -v id="$HOLDER_ID" '$1 == id' <<<"$MANAGERS") || true
    LAST_HOLDER_ID=$HOLDER_ID LAST_HOLDER_NAME=${HOLDER_NAME:-droplet $HOLDER_ID}
  fi
  LAST_REFRESH=$SECONDS
  api_ok
}

# leader_state: "leader", "follower", "out" (this node is no manager in a swarm: it left, or
# was demoted) or "unknown" (no answer in time). Time-limited: a follower's engine forwards the
# question to the leader, and without a leader it stalls until raft has elected one (seen in
# the lab: 20 s); a leader answers about itself at once.
leader_state() {
  local out
  if out=$(timeout 1.5 docker node inspect self --format '{{.ManagerStatus.Leader}}' 2>&1); then
    if [ "$out" = true ]; then echo leader; else echo follower; fi
    return
  fi
  case "$out" in
    *"not a swarm manager"* | *"not part of a swarm"*) echo out ;;
    *) echo unknown ;;
  esac
}

# probe_round: asks, all at once, whether this node leads (LEADER_STATE) and whether every
# other manager answers (probe's bookkeeping), so a round takes about a second whatever stalls.
probe_round() {
  local d=$RUN_DIR/do-swarm-failover.round id name status ip pids=() self
  self=$(hostname)
  rm -rf "$d"
  mkdir -p "$d"
  leader_state >"$d/leader" &
  pids+=($!)
  while read -r id name status ip; do
    if [ -z "$ip" ] || [ "$ip" = - ] || [ "$name" = "$self" ]; then continue; fi
    { if answers "$ip" "$PROBE_PORT"; then : >"$d/ok-$ip"; fi; } &
    pids+=($!)
  done <<<"$MANAGERS"
  wait "${pids[@]}" || true
  while read -r id name status ip; do
    if [ -z "$ip" ] || [ "$ip" = - ] || [ "$name" = "$self" ]; then continue; fi
    [ -n "${HEARD[$ip]:-}" ] || HEARD[$ip]=$(now_ms) FAILED[$ip]=0
    if [ -e "$d/ok-$ip" ]; then
      HEARD[$ip]=$(now_ms) FAILED[$ip]=0
    else
      FAILED[$ip]=$((${FAILED[$ip]:-0} + 1))
    fi
  done <<<"$MANAGERS"
  LEADER_STATE=$(cat "$d/leader" 2>/dev/null || echo unknown)
  rm -rf "$d"
}

# swarm_view: "hostname status availability manager-status" of every node, as the leader sees
# them (manager-status: Leader, Reachable, Unreachable; empty for workers). Nothing while the
# swarm has no leader: a follower's engine forwards the call to the leader.
swarm_view() {
  timeout 3 docker node ls --format '{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}' 2>/dev/null || true
}

# majority VIEW: prints "ANSWERING TOTAL LOWEST": how many of the cluster's active managers
# answered their last check, this node counted as answering; and the lowest name among the
# answering ones. The managers are the API's active droplets with the manager tag that are
# managers of the swarm in VIEW (a manager status: Leader, Reachable, Unreachable): a droplet
# not yet joined (a scale-out under way, an install that failed) is not one. Without a view,
# every active droplet with the tag. A manager that reaches no majority is cut off from the
# others (a partition, or its own network): it moves nothing, so two sides of a partition never
# fight over the IP.
majority() {
  local view=${1:-} self id name status ip n=0 total=0 lowest="" members
  self=$(hostname)
  members=" $(awk '$4 != "" { printf "%s ", $1 }' <<<"$view")"
  while read -r id name status ip; do
    if [ -z "$id" ] || [ "$status" != active ]; then continue; fi
    if [ "$members" != " " ] && [[ $members != *" $name "* ]]; then continue; fi
    total=$((total + 1))
    if [ "$name" = "$self" ] || [ "${FAILED[$ip]:-1}" = 0 ]; then
      n=$((n + 1))
      if [ -z "$lowest" ] || [[ $name < $lowest ]]; then lowest=$name; fi
    fi
  done <<<"$MANAGERS"
  echo "$n $total $lowest"
}

# why_not_serving VIEW: prints why the holder does not serve, nothing when it does.
why_not_serving() {
  local view=$1 st av
  if [ -z "$HOLDER_ID" ]; then
    # The IP fell off a droplet that is gone (deleted: DigitalOcean unassigns it) or off: move
    # it. Unassigned from a droplet that still runs, it was unassigned on purpose: `pulumi
    # destroy` (the provider unassigns, waits, then deletes the IP; an assign in between makes
    # the delete fail, 422) or by hand: leave it. So is an IP this agent never saw on a droplet.
    if [ -n "$LAST_HOLDER_ID" ] &&
      ! awk -v id="$LAST_HOLDER_ID" '$1 == id && $3 == "active" { f = 1 } END { exit !f }' <<<"$MANAGERS"; then
      echo "the reserved IP is on no droplet (it was on $LAST_HOLDER_NAME, which is gone)"
    fi
    return
  fi
  if [ -z "$HOLDER_NAME" ]; then
    echo "droplet $HOLDER_ID holds it but is no manager of this cluster (tag $TAG)"
    return
  fi
  if [ "$HOLDER_STATUS" != active ]; then
    echo "$HOLDER_NAME is $HOLDER_STATUS"
    return
  fi
  read -r _ st av _ < <(awk -v n="$HOLDER_NAME" '$1 == n' <<<"$view") || true
  case "${st:-}" in Down | Disconnected) echo "swarm reports $HOLDER_NAME $st" && return ;; esac
  case "${av:-}" in
    Drain) echo "$HOLDER_NAME is drained" && return ;;
    Pause) echo "$HOLDER_NAME is paused" && return ;;
  esac
  silence
}

# silence: prints that the holder has not answered for long enough, nothing otherwise.
silence() {
  [ -n "$HOLDER_NAME" ] || return 0
  if silent "$HOLDER_IP"; then
    echo "$HOLDER_NAME ($HOLDER_IP) has not answered on port $PROBE_PORT for $((SILENT_MS / 1000)).$((SILENT_MS % 1000 / 100)) s (${FAILED[$HOLDER_IP]} checks)"
  fi
}

# choose_target VIEW [PORT] [PREFERRED]: "id name" of the manager to move to: this node when it
# is Ready and Active, else the first other Ready, Active manager that answers (on PORT too,
# when given), one named in PREFERRED (space-separated) first; nothing when none does.
choose_target() {
  local view=$1 port=${2:-} preferred=${3:-} self id name status ip st av first="" pick
  if [ -n "$preferred" ]; then
    pick=$(choose_target "$(awk -v p=" $preferred " 'index(p, " " $1 " ")' <<<"$view")" "$port")
    if [ -n "$pick" ]; then
      echo "$pick"
      return
    fi
  fi
  self=$(hostname)
  while read -r id name status ip; do
    if [ -z "$id" ] || [ "$id" = "$HOLDER_ID" ] || [ "$status" != active ]; then continue; fi
    read -r _ st av _ < <(awk -v n="$name" '$1 == n' <<<"$view") || continue
    # This node runs and answers (it is the leader): only its availability counts. Right after
    # an election the new leader shows every node Unknown until their agents report again.
    if [ "$name" = "$self" ]; then
      if [ "$av" = Active ]; then
        echo "$id $name"
        return
      fi
      continue
    fi
    if [ "$st" != Ready ] || [ "$av" != Active ]; then continue; fi
    if [ -z "$first" ] && answers "$ip" "$PROBE_PORT" && { [ -z "$port" ] || answers "$ip" "$port"; }; then
      first="$id $name"
    fi
  done <<<"$MANAGERS"
  [ -z "$first" ] || echo "$first"
}

# The edge's volume on this node (components/edge/stack.ts: stack do-swarm-edge, volume
# edge_conf), where a stopping edge asks for the IP to be moved off the node (edge-caddy.sh).
EDGE_VOLUME=do-swarm-edge_edge_conf
EDGE_PORT=${EDGE_PORT:-80}
EDGE_DIR="" EDGE_DIR_AT=-100000

# edge_dir: finds the volume's directory (looked up at most every 30 s while there is none: a
# cluster without an edge costs a docker call per half minute); fails while there is none.
edge_dir() {
  if [ -n "$EDGE_DIR" ] && [ ! -d "$EDGE_DIR" ]; then EDGE_DIR=""; fi
  if [ -z "$EDGE_DIR" ] && [ $((SECONDS - EDGE_DIR_AT)) -ge 30 ]; then
    EDGE_DIR_AT=$SECONDS
    EDGE_DIR=$(timeout 2 docker volume inspect --format '{{.Mountpoint}}' "$EDGE_VOLUME" 2>/dev/null) || EDGE_DIR=""
    [ -z "$EDGE_DIR" ] || log "the edge's volume on this node: $EDGE_DIR (an edge stopping here asks there for $IP to move first)"
  fi
  [ -n "$EDGE_DIR" ]
}

# updated_edges: the nodes whose edge task (to run) has the edge service's current image.
updated_edges() {
  local want
  want=$(timeout 3 docker service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' do-swarm-edge_caddy 2>/dev/null) || return 0
  timeout 3 docker service ps do-swarm-edge_caddy --filter desired-state=running --no-trunc \
    --format '{{.Node}} {{.Image}}' 2>/dev/null | awk -v w="$want" '$2 == w { print $1 }' || true
}

# edge_handoff: this node's edge is stopping (SHARED_DIR/stopping, no SHARED_DIR/released yet):
# when this node holds the IP, it moves the IP to another manager that serves (choose_target
# skips the holder) before the edge stops, whoever leads: the edge serves until then, so its
# clients see no gap. Then it answers in SHARED_DIR/released, which lets the edge stop.
edge_handoff() {
  edge_dir || return 0
  [ -e "$EDGE_DIR/stopping" ] && [ ! -e "$EDGE_DIR/released" ] || return 0
  local answer view target
  refresh || true
  if [ "$HOLDER_NAME" != "$(hostname)" ]; then
    answer="this node does not hold $IP: nothing to move"
  else
    view=$(swarm_view)
    [ -n "$view" ] || view=$VIEW
    # A manager whose own edge answers (port 80, which every manager's edge publishes), and
    # one whose edge runs the new image already first: a rolling update of the edge then moves
    # the IP once, not once more when the manager it went to has its own edge replaced.
    target=$(choose_target "$view" "$EDGE_PORT" "$(updated_edges | paste -sd' ')")
    if [ -z "$target" ]; then
      answer="no other manager is Ready, Active and answering on port $EDGE_PORT: $IP stays on this node"
    else
      log "this node's edge is stopping: moving $IP to ${target#* } first"
      # shellcheck disable=SC2086 # "id name"
      if assign $target; then
        answer="moved $IP to ${target#* }"
      else
        answer="moving $IP to ${target#* } failed: it stays on this node"
      fi
      LAST_MOVE=$SECONDS
      refresh || true
    fi
  fi
  log "edge hand-off: $answer"
  # The volume may go meanwhile (the edge removed): never a reason for the agent to stop.
  { printf '%s\n' "$answer" >"$EDGE_DIR/.released.$$" &&
    mv -f "$EDGE_DIR/.released.$$" "$EDGE_DIR/released"; } 2>/dev/null ||
    log "could not answer the edge in $EDGE_DIR"
}

# wait_action ID: polls the action until it completes (0) or errors or times out (1).
wait_action() {
  local id=$1 status deadline=$((SECONDS + 120))
  while [ "$SECONDS" -lt "$deadline" ]; do
    api GET "/reserved_ips/$IP/actions/$id"
    if [ "$API_STATUS" = 200 ]; then
      status=$(json 'd["action"]["status"]')
      case "$status" in
        completed) return 0 ;;
        errored) log "action $id errored" && return 1 ;;
      esac
    fi
    # Half a second: the IP serves again the moment the action completes, and a move is rare
    # (DigitalOcean allows 250 requests a minute).
    sleep 0.5
  done
  log "action $id did not complete within 120 s"
  return 1
}

# assign ID NAME: assigns the IP to droplet ID and waits for it. A 422 means another action on
# the IP is pending (a resize hand-off, another manager's move): retried after 2 s, then 4, 8,
# 16 s (the back-off) for up to a minute, and given up when the IP meanwhile landed on another
# manager that serves.
assign() {
  local id=$1 name=$2 from=$HOLDER_ID action deadline=$((SECONDS + 60)) pause=2
  while [ "$SECONDS" -lt "$deadline" ]; do
    api_wait
    api POST "/reserved_ips/$IP/actions" "{\"type\":\"assign\",\"droplet_id\":$id}"
    case "$API_STATUS" in
      201 | 200)
        action=$(json 'd["action"]["id"]')
        log "assign action $action: $IP -> $name (droplet $id)"
        if wait_action "$action"; then
          api_ok
          log "$IP is on $name"
          return 0
        fi
        return 1
        ;;
      422)
        log "another action on $IP is pending (422): retrying in $pause s"
        sleep "$pause"
        pause=$((pause * 2 < 16 ? pause * 2 : 16))
        api_wait
        refresh || true
        if [ "$HOLDER_ID" = "$id" ]; then return 0; fi
        if [ -n "$HOLDER_ID" ] && [ "$HOLDER_ID" != "$from" ] && [ -n "$HOLDER_IP" ] &&
          answers "$HOLDER_IP" "$PROBE_PORT"; then
          log "$IP landed on $HOLDER_NAME meanwhile, which serves: leaving it there"
          return 0
        fi
        ;;
      401 | 403)
        log "the failover token was refused (HTTP $API_STATUS): assigning needs the scope reserved_ip:update (see README, \"The entry point\")"
        return 1
        ;;
      *) log "assign call failed (HTTP $API_STATUS): retrying once the API back-off lets it" ;;
    esac
  done
  return 1
}

wipe() {
  rm -f "$TOKEN_FILE" "$TOKEN_FILE.tmp" "$CONF" "$AGENT" "$AGENT.tmp"
}

stop_service() {
  if [ -d "$RUN_DIR/systemd/system" ]; then
    systemctl disable --now "$UNIT" >/dev/null 2>&1 || true
    rm -f "$UNIT_FILE"
    systemctl daemon-reload || true
  fi
  local pid
  pid=$(cat "$RUN_DIR/$UNIT.pid" 2>/dev/null) || pid=""
  if [ -n "$pid" ] && [ "$pid" != "$$" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$RUN_DIR/$UNIT.pid"
}

# remove_self: the token first, whatever happens next; then what `remove` does, in its order:
# stop and disable the service, then delete its files, then daemon-reload. Under systemd that
# runs in a transient unit of its own: stopping this unit kills every process in it, this one
# and a systemctl it waits on included, so nothing after the stop would run here (and
# Restart=always would restart an agent whose unit file is gone, every 2 s).
remove_self() {
  rm -f "$TOKEN_FILE" "$TOKEN_FILE.tmp"
  if [ -d "$RUN_DIR/systemd/system" ]; then
    if systemd-run --no-block --collect --unit="$UNIT-remove-$$" \
      --setenv=DO_SWARM_FAILOVER_ETC="$ETC" --setenv=DO_SWARM_FAILOVER_LIB="$LIB" \
      --setenv=DO_SWARM_FAILOVER_RUN="$RUN_DIR" \
      --setenv=DO_SWARM_FAILOVER_UNIT_DIR="${UNIT_FILE%/*}" \
      /bin/bash "$AGENT" remove >/dev/null 2>&1; then
      sleep 60 # stopped meanwhile
    fi
    log "the removal did not stop this service: stopping it from here"
    systemctl disable "$UNIT" >/dev/null 2>&1 || true
    wipe
    rm -f "$UNIT_FILE"
    systemctl daemon-reload || true
    systemctl stop --no-block "$UNIT" >/dev/null 2>&1 || true
    exit 0
  fi
  wipe
  rm -f "$RUN_DIR/$UNIT.pid"
  exit 0
}

cmd_run() {
  load_conf
  LAST_MOVE=-100000 LAST_REFRESH=-100000 HOLDER_ID="" HOLDER_NAME="" HOLDER_IP=""
  LAST_HOLDER_ID="" LAST_HOLDER_NAME=""
  HOLDER_STATUS="" MANAGERS="" VIEW="" VIEW_AT=-100000 SILENT_MS=0
  local was_leader=0 leader left=0 state view reason target decider answering total lowest
  # How old the view may be for a decision: 0 (read afresh) until a decision could not move the
  # IP (no majority, no manager to move to: it may take long), then doubling up to 30 s, so a
  # situation that persists does not cost two API calls a second; 0 again once the reason goes.
  local decide_age=0
  local leader_name leader_ip
  log "watching $IP (managers tagged $TAG, every ${INTERVAL_S}s, cool-down ${COOLDOWN_S}s)"
  while true; do
    probe_round
    leader=0
    [ "$LEADER_STATE" = leader ] && leader=1
    # Removed with the node: once it has left the swarm, the token has no business here.
    state=unknown
    if [ "$LEADER_STATE" = out ]; then
      state=$(timeout 2 docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null) || state=unknown
    fi
    if [ "$state" = inactive ]; then
      left=$((left + 1))
      if [ "$left" -ge 3 ]; then
        log "this node has left the swarm: removing the agent and its token"
        remove_self
      fi
    else
      left=0
    fi
    if { [ "$leader" = 1 ] && [ "$was_leader" = 0 ]; } ||
      [ $((SECONDS - LAST_REFRESH)) -ge $((leader ? 15 : 60)) ]; then
      refresh || true
      [ "$leader" = 1 ] && [ "$was_leader" = 0 ] && log "this node leads the swarm: it decides where $IP goes"
    fi
    edge_handoff
    # Who decides. The raft leader, on its own view of the swarm. But when the holder that went
    # silent was the leader itself, the swarm has no leader for 10-20 s (raft's election
    # timeout, which dockerd does not let us shorten: components/cloudInit.ts): then the
    # managers that are left apply one fixed rule instead of waiting, on the view they kept
    # from before: the lowest-named manager that answers decides, if the answering ones are a
    # majority. They all see the same silence and the same names, so exactly one decides; a
    # leader elected meanwhile finds the IP on a manager that serves, or its assign answered
    # 422 while this one's is pending (assign gives up then).
    decider="" reason=""
    if [ "$leader" = 1 ]; then
      view=$(swarm_view)
      [ -z "$view" ] || VIEW=$view VIEW_AT=$SECONDS
      reason=$(why_not_serving "$view")
      decider="the leader"
    else
      # Asked only while this node's engine answers (the swarm has a leader): a stale view is
      # what the rule below needs anyway.
      if [ "$LEADER_STATE" = follower ] && [ $((SECONDS - VIEW_AT)) -ge 5 ]; then
        view=$(swarm_view)
        [ -z "$view" ] || VIEW=$view VIEW_AT=$SECONDS
      fi
      view=$VIEW
      # The leader is watched too: when it goes silent, the holder is read again (a follower
      # reads it only every minute otherwise), so a leader that held the IP is known to.
      leader_name=$(awk '$4 == "Leader" { print $1 }' <<<"$VIEW")
      leader_ip=$(awk -v n="$leader_name" '$2 == n { print $4 }' <<<"$MANAGERS")
      if [ -n "$leader_name" ] && [ "$leader_name" != "$HOLDER_NAME" ] && silent "$leader_ip" &&
        [ $((SECONDS - LAST_REFRESH)) -ge 5 ]; then
        refresh || true
      fi
      if [ -n "$HOLDER_NAME" ] && [ "$HOLDER_NAME" = "$leader_name" ]; then
        # Only the silence counts: the kept view is from before the leader went.
        reason=$(silence)
        decider="the lowest-named manager left (the holder was the leader)"
      fi
    fi
    [ -n "$reason" ] || decide_age=0
    if [ -n "$reason" ] && [ $((SECONDS - LAST_MOVE)) -ge "$COOLDOWN_S" ]; then
      # Decide on a fresh view: the holder may have changed since the last refresh.
      [ $((SECONDS - LAST_REFRESH)) -lt "$decide_age" ] || refresh || true
      decide_age=$((decide_age * 2 < 30 ? (decide_age < 1 ? 1 : decide_age * 2) : 30))
      if [ "$leader" = 1 ]; then reason=$(why_not_serving "$view"); else reason=$(silence); fi
      read -r answering total lowest < <(majority "${view:-$VIEW}")
      if [ -z "$reason" ]; then
        :
      elif [ $((answering * 2)) -le "$total" ]; then
        log "$reason, but only $answering of $total managers answer here: moving nothing (cut off?)"
      elif [ "$leader" = 0 ] && [ "$lowest" != "$(hostname)" ]; then
        : # $lowest decides
      else
        target=$(choose_target "$view")
        if [ -z "$target" ]; then
          log "$reason, but no other manager is Ready, Active and answering: leaving $IP"
        else
          log "$reason: moving $IP to ${target#* } (decided by $decider)"
          # shellcheck disable=SC2086 # "id name"
          assign $target || log "moving $IP failed; trying again next round"
          LAST_MOVE=$SECONDS decide_age=0
          refresh || true
        fi
      fi
    elif [ -n "$reason" ] && [ "$leader" = 1 ]; then
      log "$reason, but the last move was $((SECONDS - LAST_MOVE)) s ago (cool-down ${COOLDOWN_S}s)"
    fi
    was_leader=$leader
    sleep "$INTERVAL_S"
  done
}

cmd_start() {
  load_conf
  stop_service
  if [ -d "$RUN_DIR/systemd/system" ]; then
    cat >"$UNIT_FILE" <<EOF
[Unit]
Description=do-swarm reserved IP failover agent
After=docker.service network-online.target
Wants=network-online.target

[Service]
ExecStart=/bin/bash $AGENT run
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
EOF
    systemctl daemon-reload
    systemctl enable --now "$UNIT" >/dev/null 2>&1
    systemctl restart "$UNIT"
  else
    # No systemd (a container, the lab): a detached loop; the next install or start replaces it.
    setsid nohup bash "$AGENT" run >>"$RUN_DIR/$UNIT.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/$UNIT.pid"
  fi
}

# read_check SCOPE WHAT PATH: one read call the agent will make; fails the install, naming the
# scope DigitalOcean requires for it (its OpenAPI specification), when the token is refused.
read_check() {
  local scope=$1 what=$2 path=$3
  api GET "$path"
  case "$API_STATUS" in
    200) ;;
    401) die "the failover token cannot $what (HTTP 401): not a valid token; $TOKEN_FIX" ;;
    403) die "the failover token cannot $what (HTTP 403, GET /v2${path%%&*}): it lacks the scope $scope; $TOKEN_FIX" ;;
    404) die "reserved IP $IP does not exist for this token's account (HTTP 404)" ;;
    429) die "the DigitalOcean API refused the check: rate limit exceeded (HTTP 429); run pulumi up again in a minute" ;;
    *) die "the DigitalOcean API at $API_URL did not answer (HTTP $API_STATUS)" ;;
  esac
}
TOKEN_FIX='create it as docs/entry-point.md, "The token", says (custom scopes: reserved_ip:update and tag:read ticked), then pulumi config set --secret failoverToken'

# check_reads: fails the step now, naming the missing scope, rather than leave an agent that can
# never move the IP: every read call the agent makes (the assign itself, reserved_ip:update,
# cannot be tried without moving the IP). The droplets are listed without the tag first, so a
# refusal of the tag names tag:read, not droplet:read.
check_reads() {
  local action
  read_check reserved_ip:read "read reserved IP $IP" "/reserved_ips/$IP"
  read_check droplet:read "list droplets" "/droplets?per_page=1"
  read_check tag:read "list the managers by their tag $TAG" "/droplets?tag_name=$TAG&per_page=200"
  read_check reserved_ip:read "read the actions of reserved IP $IP" "/reserved_ips/$IP/actions?per_page=1"
  action=$(json '(d.get("actions") or [{}])[0].get("id")')
  if [ -n "$action" ]; then
    read_check reserved_ip:read "read an action of reserved IP $IP" "/reserved_ips/$IP/actions/$action"
  fi
}

cmd_install() {
  [ "$#" -ge 3 ] || die "usage: failover-agent.sh install IP API_URL MANAGER_TAG [INTERVAL_S] [COOLDOWN_S] [FAIL_CHECKS] [PROBE_PORT] < token"
  IP=$1 API_URL=${2%/} TAG=$3 INTERVAL_S=${4:-1} COOLDOWN_S=${5:-30} FAIL_CHECKS=${6:-3}
  PROBE_PORT=${7:-2377}
  [[ $IP =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "IP '$IP' is not an IPv4 address"
  [[ $API_URL =~ ^https?://[A-Za-z0-9.:-]+$ ]] || die "API_URL '$API_URL' is not a base URL such as https://api.digitalocean.com"
  [[ $TAG =~ ^[A-Za-z0-9:_.-]+$ ]] || die "MANAGER_TAG '$TAG' is not a DigitalOcean tag"
  local n
  for n in "$INTERVAL_S" "$COOLDOWN_S" "$FAIL_CHECKS" "$PROBE_PORT"; do
    [[ $n =~ ^[0-9]+$ ]] || die "'$n' is not a whole number"
  done
  command -v curl >/dev/null || die "curl is missing (apt-get install curl)"
  command -v python3 >/dev/null || die "python3 is missing (apt-get install python3)"
  local token=""
  IFS= read -r token || true
  [ -n "$token" ] || die "no token on stdin (the program sends the failoverToken there)"

  umask 077
  mkdir -p "$ETC" "$LIB"
  chmod 700 "$ETC"
  # The new token is checked before it replaces the one a running agent reads on every call: one
  # that lacks a scope fails the step and leaves the running agent, its token and settings as
  # they were. Written beside and renamed: a running agent never reads a half-written file.
  local live=$TOKEN_FILE
  trap 'rm -f "$live.new"' EXIT
  printf '%s\n' "$token" >"$live.new"
  chmod 600 "$live.new"
  TOKEN_FILE=$live.new
  check_reads
  TOKEN_FILE=$live
  mv -f "$live.new" "$TOKEN_FILE"
  trap - EXIT
  printf '%s\n' "IP=$IP" "API_URL=$API_URL" "TAG=$TAG" "INTERVAL_S=$INTERVAL_S" \
    "COOLDOWN_S=$COOLDOWN_S" "FAIL_CHECKS=$FAIL_CHECKS" "PROBE_PORT=$PROBE_PORT" >"$CONF.tmp"
  mv -f "$CONF.tmp" "$CONF"
  # A new file, not an overwrite: bash reads a running script as it goes.
  cp "$0" "$AGENT.tmp"
  chmod 700 "$AGENT.tmp"
  mv -f "$AGENT.tmp" "$AGENT"

  cmd_start
  log "installed: watching $IP"
}

cmd_remove() {
  stop_service
  wipe
  log "removed"
}

case "${1:-}" in
  install)
    shift
    cmd_install "$@"
    ;;
  run) cmd_run ;;
  start) cmd_start ;;
  remove) cmd_remove ;;
  *) die "usage: failover-agent.sh install|run|start|remove (see the head of this file)" ;;
esac
