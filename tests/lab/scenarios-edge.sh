# shellcheck shell=bash disable=SC2016 # remote commands expand on the host, in single quotes here
# The edge scenarios (issue 11), sourced by run.sh after the others: the program's edge (Caddy,
# one per manager, host-mode port 80, TLS off: the lab has no ACME) in front of the lab's web
# service, with constant load through the entry point while the service and the nodes change.
# Each prints the load generator's line (`npm run loadtest`, the product's own), bounded in time
# and rate, sent only to the lab's reserved-IP stand-in.

LAB_EDGE_HOST=app.lab.test
LAB_EDGE_DOMAINS='[{"name": "app.lab.test", "zone": "lab.test"}]'
LAB_EDGE_ROUTES='{"routes": [{"host": "app.lab.test", "stack": "web", "service": "web", "port": 80}]}'
# Modest load: the machine's two cores run five engines too; what matters is failures.
LAB_LOAD_CONNECTIONS=${LAB_LOAD_CONNECTIONS:-4}
LAB_LOAD_RATE=${LAB_LOAD_RATE:-40}
# Upper bound of one load run; each is stopped (SIGTERM, which still prints its line) when the
# change it watches is over.
LAB_LOAD_MAX_SECONDS=${LAB_LOAD_MAX_SECONDS:-300}

# edge_plan NAME FILE [WORKERS]: the plan of the 3-manager cluster with the web stack from FILE
# and the edge routing app.lab.test to it.
edge_plan() {
  lab_plan "$1" --managers 3 --workers "${3:-2}" --stack "$LAB_STACK=$LAB_DIR/stacks/$2" \
    --domains "$LAB_EDGE_DOMAINS" --edge "$LAB_EDGE_ROUTES"
}

# edge_get_at ADDR HOST PATH: one request to ADDR:80 with that Host header (bash's /dev/tcp: no
# HTTP client needed on the machine); prints the body of a 200, fails on anything else.
edge_get_at() {
  local reply
  reply=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/80"; printf "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" "$3" "$2" >&3; cat <&3' \
    _ "$1" "$2" "$3" 2>/dev/null) || return 1
  [[ $reply == "HTTP/1."?" 200"* ]] || return 1
  printf '%s\n' "${reply##*$'\r\n\r\n'}"
}
# edge_get: one request for the lab domain through the entry point; prints the body.
edge_get() { edge_get_at "$LAB_RESERVED_STANDIN" "$LAB_EDGE_HOST" /; }
edge_serves() { [[ $(edge_get) == "do-swarm lab web $1" ]]; }

# load_start TAG: constant load on http://app.lab.test/ through the stand-in of the reserved IP,
# in the background, in its own session (so that it can be stopped alone). The name resolves
# through a hosts file bind-mounted in a private mount namespace: nothing on the machine changes.
# With LOAD_FRESH=1, a second client as well (TAG-fresh, --fresh-connections, 2 x 10 requests/s):
# it opens a connection only when it sends, so it tells a reset idle connection of the first
# client (which opens its next connection ahead of its next request) from a refused request.
load_start() {
  LOAD_TAG=$1
  printf '127.0.0.1 localhost\n%s %s\n' "$LAB_RESERVED_STANDIN" "$LAB_EDGE_HOST" >"$LAB_OUT/edge-hosts"
  LOAD_TAGS=("$LOAD_TAG") LOAD_PIDS=()
  # LOAD_TIMEOUT=S: the clients wait S seconds for an answer (default the generator's 2 s).
  load__spawn "$LOAD_TAG" --connections "$LAB_LOAD_CONNECTIONS" --rate "$LAB_LOAD_RATE" \
    ${LOAD_TIMEOUT:+--timeout-seconds "$LOAD_TIMEOUT"}
  if [[ ${LOAD_FRESH:-0} == 1 ]]; then
    LOAD_TAGS+=("$LOAD_TAG-fresh")
    load__spawn "$LOAD_TAG-fresh" --connections 2 --rate 20 --fresh-connections
  fi
  # In its own session, so a failed check or a signal ending the scenario must stop it too.
  trap 'load_signal' EXIT
  LOAD_T0=$(lab_now)
  sleep 3 # steady load before the change
}

# load__spawn TAG ARGS...: one load generator; its PID appended to LOAD_PIDS.
load__spawn() {
  local tag=$1
  shift
  rm -f "$LAB_OUT/$tag.pgid"
  # setsid forks when its caller leads a process group (job control is on here): --wait keeps
  # the PID alive until the load ends, and the session's leader writes its PID (= its process
  # group) for load_stop to signal.
  (
    cd "$LAB_REPO" || exit 1
    exec setsid --wait unshare --mount -- bash -c 'echo $$ >"$1" && mount --bind "$2" /etc/hosts && shift 2 && exec "$@"' \
      _ "$LAB_OUT/$tag.pgid" "$LAB_OUT/edge-hosts" npm run --silent loadtest -- "http://$LAB_EDGE_HOST/" \
      "$@" --seconds "$LAB_LOAD_MAX_SECONDS" --plot "$LAB_OUT/$tag.svg"
  ) >"$LAB_OUT/$tag.load" 2>"$LAB_OUT/$tag.load.err" &
  LOAD_PIDS+=($!)
}

# load_signal: SIGTERM to the loads' process groups (npm does not pass signals on; the load
# generator ends early on SIGTERM and still prints its line).
load_signal() {
  local pgid tag
  for tag in "${LOAD_TAGS[@]}"; do
    pgid=$(cat "$LAB_OUT/$tag.pgid" 2>/dev/null) || continue
    # (an if, not `&&`: under set -e a failed kill of a group already gone would end the shell)
    if [[ -n $pgid ]]; then kill -TERM -- "-$pgid" 2>/dev/null || true; fi
  done
}

# load_stop: stops the load (after a few steady seconds), prints its line; sets LOAD_FAILED and
# LOAD_OUTAGE_MS (and LOAD_FRESH_FAILED with LOAD_FRESH=1). Fails when a run ended by itself
# (its bound was too short for the change).
load_stop() {
  local line pid tag pgid k causes
  sleep 3
  for pid in "${LOAD_PIDS[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      fail "the load ended before the change did (raise LAB_LOAD_MAX_SECONDS)" || return 1
    fi
  done
  load_signal
  for pid in "${LOAD_PIDS[@]}"; do wait "$pid" || true; done
  for tag in "${LOAD_TAGS[@]}"; do
    # npm exits at once; the load generator prints its line as it ends (within its 2 s timeout).
    pgid=$(cat "$LAB_OUT/$tag.pgid" 2>/dev/null || true)
    for ((k = 0; k < 50; k++)); do
      if [[ -z $pgid ]] || ! kill -0 -- "-$pgid" 2>/dev/null; then break; fi
      sleep 0.2
    done
    line=$(grep -E '^loadtest: [0-9]+ requests' "$LAB_OUT/$tag.load" || true)
    if [[ -z $line ]]; then
      fail "no loadtest line: $(tail -n 3 "$LAB_OUT/$tag.load.err" | paste -sd'|')"
      return 1
    fi
    # Why requests failed (the load generator's stderr: ECONNRESET, ECONNREFUSED, timed out).
    causes=$(sed -n 's/^failed requests by cause: //p' "$LAB_OUT/$tag.load.err" 2>/dev/null || true)
    echo "    $tag ($(lab_since "$LOAD_T0") s): $line${causes:+ (failed: $causes)}"
    echo "$tag: $line${causes:+ (failed: $causes)}" >>"$LAB_OUT/edge-loadtests.log"
    if [[ $tag == "$LOAD_TAG" ]]; then
      LOAD_LINE=$line
      LOAD_FAILED=$(sed -n 's/.* requests, \([0-9]*\) failed,.*/\1/p' <<<"$line")
      LOAD_OUTAGE_MS=$(sed -n 's/.*longest outage \([0-9]*\) ms.*/\1/p' <<<"$line")
    else
      LOAD_FRESH_FAILED=$(sed -n 's/.* requests, \([0-9]*\) failed,.*/\1/p' <<<"$line")
    fi
  done
}

no_failed() {
  ((LOAD_FAILED == 0)) || fail "$LOAD_TAG: $LOAD_FAILED requests failed ($LOAD_LINE)"
}

scenario_edge_setup() {
  local i
  # After the day-two scenarios only manager-0 and worker-0 run; the others left the swarm and
  # were powered off. They come back as they are (out of the swarm) and join again.
  for i in $(seq 0 $(($(lab_count) - 1))); do
    lab_ssh "$i" true 2>/dev/null || lab_power_on "$i"
  done
  lab_add_address 0 "$LAB_RESERVED_STANDIN"
  edge_plan edge-v1 web-v1.yml
  lab_replay edge-v1 --plan "$LAB_OUT/edge-v1.json" --all || fail "bootstrap with the edge failed" || return 1
  cp "$LAB_OUT/edge-v1.json" "$LAB_OUT/current.json"
  settle check_nodes "${LAB_NAMES[@]}"
  settle check_managers 3
  check_service lab/web:v1
  local edges
  edges=$(m "docker service ps do-swarm-edge_caddy --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'" | grep -c Running || true)
  [[ $edges == 3 ]] || fail "want an edge on each of 3 managers, got $edges running" || return 1
  poll 60 edge_serves v1 || fail "the edge does not serve v1 at http://$LAB_EDGE_HOST/ through $LAB_RESERVED_STANDIN" || return 1
  note "the edge (one per manager) serves $LAB_EDGE_HOST through $LAB_RESERVED_STANDIN: $(edge_get)"
  # The web service publishes nothing: the edge reaches it over its network.
  [[ -z $(m "docker service inspect --format '{{range .Endpoint.Ports}}{{.PublishedPort}}{{end}}' $LAB_SERVICE") ]] ||
    fail "$LAB_SERVICE publishes a port" || return 1
}

scenario_edge_rolling_update() {
  edge_plan edge-v2 web-v2.yml
  load_start edge-update-v1-v2
  lab_replay edge-v2 --plan "$LAB_OUT/edge-v2.json" --prev "$LAB_OUT/current.json" ||
    fail "the update to v2 failed" || return 1
  cp "$LAB_OUT/edge-v2.json" "$LAB_OUT/current.json"
  load_stop || return 1
  check_service lab/web:v2
  edge_serves v2 || fail "the edge does not serve v2 after the update" || return 1
  no_failed
}

scenario_edge_rollback() {
  edge_plan edge-v3 web-v3-crash.yml
  load_start edge-crash-v3-rollback
  if lab_replay edge-v3 --plan "$LAB_OUT/edge-v3.json" --prev "$LAB_OUT/current.json"; then
    fail "the deploy of the crashing image exited 0"
    return 1
  fi
  load_stop || return 1
  check_service lab/web:v2
  edge_serves v2 || fail "the edge does not serve v2 after the rollback" || return 1
  no_failed
}

# What a node's sudden death may cost (decided in components/edge/caddyfile.ts, PROXY_TIMING):
# nothing for a request not yet sent to its tasks; a GET already sent to one is answered by
# another task once the edge's response-header timeout (30 s) ran out; any other method already
# sent to one gets 504 after that timeout. This judges exactly that, every run: slow requests
# (3 s) are surely in flight on every task, the victim's too, when it dies.
LAB_DEATH_HEADER_TIMEOUT=30
scenario_edge_worker_lost() {
  local victim="" tasks=0 w
  # A worker holding web tasks (lab-worker-1 first). A node that comes back gets no task of its
  # own (swarm does not rebalance): when a run before left no worker with one, spread them again.
  for w in lab-worker-1 lab-worker-0 rebalance lab-worker-1 lab-worker-0; do
    if [[ $w == rebalance ]]; then
      m "docker service update --force --detach=false --quiet $LAB_SERVICE" >/dev/null ||
        fail "could not spread $LAB_SERVICE again" || return 1
      continue
    fi
    tasks=$(m "docker node ps --filter desired-state=running -q $w" | wc -l)
    if ((tasks > 0)); then
      victim=$w
      break
    fi
  done
  [[ -n $victim ]] || fail "no worker runs a web task" || return 1
  poll 120 full_strength || fail "$LAB_SERVICE is not at full strength before the power-off" || return 1
  # The steady load's clients wait long enough for a GET caught on the dead node to be retried.
  LOAD_TIMEOUT=$((LAB_DEATH_HEADER_TIMEOUT + 25)) load_start edge-worker-powered-off
  local probes=$LAB_OUT/death-probes
  rm -rf "$probes"
  mkdir -p "$probes"
  death_probes "$probes" GET 10
  death_probes "$probes" POST 10
  sleep 1 # every probe is in its task's 3 s
  lab_power_off "$victim"
  note "$victim (holding $tasks task(s) of $LAB_SERVICE) powered off without warning, with 20 slow requests in flight"
  # Until swarm sees the node Down and starts its tasks elsewhere, and a while after.
  local ok=1
  poll 90 full_strength_running || fail "$LAB_SERVICE did not get back to $LAB_REPLICAS running tasks" || ok=0
  wait_probes "$probes" 20 $((LAB_DEATH_HEADER_TIMEOUT * 2 + 20)) || ok=0
  sleep 5
  load_stop || ok=0
  # Back on in any case: the next scenario resizes every node.
  lab_power_on "$victim"
  ((ok)) || return 1
  note "worker lost: $LOAD_FAILED failed requests, longest outage $LOAD_OUTAGE_MS ms (goal: 0 failed; a GET caught on the dead node waits out the ${LAB_DEATH_HEADER_TIMEOUT} s header timeout)"
  judge_death_probes "$probes" || ok=0
  settle check_nodes "${LAB_NAMES[@]}"
  no_failed
  ((ok))
}

# death_probes DIR METHOD N: N requests of METHOD to the web's 3 s endpoint through the edge, in
# the background; each writes "CODE SECONDS" to DIR/METHOD-i.
death_probes() {
  local dir=$1 method=$2 n=$3 i body=()
  [[ $method == GET ]] || body=(--data x=1)
  for ((i = 0; i < n; i++)); do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 120 -X "$method" "${body[@]}" \
      --resolve "$LAB_EDGE_HOST:80:$LAB_RESERVED_STANDIN" "http://$LAB_EDGE_HOST/cgi-bin/slow" \
      >"$dir/$method-$i" 2>/dev/null &
  done
}

# wait_probes DIR N SECONDS: until N probes wrote their line.
wait_probes() {
  local dir=$1 n=$2 limit=$3 deadline=$((SECONDS + $3))
  until [[ $(cat "$dir"/* 2>/dev/null | grep -c '^[0-9]') -ge $n ]]; do
    ((SECONDS < deadline)) || fail "the slow probes did not all end within $limit s" || return 1
    sleep 1
  done
}

# judge_death_probes DIR: every GET answered 200; every POST 200, or 504 after the header timeout
# (not before, not much after); at least one probe met the dead node (else nothing was judged).
judge_death_probes() {
  local dir=$1 f code secs caught=0 ok=1 gets=() posts=()
  for f in "$dir"/GET-* "$dir"/POST-*; do
    read -r code secs <"$f"
    secs=${secs%.*}
    case ${f##*/} in
    GET-*)
      gets+=("$code/${secs}s")
      [[ $code == 200 ]] || { fail "a GET in flight at the death answered $code after $secs s (want 200)"; ok=0; }
      ((secs < LAB_DEATH_HEADER_TIMEOUT - 1)) || caught=$((caught + 1))
      ;;
    POST-*)
      posts+=("$code/${secs}s")
      if [[ $code == 504 ]]; then
        caught=$((caught + 1))
        ((secs >= LAB_DEATH_HEADER_TIMEOUT - 1 && secs <= LAB_DEATH_HEADER_TIMEOUT + 10)) ||
          { fail "a POST got 504 after $secs s (want the ${LAB_DEATH_HEADER_TIMEOUT} s header timeout)"; ok=0; }
      elif [[ $code != 200 ]]; then
        fail "a POST in flight at the death answered $code after $secs s (want 200, or 504 after the header timeout)"
        ok=0
      fi
      ;;
    esac
  done
  note "slow GETs in flight at the death: ${gets[*]}"
  note "slow POSTs in flight at the death: ${posts[*]}"
  ((caught > 0)) || { fail "no slow request met the dead node: the death was not exercised"; ok=0; }
  note "$caught slow request(s) met the dead node: GETs retried after the header timeout, POSTs 504"
  echo "edge-worker-powered-off probes: GET ${gets[*]}; POST ${posts[*]}" >>"$LAB_OUT/edge-loadtests.log"
  ((ok))
}

# Running tasks on Ready nodes only: `docker service ls` still counts the lost node's task.
full_strength_running() {
  [[ $(m "docker service ps $LAB_SERVICE --filter desired-state=running --format '{{.CurrentState}}'" | grep -c '^Running') == "$LAB_REPLICAS" ]]
}

# A rolling resize of every node by the program's hooks (maintenance.ts, as scenario 6), one
# node per run of the driver, with its own load run, so each node has its own figure. The node
# holding the entry point hands the reserved IP's stand-in to another manager first.
scenario_edge_rolling_resize() {
  local node holder_failed="" others=()
  poll 120 full_strength || fail "$LAB_SERVICE is not at full strength before the resize" || return 1
  local fresh_failed=""
  for node in "${LAB_NAMES[@]}"; do
    # On the node holding the entry point, a second client that opens connections only as it
    # sends: it tells a reset idle connection from a lost request (load_start).
    if [[ $node == lab-manager-0 ]]; then LOAD_FRESH=1 load_start "edge-resize-$node"; else load_start "edge-resize-$node"; fi
    "${LAB_TSNODE[@]}" "$LAB_DIR/maintenance.ts" --hosts "$LAB_RUN/hosts.json" --only "$node" \
      --key "$LAB_KEY" --reserved-ip "$LAB_RESERVED_STANDIN" --service "$LAB_SERVICE" \
      --replicas "$LAB_REPLICAS" | sed 's/^/  /' || fail "the resize of $node did not keep its guarantees" || return 1
    poll 120 full_strength || fail "$LAB_SERVICE is not back at full strength after $node" || return 1
    load_stop || return 1
    if [[ $node == lab-manager-0 ]]; then
      holder_failed=$LOAD_FAILED fresh_failed=$LOAD_FRESH_FAILED
    elif ((LOAD_FAILED > 0)); then
      others+=("$node: $LOAD_FAILED failed")
    fi
  done
  note "the node holding the entry point (lab-manager-0): $holder_failed failed requests (goal 0); the client opening connections as it sends: $fresh_failed failed"
  ((${#others[@]} == 0)) || fail "requests failed while resizing ${others[*]}"
}

# The edge's tasks of service SVC (caddy, config) that should run: "NODE TASK_ID", sorted.
edge_tasks() {
  m "docker service ps do-swarm-edge_$1 --filter desired-state=running --format '{{.Node}} {{.ID}}'" | sort
}
LAB_EDGE_MANAGERS=(lab-manager-0 lab-manager-1 lab-manager-2)
# edge_route_at HOST: the manager's own edge (its lab address, not the entry point) serves the
# route that the self-update adds.
edge_route_at() { [[ $(edge_get_at "$(lab_public "$(lab_index "$1")")" next.lab.test /version) == v2 ]]; }

# edge_refused_bundle PLAN: the edge's deploy bundle of PLAN with one site more in its
# Caddyfile (and the docker config renamed for the new content, as the renderer names it), one
# that `caddy validate` accepts and Caddy cannot load: it binds an address no node has. The
# renderer never writes such a file; this stands in for whatever a validator misses.
edge_refused_bundle() {
  node -e '
const fs = require("fs");
const crypto = require("crypto");
const plan = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const files = new Map(plan.commands.find((c) => c.name.endsWith("-edge-deploy")).stdin
  .split("\n").filter((l) => l !== "").map((l) => l.split(" ")).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));
const name = (t) => "caddyfile_" + crypto.createHash("sha256").update(t).digest("hex").slice(0, 12);
const old = files.get("Caddyfile");
const refused = old + "\nhttp://refused.lab.test {\n\tbind 10.99.99.99\n\trespond \"never\"\n}\n";
files.set("Caddyfile", refused);
files.set("stack.yml", files.get("stack.yml").split(name(old)).join(name(refused)));
for (const [k, v] of files) process.stdout.write(`${k} ${Buffer.from(v).toString("base64")}\n`);
' "$1"
}
# edge_installed HOST: the Caddyfile installed in HOST's edge volume.
edge_installed() {
  lab_ssh "$1" 'cat "$(docker volume inspect -f "{{.Mountpoint}}" do-swarm-edge_edge_conf)/Caddyfile"'
}
# plan_caddyfile PLAN: the Caddyfile the plan deploys.
plan_caddyfile() {
  node -e '
const plan = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const line = plan.commands.find((c) => c.name.endsWith("-edge-deploy")).stdin.split("\n").find((l) => l.startsWith("Caddyfile "));
process.stdout.write(Buffer.from(line.split(" ")[1], "base64").toString());
' "$1"
}

# An update of the edge itself, under the same load through the entry point.
# 1. A new route (next.lab.test/version): a new Caddyfile, so new tasks of the config service,
#    which every manager's Caddy reloads in place: judged, 0 failed requests, the same Caddy
#    tasks before and after, and the new route served by each manager's own edge.
# 2. A Caddyfile that `caddy validate` accepts and Caddy cannot load (edge_refused_bundle),
#    deployed by stack-deploy.sh: judged, the deploy fails naming the config service, swarm
#    rolls it back, every manager's volume holds the previous file again, the same Caddy tasks
#    still serve the routes, 0 failed requests.
# 3. A new edge image (the same image under a second name): the caddy service's spec changes and
#    its tasks are replaced, one manager at a time, stop-first (a host port is one task's per
#    node). Measured, not judged: on the manager holding the entry point this is a short gap
#    (README, "Domains and HTTPS"); the line says how short.
scenario_edge_self_update() {
  local domains routes h before after
  domains='[{"name": "app.lab.test", "zone": "lab.test"}, {"name": "next.lab.test", "zone": "lab.test"}]'
  routes='"routes": [{"host": "app.lab.test", "stack": "web", "service": "web", "port": 80}, {"host": "next.lab.test", "stack": "web", "service": "web", "port": 80, "path": "/version"}]'
  lab_plan edge-route2 --managers 3 --workers 2 --stack "$LAB_STACK=$LAB_DIR/stacks/web-v2.yml" \
    --domains "$domains" --edge "{$routes}"
  for h in "${LAB_EDGE_MANAGERS[@]}"; do
    if edge_route_at "$h"; then fail "$h's edge serves next.lab.test/version before the update" || return 1; fi
  done
  before=$(edge_tasks caddy)
  [[ $(wc -l <<<"$before") == 3 ]] || fail "want 3 Caddy tasks, got: $before" || return 1
  local configs_before
  configs_before=$(edge_tasks config)
  load_start edge-route-reload
  lab_replay edge-route2 --plan "$LAB_OUT/edge-route2.json" --prev "$LAB_OUT/current.json" ||
    fail "the edge's update failed" || return 1
  cp "$LAB_OUT/edge-route2.json" "$LAB_OUT/current.json"
  load_stop || return 1
  after=$(edge_tasks caddy)
  [[ $after == "$before" ]] ||
    fail "the route change replaced Caddy tasks: before [$(paste -sd' ' <<<"$before")], after [$(paste -sd' ' <<<"$after")]" || return 1
  [[ $(edge_tasks config) != "$configs_before" ]] || fail "the route change did not replace the config tasks" || return 1
  for h in "${LAB_EDGE_MANAGERS[@]}"; do
    edge_route_at "$h" || fail "$h's edge does not serve next.lab.test/version after the update" || return 1
  done
  edge_serves v2 || fail "the updated edge does not serve v2" || return 1
  note "a new route, reloaded in place: $LOAD_FAILED failed requests, longest outage $LOAD_OUTAGE_MS ms; the same 3 Caddy tasks; the new route served by each manager's edge"
  no_failed || return 1

  local want
  want=$(plan_caddyfile "$LAB_OUT/current.json" | sha256sum)
  edge_refused_bundle "$LAB_OUT/current.json" >"$LAB_OUT/edge-refused.bundle"
  lab_ssh 0 'cat >/tmp/lab-stack-deploy.sh' <"$LAB_REPO/components/stacks/scripts/stack-deploy.sh"
  load_start edge-refused-config
  if lab_ssh 0 bash /tmp/lab-stack-deploy.sh do-swarm-edge 300 <"$LAB_OUT/edge-refused.bundle" \
    >"$LAB_OUT/edge-refused.log" 2>&1; then
    fail "the deploy of a Caddyfile Caddy cannot load exited 0" || return 1
  fi
  load_stop || return 1
  sed 's/^/      | /' "$LAB_OUT/edge-refused.log" | grep -E 'FAILED|ERROR' | head -n 3
  grep -q 'FAILED do-swarm-edge_config: update rollback completed' "$LAB_OUT/edge-refused.log" ||
    fail "the refused deploy did not fail on a rolled-back config service: $(tail -n 3 "$LAB_OUT/edge-refused.log" | paste -sd'|')" || return 1
  after=$(edge_tasks caddy)
  [[ $after == "$before" ]] || fail "the refused Caddyfile replaced Caddy tasks" || return 1
  for h in "${LAB_EDGE_MANAGERS[@]}"; do
    [[ $(edge_installed "$h" | sha256sum) == "$want" ]] || fail "$h's edge volume does not hold the previous Caddyfile again" || return 1
    edge_route_at "$h" || fail "$h's edge does not serve next.lab.test/version after the rollback" || return 1
  done
  note "a Caddyfile Caddy cannot load: the deploy failed, rolled back, the previous file back on every manager, the same Caddy tasks; $LOAD_FAILED failed requests"
  no_failed || return 1

  local image=lab/edge:retagged
  for h in "${LAB_EDGE_MANAGERS[@]}"; do
    lab_ssh "$h" docker tag "$LAB_EDGE_IMAGE" "$image" || fail "docker tag on $h failed" || return 1
  done
  lab_plan edge-image2 --managers 3 --workers 2 --stack "$LAB_STACK=$LAB_DIR/stacks/web-v2.yml" \
    --domains "$domains" --edge "{$routes, \"image\": \"$image\"}"
  load_start edge-image-change
  lab_replay edge-image2 --plan "$LAB_OUT/edge-image2.json" --prev "$LAB_OUT/current.json" ||
    fail "the edge's image update failed" || return 1
  cp "$LAB_OUT/edge-image2.json" "$LAB_OUT/current.json"
  load_stop || return 1
  after=$(edge_tasks caddy)
  [[ $after != "$before" ]] || fail "the image change did not replace the Caddy tasks" || return 1
  note "a new edge image (every manager's Caddy replaced in turn, stop-first): $LOAD_FAILED failed requests, longest outage $LOAD_OUTAGE_MS ms (measured, not judged)"
  poll 30 edge_serves v2 || fail "the edge does not serve v2 after its image change" || return 1
  for h in "${LAB_EDGE_MANAGERS[@]}"; do
    poll 30 edge_route_at "$h" || fail "$h's edge does not serve next.lab.test/version after the image change" || return 1
  done
}

# The edge updated where the reserved IP points, with the failover agents of the front door
# (runs after scenarios 26-29, which installed them). A new edge image replaces every manager's
# Caddy in turn, stop-first; the one on the holder first asks its node's agent to move the IP
# (edge-caddy.sh, failover-agent.sh edge_handoff) and serves until it is moved, closing its
# connections meanwhile. Judged: 0 failed requests through the IP, and the IP moved by the
# holder's own agent before its edge stopped. Then the front door's plan again (the edge
# removed while the agents run), for the scenario after this one.
scenario_edge_handoff() {
  local image=lab/edge:handoff h before after holder moves=0 k log
  local fd=(--managers 3 --workers 1 --stack "front=$LAB_DIR/stacks/front.yml"
    --stack "$LAB_STACK=$LAB_DIR/stacks/web-v2.yml" --reserved-ip "$FD_IP"
    --failover-token-file "$FD_TOKEN_FILE" --api-url "$FD_API_URL" --domains "$LAB_EDGE_DOMAINS")
  lab_plan edge-fd1 "${fd[@]}" --edge "$LAB_EDGE_ROUTES"
  grep -q -- '-failover-agent"' "$LAB_OUT/edge-fd1.json" || fail "the plan has no failover agent" || return 1
  lab_replay edge-fd1 --plan "$LAB_OUT/edge-fd1.json" --prev "$LAB_OUT/current.json" ||
    fail "deploying the edge next to the front door failed" || return 1
  cp "$LAB_OUT/edge-fd1.json" "$LAB_OUT/current.json"
  poll 90 edge_serves v2 || fail "the edge does not serve v2 through $FD_IP" || return 1
  # An agent looks for the edge's volume every 30 s while there is none.
  for h in "${FD_MANAGERS[@]}"; do
    poll 60 lab_ssh "$h" "grep -q \"the edge's volume on this node\" $FD_AGENT_LOG" ||
      fail "$h's agent did not find the edge's volume" || return 1
  done
  holder=$(fd_holder)
  [[ -n $holder ]] || fail "the reserved IP is on no droplet" || return 1
  note "the edge serves through $FD_IP, held by $(lab_name "$holder"); every agent found its node's edge volume"
  for h in "${FD_MANAGERS[@]}"; do
    lab_ssh "$h" docker tag "$LAB_EDGE_IMAGE" "$image" || fail "docker tag on $h failed" || return 1
  done
  before=$(edge_tasks caddy)
  lab_plan edge-fd2 "${fd[@]}" --edge "${LAB_EDGE_ROUTES%\}}, \"image\": \"$image\"}"
  # The edge's deploy runs over manager-0's own address: the move would cut a session to the IP.
  local deploy_host
  deploy_host=$(python3 -c 'import json, sys; print(next(c["host"] for c in json.load(open(sys.argv[1]))["commands"] if c["name"] == "lab-edge-deploy"))' "$LAB_OUT/edge-fd2.json")
  [[ $deploy_host == "$(lab_public 0)" ]] ||
    fail "the edge's deploy runs on $deploy_host, not on manager-0's own address $(lab_public 0)" || return 1
  LOAD_FRESH=1 load_start edge-image-handoff
  lab_replay edge-fd2 --plan "$LAB_OUT/edge-fd2.json" --prev "$LAB_OUT/current.json" ||
    fail "the edge's image update failed" || return 1
  cp "$LAB_OUT/edge-fd2.json" "$LAB_OUT/current.json"
  load_stop || return 1
  after=$(edge_tasks caddy)
  [[ $after != "$before" ]] || fail "the image change did not replace the Caddy tasks" || return 1
  for k in 0 1 2; do
    log=$(lab_ssh "$k" "cat $FD_AGENT_LOG" 2>/dev/null) || continue
    printf '%s\n' "$log" >"$LAB_OUT/fd-agent-$(lab_name "$k").log"
    moves=$((moves + $(grep -c "edge hand-off: moved $FD_IP" <<<"$log" || true)))
    grep "edge hand-off: " <<<"$log" | sed "s/^/      $(lab_name "$k"): /" || true
  done
  ((moves >= 1)) || fail "no agent moved the IP before its edge stopped (the holder's edge was replaced too)" || return 1
  note "a new edge image with the agents: $moves hand-off(s) of the IP before an edge stopped; $LOAD_FAILED failed requests, longest outage $LOAD_OUTAGE_MS ms; the client opening connections as it sends: $LOAD_FRESH_FAILED failed"
  [[ $(fd_address_hosts) == "$(lab_name "$(fd_holder)") " ]] ||
    fail "the IP's address is on [$(fd_address_hosts)], the API says $(lab_name "$(fd_holder)")" || return 1
  # Judged: nothing refused (a refusal is an edge that stopped where the IP pointed). What a move
  # itself can cut, at most once per connection per move: a connection held open and idle at
  # that instant (reset by the new holder, which never saw it: the keep-alive client opens its
  # next connection ahead of its next request), or a request in flight at that instant (the
  # client that connects as it sends: 0 in most runs, once a request that timed out).
  local tag causes
  for tag in edge-image-handoff edge-image-handoff-fresh; do
    causes=$(sed -n 's/^failed requests by cause: //p' "$LAB_OUT/$tag.load.err")
    [[ $causes != *ECONNREFUSED* ]] || fail "$tag: connections refused ($causes)" || return 1
  done
  ((LOAD_FAILED <= LAB_LOAD_CONNECTIONS * moves)) ||
    fail "edge-image-handoff: $LOAD_FAILED failed, more than one per connection ($LAB_LOAD_CONNECTIONS) per move ($moves)" || return 1
  ((LOAD_FRESH_FAILED <= 2 * moves)) ||
    fail "edge-image-handoff-fresh: $LOAD_FRESH_FAILED failed, more than one per connection (2) per move ($moves)" || return 1

  lab_replay edge-gone --plan "$LAB_OUT/frontdoor.json" --prev "$LAB_OUT/current.json" ||
    fail "removing the edge and the web stack again failed" || return 1
  cp "$LAB_OUT/frontdoor.json" "$LAB_OUT/current.json"
  [[ -z $(m "docker service ls -q --filter label=com.docker.stack.namespace=do-swarm-edge") ]] ||
    fail "the edge's services are still there" || return 1
  poll 30 curl -sf -o /dev/null --max-time 2 "$FD_URL" || fail "nothing answers on $FD_URL after the edge went" || return 1
}
