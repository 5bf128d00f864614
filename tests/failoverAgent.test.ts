/**
 * The failover agent (components/entryPoint/scripts/failover-agent.sh) as it runs: real bash, curl and
 * python3, against the lab's DigitalOcean API stand-in (in process) and stand-ins for `docker`
 * and `hostname`; the managers' swarm ports are listeners on 127.0.0.x. The lab runs the same
 * script on real managers; these pin down its decisions, loopback only.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { spawn, spawnSync } from "child_process";
import { DoApiStandIn, startDoApi } from "./lab/do-api";
import { readmeScopes } from "./lab/readme-scopes";
import { ENTRY_POINT_SCRIPTS as SCRIPTS_DIR } from "../components/entryPoint/entryPointPlan";
import { EDGE_STACK } from "../components/edge/routes";

const TOKEN = "dop_v1_agent-test-token";
const IP = "10.77.0.100";
const AGENT = path.join(SCRIPTS_DIR, "failover-agent.sh");

// docker: the leader flag, the node list and the local state come from files under $FAKE. Out
// of the swarm, node commands fail as docker's do ("This node is not a swarm manager").
const FAKE_DOCKER = String.raw`#!/usr/bin/env bash
# A "stall" file: no leader, so a follower's engine holds node commands (until raft elects one).
case "$1 $2" in "node inspect" | "node ls") if [ -e "$FAKE/stall" ]; then sleep 30; fi ;; esac
case "$1 $2" in
  "node inspect")
    if [ "$(cat "$FAKE/state")" = inactive ]; then echo "This node is not a swarm manager." >&2; exit 1; fi
    cat "$FAKE/leader" ;;
  "node ls") cat "$FAKE/nodes" ;;
  "info --format") cat "$FAKE/state" ;;
  # The edge's caddy service: its spec's image and its tasks ("node image" lines).
  "service inspect") if [ -e "$FAKE/edge-image" ]; then cat "$FAKE/edge-image"; else echo "Error: no such service" >&2; exit 1; fi ;;
  "service ps") if [ -e "$FAKE/edge-tasks" ]; then cat "$FAKE/edge-tasks"; else echo "Error: no such service" >&2; exit 1; fi ;;
  # The edge's volume ($FAKE_EDGE_VOLUME, as the edge stack names it): $FAKE/edge once deployed.
  "volume inspect")
    for name; do :; done # the last argument: the volume's name
    if [ "$name" = "$FAKE_EDGE_VOLUME" ] && [ -d "$FAKE/edge" ]; then echo "$FAKE/edge"; else echo "Error response from daemon: get $name: no such volume" >&2; exit 1; fi ;;
  *) echo "fake docker: unexpected: $*" >&2; exit 99 ;;
esac
`;

// systemd, as far as the agent's service goes: the unit's process group stands for its cgroup
// (a stop kills every process in it, a systemctl the agent runs included). Every call is logged
// with whether the unit file exists at that moment.
const FAKE_SYSTEMCTL = String.raw`#!/usr/bin/env bash
unit=$FAKE_UNIT_DIR/do-swarm-failover.service
echo "systemctl $* (unit file $([ -e "$unit" ] && echo present || echo absent))" >>"$FAKE/systemd.log"
pidf=$FAKE/unit.pid
stop() { if [ -e "$pidf" ]; then pid=$(cat "$pidf"); rm -f "$pidf"; kill -- "-$pid" 2>/dev/null; fi; return 0; }
start() {
  stop
  [ -e "$unit" ] || { echo "Unit do-swarm-failover.service not found." >&2; exit 5; }
  # shellcheck disable=SC2046
  setsid $(sed -n 's/^ExecStart=//p' "$unit") >>"$FAKE/unit.log" 2>&1 </dev/null &
  echo $! >"$pidf"
}
case "$*" in
  "enable --now do-swarm-failover" | "restart do-swarm-failover") start ;;
  "disable --now do-swarm-failover" | "stop do-swarm-failover") stop ;;
  "stop --no-block do-swarm-failover") stop & ;;
esac
`;
// A transient unit: outside the service's process group. ("@{" stands for a shell "${".)
const FAKE_SYSTEMD_RUN = String.raw`#!/usr/bin/env bash
echo "systemd-run $*" >>"$FAKE/systemd.log"
while [ "@{1#--}" != "$1" ]; do
  case "$1" in --setenv=*) export "@{1#--setenv=}" ;; esac
  shift
done
setsid "$@" >>"$FAKE/transient.log" 2>&1 </dev/null &
`.replace(/@\{/g, "${");

interface Rig {
  dir: string;
  fake: string;
  env: NodeJS.ProcessEnv;
  api: DoApiStandIn;
  servers: net.Server[];
  /** The environments of otherAgent's agents. */
  others: NodeJS.ProcessEnv[];
  write(name: string, text: string): void;
  log(): string;
  posts(): string[];
}

/**
 * Managers m0 (this node, 127.0.0.1), m1 (127.0.0.2), m2 (127.0.0.3); the IP on `holder`; the
 * swarm port answers on `listening`, the edge's port on `edgeListening` (default: the same).
 */
async function rig(
  holder: number,
  listening: number[],
  actionSeconds = 1,
  edgeListening = listening,
  /** Droplets with the manager tag: m0, m1, ... */
  managers = 3,
): Promise<Rig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-agent-"));
  const fake = path.join(dir, "fake");
  const bin = path.join(dir, "bin");
  for (const d of [fake, bin, "etc", "lib", "run", "units"].map((d) => path.resolve(dir, d))) {
    fs.mkdirSync(d, { recursive: true });
  }
  fs.writeFileSync(path.join(bin, "docker"), FAKE_DOCKER, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, "systemctl"), FAKE_SYSTEMCTL, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, "systemd-run"), FAKE_SYSTEMD_RUN, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, "hostname"), '#!/bin/sh\ncat "$FAKE/hostname"\n', {
    mode: 0o755,
  });
  const write = (name: string, text: string) => fs.writeFileSync(path.join(fake, name), text);
  write("hostname", "m0\n");
  write("leader", "true\n");
  write("state", "active\n");
  write("nodes", "m0 Ready Active\nm1 Ready Active\nm2 Ready Active\n");
  // One port for all: a free one, then a listener per healthy manager's address.
  const freePort = async () => {
    const probe = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => probe.once("listening", r));
    const p = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    return p;
  };
  const [port, edgePort] = [await freePort(), await freePort()];
  const listen = (p: number, i: number) =>
    new Promise<net.Server>((resolve) => {
      const s = net.createServer((c) => c.end()).listen(p, `127.0.0.${i + 1}`, () => resolve(s));
    });
  const servers = await Promise.all([
    ...listening.map((i) => listen(port, i)),
    ...edgeListening.map((i) => listen(edgePort, i)),
  ]);
  const api = await startDoApi({
    token: TOKEN,
    actionSeconds,
    droplets: [...Array(managers).keys()].map((i) => ({
      id: 100 + i,
      name: `m${i}`,
      tags: ["c", "c-manager"],
      publicIp: `203.0.113.${i + 1}`,
      privateIp: `127.0.0.${i + 1}`,
    })),
    reservedIps: [{ ip: IP, region: "fra1", dropletId: 100 + holder }],
  });
  const env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    FAKE: fake,
    DO_SWARM_FAILOVER_ETC: path.join(dir, "etc"),
    DO_SWARM_FAILOVER_LIB: path.join(dir, "lib"),
    DO_SWARM_FAILOVER_RUN: path.join(dir, "run"),
    PROBE_PORT: String(port),
    EDGE_PORT: String(edgePort),
    // Used by the stand-in systemd only (run/systemd/system absent: no systemd).
    DO_SWARM_FAILOVER_UNIT_DIR: path.join(dir, "units"),
    FAKE_UNIT_DIR: path.join(dir, "units"),
    // The name the edge stack gives its node-local volume edge_conf (stack name + "_").
    FAKE_EDGE_VOLUME: `${EDGE_STACK}_edge_conf`,
  };
  return {
    dir,
    fake,
    env,
    api,
    servers,
    others: [],
    write,
    log: () => {
      try {
        return fs.readFileSync(path.join(dir, "run", "do-swarm-failover.log"), "utf8");
      } catch {
        return "";
      }
    },
    posts: () => api.calls.filter((c) => c.startsWith("POST ")),
  };
}

/**
 * Installs the agent as the program does (token on stdin) with fast test settings. Async: the
 * stand-in answers from this process's event loop.
 */
function install(
  r: Rig,
  token = TOKEN,
  env = r.env,
): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      "bash",
      [AGENT, "install", IP, r.api.url, "c-manager", "1", "4", "2", String(r.env.PROBE_PORT)],
      { env, stdio: ["pipe", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (status) => resolve({ status, stderr }));
    child.stdin.end(`${token}\n`);
  });
}

/**
 * Another manager's agent on the same stand-in and swarm ports: its own files and its own
 * `docker`/`hostname` answers (a copy of this rig's, then `name` and `leader`). Removed by
 * teardown.
 */
async function otherAgent(r: Rig, name: string, leader: boolean) {
  const dir = fs.mkdtempSync(path.join(r.dir, `${name}-`));
  const fake = path.join(dir, "fake");
  fs.cpSync(r.fake, fake, { recursive: true });
  fs.writeFileSync(path.join(fake, "hostname"), `${name}\n`);
  fs.writeFileSync(path.join(fake, "leader"), `${leader}\n`);
  for (const d of ["etc", "lib", "run"]) fs.mkdirSync(path.join(dir, d));
  const env = {
    ...r.env,
    FAKE: fake,
    DO_SWARM_FAILOVER_ETC: path.join(dir, "etc"),
    DO_SWARM_FAILOVER_LIB: path.join(dir, "lib"),
    DO_SWARM_FAILOVER_RUN: path.join(dir, "run"),
  };
  r.others.push(env);
  expect((await install(r, TOKEN, env)).status).toBe(0);
}

async function teardown(r: Rig) {
  for (const env of r.others) spawnSync("bash", [AGENT, "remove"], { env });
  spawnSync("bash", [AGENT, "remove"], { env: r.env });
  await r.api.close();
  await Promise.all(r.servers.map((s) => new Promise((res) => s.close(res))));
  fs.rmSync(r.dir, { recursive: true, force: true });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms: number): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(200)) if (cond()) return true;
  return cond();
}

const haveTools = ["curl", "python3"].every(
  (t) => spawnSync("sh", ["-c", `command -v ${t}`]).status === 0,
);
const describeIfTools = haveTools ? describe : describe.skip;

describeIfTools("failover agent", () => {
  test("install: root-only token, settings, a copy of itself, running; the token in no argv or log", async () => {
    const r = await rig(0, [0, 1, 2]);
    try {
      const res = await install(r);
      expect(res.stderr).toContain("installed: watching 10.77.0.100");
      expect(res.status).toBe(0);
      const token = path.join(r.dir, "etc", "failover-token");
      expect(fs.readFileSync(token, "utf8")).toBe(`${TOKEN}\n`);
      expect(fs.statSync(token).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.join(r.dir, "etc")).mode & 0o777).toBe(0o700);
      expect(fs.readFileSync(path.join(r.dir, "etc", "failover.conf"), "utf8")).toContain(
        `API_URL=${r.api.url}\n`,
      );
      expect(fs.existsSync(path.join(r.dir, "lib", "failover-agent.sh"))).toBe(true);
      const pid = fs.readFileSync(path.join(r.dir, "run", "do-swarm-failover.pid"), "utf8").trim();
      expect(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8")).not.toContain(TOKEN);
      await sleep(2500);
      expect(r.log()).toContain("watching 10.77.0.100");
      expect(r.log()).not.toContain(TOKEN);
      // A healthy holder: nothing moves.
      expect(r.posts()).toEqual([]);
    } finally {
      await teardown(r);
    }
  });

  test("install fails with the fix when the token is refused, and with no token", async () => {
    const r = await rig(0, [0]);
    try {
      const bad = await install(r, "wrong-token");
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toContain(
        "the failover token cannot read reserved IP 10.77.0.100 (HTTP 401)",
      );
      expect(bad.stderr).toContain("reserved_ip:update");
      expect(bad.stderr).not.toContain("wrong-token");
      const none = await install(r, "");
      expect(none.stderr).toContain("no token on stdin");
    } finally {
      await teardown(r);
    }
  });

  test("install: a token without tag:read fails the step, naming the scope; one with exactly the README's scopes moves the IP", async () => {
    const r = await rig(1, [0, 2]); // m1 holds the IP and answers nothing
    try {
      const scopes = readmeScopes();
      expect(scopes).toEqual(expect.arrayContaining(["reserved_ip:update", "tag:read"]));
      r.api.setScopes(scopes.filter((s) => s !== "tag:read"));
      const bad = await install(r);
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toContain(
        "the failover token cannot list the managers by their tag c-manager (HTTP 403, GET /v2/droplets?tag_name=c-manager): it lacks the scope tag:read",
      );
      r.api.setScopes(scopes.filter((s) => s !== "droplet:read"));
      expect((await install(r)).stderr).toContain("it lacks the scope droplet:read");
      r.api.setScopes(scopes.filter((s) => s !== "reserved_ip:read"));
      expect((await install(r)).stderr).toContain("it lacks the scope reserved_ip:read");
      r.api.setScopes(scopes);
      const good = await install(r);
      expect(good.stderr).toContain("installed: watching 10.77.0.100");
      expect(await until(() => r.api.holder(IP) === 100, 15000)).toBe(true);
      expect(r.api.statuses.filter((s) => s === 403)).toHaveLength(3);
    } finally {
      await teardown(r);
    }
  }, 30000);

  test("install with a token DigitalOcean refuses: the step fails, the running agent keeps its token and settings", async () => {
    const r = await rig(0, [0, 1, 2]);
    try {
      expect((await install(r)).status).toBe(0);
      const tokenFile = path.join(r.dir, "etc", "failover-token");
      const conf = fs.readFileSync(path.join(r.dir, "etc", "failover.conf"), "utf8");
      const bad = await install(r, "not-the-token");
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toContain("(HTTP 401): not a valid token");
      expect(bad.stderr).toContain('create it as docs/entry-point.md, "The token", says');
      // The live token and settings are the ones of the last good install; no candidate left.
      expect(fs.readFileSync(tokenFile, "utf8")).toBe(`${TOKEN}\n`);
      expect(fs.readFileSync(path.join(r.dir, "etc", "failover.conf"), "utf8")).toBe(conf);
      expect(fs.readdirSync(path.join(r.dir, "etc")).sort()).toEqual([
        "failover-token",
        "failover.conf",
      ]);
    } finally {
      await teardown(r);
    }
  }, 30000);

  test("the leader moves the IP off a holder that stops answering, to itself, once", async () => {
    const r = await rig(1, [0, 2]); // m1 holds the IP and answers nothing
    try {
      expect((await install(r)).status).toBe(0);
      expect(await until(() => r.api.holder(IP) === 100, 15000)).toBe(true);
      expect(r.posts()).toEqual([
        `POST /v2/reserved_ips/${IP}/actions {"type":"assign","droplet_id":100}`,
      ]);
      expect(r.log()).toMatch(
        /m1 \(127\.0\.0\.2\) has not answered on port \d+ for \d+\.\d s \([2-9] checks\): moving 10\.77\.0\.100 to m0/,
      );
      // It waited on the action (polled until completed).
      expect(await until(() => r.log().includes("10.77.0.100 is on m0"), 5000)).toBe(true);
      // m1 comes back: the IP stays where it is.
      await sleep(6000);
      expect(r.posts()).toHaveLength(1);
    } finally {
      await teardown(r);
    }
  });

  /** The API calls the stand-in receives in `seconds` from now, printed. */
  async function callsIn(r: Rig, seconds: number, what: string): Promise<string[]> {
    const n0 = r.api.calls.length;
    await sleep(seconds * 1000);
    const calls = r.api.calls.slice(n0);
    const refused = r.api.statuses.slice(n0).filter((s) => s >= 400).length;
    console.log(`${what}: ${calls.length} API calls in ${seconds} s (${refused} refused)`);
    return calls;
  }

  test("a refused call that persists for a minute costs the cluster (3 managers) at most 60 API calls", async () => {
    const r = await rig(0, [0, 1, 2]);
    try {
      r.write(
        "nodes",
        "m0 Ready Active Leader\nm1 Ready Active Reachable\nm2 Ready Active Reachable\n",
      );
      expect((await install(r)).status).toBe(0);
      await otherAgent(r, "m1", false);
      await otherAgent(r, "m2", false);
      // The token loses tag:read: every listing of the managers is refused from now on.
      r.api.setScopes(readmeScopes().filter((s) => s !== "tag:read"));
      const calls = await callsIn(r, 60, "tag listing refused, 3 agents");
      expect(calls.length).toBeLessThanOrEqual(60);
      expect(calls.filter((c) => c.startsWith("GET /v2/droplets?tag_name")).length).toBeGreaterThan(
        0,
      );
      expect(r.log()).toMatch(/no API call for (16|30)\.0 s/);
    } finally {
      await teardown(r);
    }
  }, 90000);

  test("every other manager drained for a minute: the cluster (3 managers) makes at most 60 API calls", async () => {
    const r = await rig(1, [0, 1, 2]);
    try {
      r.write(
        "nodes",
        "m0 Ready Drain Leader\nm1 Ready Drain Reachable\nm2 Ready Drain Reachable\n",
      );
      expect((await install(r)).status).toBe(0);
      await otherAgent(r, "m1", false);
      await otherAgent(r, "m2", false);
      const calls = await callsIn(r, 60, "holder drained, no manager to move to, 3 agents");
      expect(calls.length).toBeLessThanOrEqual(60);
      expect(r.log()).toContain(
        "m1 is drained, but no other manager is Ready, Active and answering",
      );
      expect(r.posts()).toEqual([]);
    } finally {
      await teardown(r);
    }
  }, 90000);

  test("a 429: no API call until DigitalOcean's retry-after has passed", async () => {
    const r = await rig(0, [0, 1, 2]);
    try {
      expect((await install(r)).status).toBe(0);
      await sleep(1500);
      // The minute's budget is spent: the next call gets 429 with retry-after ~60 s.
      r.api.setRateLimit({ perMinute: 1, perHour: 5000 });
      const seen = r.api.statuses.length;
      expect(await until(() => r.api.statuses.slice(seen).includes(429), 20000)).toBe(true);
      const calls = await callsIn(r, 10, "after a 429 with retry-after ~60 s");
      expect(calls).toEqual([]);
      // Longer than the back-off's cap (30 s): what retry-after said (60 s after the last call).
      const held = /failed \(HTTP 429; 1 in a row\): no API call for (\d+)\.\d s/.exec(r.log());
      expect(Number(held?.[1])).toBeGreaterThan(30);
    } finally {
      await teardown(r);
    }
  }, 45000);

  test("pulumi destroy with the agents running: the IP's unassign is left alone and its DELETE meets no 422", async () => {
    const r = await rig(1, [0, 1, 2], 3); // every action takes 3 s
    try {
      expect((await install(r)).status).toBe(0);
      await sleep(2000);
      // The provider's delete of the ReservedIp: unassign, poll the action until it completes
      // (every 2 s here), then DELETE.
      const call = (method: string, p: string, body?: object) =>
        fetch(`${r.api.url}${p}`, {
          method,
          headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      const started = await call("POST", `/v2/reserved_ips/${IP}/actions`, { type: "unassign" });
      expect(started.status).toBe(201);
      const { action } = (await started.json()) as { action: { id: number } };
      for (let status = ""; status !== "completed";) {
        await sleep(2000);
        const a = await call("GET", `/v2/reserved_ips/${IP}/actions/${action.id}`);
        status = ((await a.json()) as { action: { status: string } }).action.status;
      }
      // The window: the agents run on. A leader reads the IP every 15 s; the DELETE comes 2 s
      // after its first read since the unassign completed (the test's own polls read the action).
      const done = r.api.calls.length;
      const read = `GET /v2/reserved_ips/${IP}`;
      expect(await until(() => r.api.calls.slice(done).includes(read), 20000)).toBe(true);
      await sleep(2000);
      const deleted = await call("DELETE", `/v2/reserved_ips/${IP}`);
      expect(deleted.status).toBe(204);
      expect(r.posts()).toEqual([`POST /v2/reserved_ips/${IP}/actions {"type":"unassign"}`]);
    } finally {
      await teardown(r);
    }
  }, 45000);

  test("the IP fell off a droplet that is gone (deleted): the leader moves it", async () => {
    const r = await rig(1, [0, 2]);
    try {
      r.write("nodes", "m0 Ready Active Leader\nm2 Ready Active Reachable\n");
      expect((await install(r)).status).toBe(0);
      await sleep(2000);
      // m1 deleted: DigitalOcean unassigns its IP.
      r.api.setDroplets(
        [0, 2].map((i) => ({
          id: 100 + i,
          name: `m${i}`,
          tags: ["c", "c-manager"],
          publicIp: `203.0.113.${i + 1}`,
          privateIp: `127.0.0.${i + 1}`,
        })),
      );
      r.api.assignNow(IP, undefined);
      expect(await until(() => r.api.holder(IP) === 100, 25000)).toBe(true);
      expect(r.log()).toContain("the reserved IP is on no droplet (it was on m1, which is gone)");
    } finally {
      await teardown(r);
    }
  }, 35000);

  test("a follower watches but never acts", async () => {
    const r = await rig(1, [0, 2]);
    try {
      r.write("leader", "false\n");
      expect((await install(r)).status).toBe(0);
      await sleep(5000);
      expect(r.posts()).toEqual([]);
      // Elected: it acts at once on what it saw as a follower.
      r.write("leader", "true\n");
      expect(await until(() => r.api.holder(IP) === 100, 8000)).toBe(true);
    } finally {
      await teardown(r);
    }
  });

  test("a drained holder loses the IP; a drained leader hands it to another manager that answers", async () => {
    const r = await rig(1, [0, 1, 2]);
    try {
      r.write("nodes", "m0 Ready Drain\nm1 Ready Drain\nm2 Ready Active\n");
      expect((await install(r)).status).toBe(0);
      expect(await until(() => r.api.holder(IP) === 102, 10000)).toBe(true);
      expect(r.log()).toContain("m1 is drained: moving 10.77.0.100 to m2");
    } finally {
      await teardown(r);
    }
  });

  test("a pending action (422) is retried until it is done", async () => {
    const r = await rig(1, [0, 2], 6);
    try {
      // Someone else's action (6 s long) is in progress when the agent decides.
      await fetch(`${r.api.url}/v2/reserved_ips/${IP}/actions`, {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify({ type: "assign", droplet_id: 101 }),
      });
      expect((await install(r)).status).toBe(0);
      expect(await until(() => r.api.holder(IP) === 100, 25000)).toBe(true);
      expect(r.log()).toContain("another action on 10.77.0.100 is pending (422): retrying in 2 s");
    } finally {
      await teardown(r);
    }
  }, 40000);

  // The holder was the raft leader: the swarm has none until raft's election (10-20 s), and
  // this node's engine does not answer node commands meanwhile (leader "false": a follower).
  const leaderWasHolder =
    "m0 Ready Active Reachable\nm1 Ready Active Leader\nm2 Ready Active Reachable\n";

  test("the holder was the leader: the lowest-named manager left moves the IP without waiting for an election", async () => {
    const r = await rig(1, [0, 2]);
    try {
      r.write("leader", "false\n");
      r.write("nodes", leaderWasHolder);
      expect((await install(r)).status).toBe(0);
      // It read the swarm's view while it had a leader; now the leader is gone too.
      await sleep(1500);
      r.write("nodes", "");
      expect(await until(() => r.api.holder(IP) === 100, 10000)).toBe(true);
      expect(r.log()).toMatch(
        /m1 \(127\.0\.0\.2\) has not answered .*: moving 10\.77\.0\.100 to m0 \(decided by the lowest-named manager left \(the holder was the leader\)\)/,
      );
      expect(r.posts()).toHaveLength(1);
    } finally {
      await teardown(r);
    }
  }, 20000);

  test("the holder was the leader: the decision is not held up by an engine that stalls without a leader", async () => {
    const r = await rig(1, [0, 2]);
    try {
      r.write("leader", "false\n");
      r.write("nodes", leaderWasHolder);
      expect((await install(r)).status).toBe(0);
      await sleep(1500);
      r.write("stall", "");
      const t0 = Date.now();
      expect(await until(() => r.api.holder(IP) === 100, 15000)).toBe(true);
      // 2 s of silence (test settings), checks every ~1.5 s, the assign action 1 s.
      expect(Date.now() - t0).toBeLessThan(7000);
    } finally {
      await teardown(r);
    }
  }, 25000);

  test("the holder was the leader: a manager left that is not the lowest-named one defers", async () => {
    const r = await rig(1, [0, 2]);
    try {
      r.write("hostname", "m2\n");
      r.write("leader", "false\n");
      r.write("nodes", leaderWasHolder);
      expect((await install(r)).status).toBe(0);
      await sleep(8000);
      expect(r.posts()).toEqual([]);
      expect(r.api.holder(IP)).toBe(101);
    } finally {
      await teardown(r);
    }
  }, 20000);

  test("a 3 -> 7 scale-out, the 4 new managers not yet in the swarm: the majority is of the swarm's 3 managers, and the IP moves", async () => {
    const r = await rig(1, [0, 2], 1, [0, 2], 7); // m1 (the holder) silent; m3-m6 not joined
    try {
      r.write(
        "nodes",
        "m0 Ready Active Leader\nm1 Ready Active Reachable\nm2 Ready Active Reachable\n",
      );
      expect((await install(r)).status).toBe(0);
      expect(await until(() => r.api.holder(IP) === 100, 15000)).toBe(true);
      expect(r.log()).not.toContain("managers answer here: moving nothing");
      expect(r.posts()).toHaveLength(1);
    } finally {
      await teardown(r);
    }
  }, 25000);

  test("a manager that reaches no majority of the managers moves nothing, leader or not", async () => {
    const r = await rig(1, [0]); // m1 (the holder) and m2 silent: cut off from both
    try {
      expect((await install(r)).status).toBe(0);
      expect(
        await until(
          () => r.log().includes("but only 1 of 3 managers answer here: moving nothing"),
          8000,
        ),
      ).toBe(true);
      r.write("leader", "false\n");
      r.write("nodes", leaderWasHolder);
      await sleep(4000);
      expect(r.posts()).toEqual([]);
    } finally {
      await teardown(r);
    }
  }, 20000);

  // The edge on this node is stopping (edge-caddy.sh writes `stopping` in its volume and waits
  // for `released`, serving meanwhile).
  const edgeVolume = (r: Rig) => {
    const dir = path.join(r.fake, "edge");
    fs.mkdirSync(dir);
    return dir;
  };
  /** What edge-caddy.sh does on SIGTERM; the agent's answer, or undefined after `ms`. */
  async function stopEdge(dir: string, ms = 10000): Promise<string | undefined> {
    fs.writeFileSync(path.join(dir, "stopping"), "now\n");
    const released = path.join(dir, "released");
    return (await until(() => fs.existsSync(released), ms))
      ? fs.readFileSync(released, "utf8")
      : undefined;
  }

  test("the edge on the holder is stopping: the holder's own agent moves the IP first, then answers", async () => {
    const r = await rig(0, [0, 1, 2]); // m0, this node, holds the IP; all answer
    try {
      r.write("leader", "false\n"); // whoever leads: the holder's agent moves it
      const edge = edgeVolume(r);
      expect((await install(r)).status).toBe(0);
      await sleep(2000);
      expect(r.posts()).toEqual([]);
      const answer = await stopEdge(edge);
      // The answer comes only once the move is done: the edge may stop then.
      expect(r.api.holder(IP)).toBe(101);
      expect(answer).toBe("moved 10.77.0.100 to m1\n");
      expect(r.posts()).toEqual([
        `POST /v2/reserved_ips/${IP}/actions {"type":"assign","droplet_id":101}`,
      ]);
      expect(r.log()).toContain("this node's edge is stopping: moving 10.77.0.100 to m1 first");
      await sleep(3000);
      expect(r.posts()).toHaveLength(1);
    } finally {
      await teardown(r);
    }
  }, 25000);

  test("the edge on the holder is stopping: the IP goes to a manager whose own edge answers", async () => {
    const r = await rig(0, [0, 1, 2], 1, [0, 2]); // m1's swarm port answers, its edge does not
    try {
      const edge = edgeVolume(r);
      expect((await install(r)).status).toBe(0);
      await sleep(1500);
      expect(await stopEdge(edge)).toBe("moved 10.77.0.100 to m2\n");
      expect(r.api.holder(IP)).toBe(102);
    } finally {
      await teardown(r);
    }
  }, 20000);

  test("the edge on the holder is stopping in a rolling update: the IP goes to a manager whose edge is updated already", async () => {
    const r = await rig(0, [0, 1, 2]);
    try {
      const edge = edgeVolume(r);
      r.write("edge-image", "caddy:2.12@sha256:new\n");
      // m2 was updated; m1 still runs the old image (and is next, or last).
      r.write(
        "edge-tasks",
        "m0 caddy:2.12@sha256:new\nm1 caddy:2.11@sha256:old\nm2 caddy:2.12@sha256:new\n",
      );
      expect((await install(r)).status).toBe(0);
      await sleep(1500);
      // Not m1, the first that answers: its edge is yet to be replaced.
      expect(await stopEdge(edge)).toBe("moved 10.77.0.100 to m2\n");
      expect(r.api.holder(IP)).toBe(102);
      expect(r.posts()).toHaveLength(1);
    } finally {
      await teardown(r);
    }
  }, 20000);

  test("the edge on a manager that does not hold the IP is stopping: answered at once, nothing moves", async () => {
    const r = await rig(1, [0, 1, 2]);
    try {
      const edge = edgeVolume(r);
      expect((await install(r)).status).toBe(0);
      await sleep(1500);
      const t0 = Date.now();
      expect(await stopEdge(edge, 5000)).toBe(
        "this node does not hold 10.77.0.100: nothing to move\n",
      );
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(r.posts()).toEqual([]);
      expect(r.api.holder(IP)).toBe(101);
    } finally {
      await teardown(r);
    }
  }, 15000);

  test("under systemd, once its node has left the swarm: stopped and disabled first, then its files deleted, then daemon-reload", async () => {
    const r = await rig(0, [0, 1, 2]);
    try {
      fs.mkdirSync(path.join(r.dir, "run", "systemd", "system"), { recursive: true });
      const unitFile = path.join(r.dir, "units", "do-swarm-failover.service");
      expect((await install(r)).status).toBe(0);
      expect(fs.existsSync(unitFile)).toBe(true);
      const pid = Number(fs.readFileSync(path.join(r.fake, "unit.pid"), "utf8"));
      const systemd = () => {
        try {
          return fs.readFileSync(path.join(r.fake, "systemd.log"), "utf8").trim().split("\n");
        } catch {
          return [];
        }
      };
      const before = systemd().length;
      r.write("state", "inactive\n");
      expect(
        await until(
          () =>
            systemd()
              .slice(before)
              .some((l) => l.includes("daemon-reload")),
          15000,
        ),
      ).toBe(true);
      await sleep(500);
      expect(
        systemd()
          .slice(before)
          .map((l) => l.replace(/-remove-\d+/, "-remove-N")),
      ).toEqual([
        expect.stringMatching(/^systemd-run .*--unit=do-swarm-failover-remove-N .* remove$/),
        "systemctl disable --now do-swarm-failover (unit file present)",
        "systemctl daemon-reload (unit file absent)",
      ]);
      expect(fs.existsSync(unitFile)).toBe(false);
      for (const f of ["etc/failover-token", "etc/failover.conf", "lib/failover-agent.sh"])
        expect([f, fs.existsSync(path.join(r.dir, f))]).toEqual([f, false]);
      // Stopped: gone, or a zombie nobody reaps here (its parent, the stand-in systemctl, left).
      const state = fs.existsSync(`/proc/${pid}`)
        ? /\) (\w)/.exec(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))?.[1]
        : "gone";
      expect(["gone", "Z"]).toContain(state);
    } finally {
      await teardown(r);
    }
  }, 30000);

  test("once its node has left the swarm, the agent removes itself and the token", async () => {
    const r = await rig(0, [0, 1, 2]);
    try {
      expect((await install(r)).status).toBe(0);
      r.write("state", "inactive\n");
      const token = path.join(r.dir, "etc", "failover-token");
      expect(await until(() => !fs.existsSync(token), 8000)).toBe(true);
      expect(fs.existsSync(path.join(r.dir, "lib", "failover-agent.sh"))).toBe(false);
      expect(r.log()).toContain("this node has left the swarm: removing the agent and its token");
    } finally {
      await teardown(r);
    }
  });
});
