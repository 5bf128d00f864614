// The edge's two scripts (components/edge/scripts/edge-caddy.sh, edge-config.sh), run for real under
// busybox sh (the shell of the Caddy image) against a stand-in `caddy` first on PATH, whose
// health endpoint this test serves. The lab runs the same scripts in the real image on a swarm;
// these pin down the paths it cannot bring about on demand (a refused file, a reload that fails,
// a Caddy that never loads, a Caddy that exits). tests/edgeReload.test.ts runs the wrapper with
// the real Caddy.
import { ChildProcess, spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { EDGE_SCRIPTS as SCRIPTS_DIR } from "../components/edge/stack";
// The marker the Caddyfile's @closing matcher tests: the wrapper must write this very name.
import { CLOSE_MARKER } from "../components/edge/caddyfile";

// The stand-in: `run` records its config and runs until SIGTERM (health: $FAKE/running exists),
// `reload` and `validate` answer as Caddy does, refusing files with a marker word in them.
const FAKE_CADDY = String.raw`#!/bin/sh
log() { echo "$*" >>"$FAKE/calls"; }
cmd=$1; shift
cfg=""
while [ $# -gt 0 ]; do case $1 in --config) cfg=$2; shift 2 ;; *) shift ;; esac; done
first() { head -n 1 "$cfg"; }
case $cmd in
  version) echo "v2.99.0 fake" ;;
  validate)
    log "validate $(first)"
    if grep -q INVALID "$cfg"; then echo "Error: adapting config using caddyfile: unrecognized directive" >&2; exit 1; fi
    echo "Valid configuration" ;;
  run)
    log "run $(first)"
    if grep -q BROKEN-RUN "$cfg"; then echo "Error: loading initial config: listen tcp :80: bind: address already in use" >&2; exit 1; fi
    cp "$cfg" "$FAKE/running"
    trap 'log "stop"; rm -f "$FAKE/running"; exit 0' TERM
    while [ ! -f "$FAKE/crash" ]; do sleep 0.1; done
    log "crash"; rm -f "$FAKE/running"; exit 3 ;;
  reload)
    log "reload $(first)"
    [ -f "$FAKE/running" ] || { echo "Error: sending configuration to instance: connection refused" >&2; exit 1; }
    if grep -q BROKEN-RELOAD "$cfg"; then echo "Error: caddy responded with error: HTTP 400: loading new config: bind" >&2; exit 1; fi
    cp "$cfg" "$FAKE/running" ;;
  *) echo "fake caddy: unexpected $cmd" >&2; exit 99 ;;
esac
`;

interface Run {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<number | null>;
}

let tmp: string;
let fake: string;
let shared: string;
let server: http.Server;
let health: string;

beforeAll(async () => {
  if (spawnSync("busybox", ["true"]).status !== 0) {
    throw new Error("busybox not found: apt-get install busybox-static (the Caddy image's shell)");
  }
  server = http.createServer((_req, res) => {
    res.writeHead(fs.existsSync(path.join(fake, "running")) ? 200 : 503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  health = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const running: ChildProcess[] = [];
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-edge-scripts-"));
  fake = path.join(tmp, "fake");
  shared = path.join(tmp, "shared");
  fs.mkdirSync(path.join(fake, "bin"), { recursive: true });
  fs.mkdirSync(shared);
  fs.writeFileSync(path.join(fake, "bin", "caddy"), FAKE_CADDY, { mode: 0o755 });
});
afterEach(() => {
  // Each script leads a process group of its own: its Caddy stand-in and sleeps go with it.
  for (const c of running.splice(0)) {
    try {
      process.kill(-(c.pid as number), "SIGKILL");
    } catch {
      // the group is gone already
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

function run(script: string, args: string[]): Run {
  const child = spawn("busybox", ["sh", path.join(SCRIPTS_DIR, script), ...args], {
    env: { PATH: `${path.join(fake, "bin")}:${process.env.PATH}`, FAKE: fake, TMPDIR: tmp },
    detached: true,
  });
  running.push(child);
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, stderr: () => err, exit };
}

/** edge-caddy.sh SHARED HEALTH WAIT POLL, polling every 0.1 s. */
const wrapper = (waitSeconds = 5) =>
  run("edge-caddy.sh", [shared, health, String(waitSeconds), "0.1"]);
/** edge-config.sh FILE SHARED READY WAIT POLL. */
function configTask(content: string, waitSeconds = 5): Run & { ready: string; file: string } {
  const file = path.join(tmp, `src-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(file, content);
  const ready = `${file}.ready`;
  return {
    ...run("edge-config.sh", [file, shared, ready, String(waitSeconds), "0.1"]),
    ready,
    file,
  };
}

async function waitFor(what: string, cond: () => boolean, seconds = 8): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const read = (p: string) => (fs.existsSync(p) ? fs.readFileSync(p, "utf8") : undefined);
const calls = () => (read(path.join(fake, "calls")) ?? "").trim().split("\n");
const marker = () => read(path.join(shared, "loaded"));
/** Installs content as edge-config.sh does: a file in the same directory, renamed. */
function install(content: string): void {
  fs.writeFileSync(path.join(shared, ".tmp"), content);
  fs.renameSync(path.join(shared, ".tmp"), path.join(shared, "Caddyfile"));
}
const A = "# A\nsite a\n";
const B = "# B\nsite b\n";

describe("edge-caddy.sh: Caddy reloaded in place", () => {
  test("waits for the file, starts Caddy, marks what it loaded; a changed file is reloaded, not restarted", async () => {
    const w = wrapper();
    await waitFor("the wait message", () => w.stderr().includes("waiting for the config service"));
    install(A);
    await waitFor("the first marker", () => marker() === A);
    expect(read(path.join(fake, "running"))).toBe(A);
    install(B);
    await waitFor("the marker of B", () => marker() === B);
    expect(read(path.join(fake, "running"))).toBe(B);
    // One Caddy, started once, reloaded once: never restarted.
    expect(calls()).toEqual(["run # A", "reload # B"]);
    expect(w.stderr()).toContain(
      "caddyfile_" + createHash("sha256").update(B).digest("hex").slice(0, 12),
    );
    // No temp file of the marker left behind.
    expect(fs.readdirSync(shared).sort()).toEqual(["Caddyfile", "loaded"]);

    // SIGTERM goes to Caddy, whose graceful stop the wrapper waits for; its status is the task's.
    w.child.kill("SIGTERM");
    expect(await w.exit).toBe(0);
    expect(calls()).toEqual(["run # A", "reload # B", "stop"]);
    expect(w.stderr()).toContain("got SIGTERM: stopping Caddy gracefully");
  });

  test("a file Caddy refuses: logged once, Caddy keeps its config, the marker stays; the next file is loaded", async () => {
    install(A);
    const w = wrapper();
    await waitFor("the first marker", () => marker() === A);
    const bad = "# C\nBROKEN-RELOAD\n";
    install(bad);
    await waitFor("the refusal", () => w.stderr().includes("ERROR: Caddy refused"));
    await new Promise((r) => setTimeout(r, 600)); // six more polls
    expect(calls()).toEqual(["run # A", "reload # C"]);
    expect(marker()).toBe(A);
    expect(read(path.join(fake, "running"))).toBe(A);
    expect(w.stderr()).toContain("HTTP 400: loading new config");
    // Published, so that the config task waiting for it fails at once.
    expect(read(path.join(shared, "refused"))).toBe(bad);
    install(B);
    await waitFor("the marker of B", () => marker() === B);
    expect(calls()).toEqual(["run # A", "reload # C", "reload # B"]);
    expect(fs.existsSync(path.join(shared, "refused"))).toBe(false);
  });

  test("a refused file that was put back and is installed again is tried again", async () => {
    install(A);
    const w = wrapper();
    await waitFor("the first marker", () => marker() === A);
    const bad = "# C\nBROKEN-RELOAD\n";
    install(bad);
    await waitFor("the refusal", () => read(path.join(shared, "refused")) === bad);
    install(A); // what the failed config task does
    await waitFor("the refusal forgotten", () => !fs.existsSync(path.join(shared, "refused")));
    install(bad); // a later deploy of the same file: the cause may have gone
    await waitFor("the second refusal", () => read(path.join(shared, "refused")) === bad);
    expect(calls()).toEqual(["run # A", "reload # C", "reload # C"]);
    expect(w.child.exitCode).toBeNull();
  });

  test("no file within the wait: exits 1 naming the config service", async () => {
    const w = wrapper(1);
    expect(await w.exit).toBe(1);
    expect(w.stderr()).toMatch(
      /ERROR: no .*\/Caddyfile after 1s: the config service installs it \(docker service logs do-swarm-edge_config\)/,
    );
    expect(fs.existsSync(path.join(fake, "calls"))).toBe(false);
  });

  test("Caddy exiting ends the task with an error (swarm starts it again)", async () => {
    install(A);
    const w = wrapper();
    await waitFor("the first marker", () => marker() === A);
    fs.writeFileSync(path.join(fake, "crash"), "");
    expect(await w.exit).toBe(1);
    expect(w.stderr()).toContain("ERROR: Caddy exited (status 3); swarm starts this task again");
  });

  test("a file Caddy cannot start on: it starts on the last config it ran on this node", async () => {
    fs.writeFileSync(path.join(shared, "loaded"), A);
    install("# C\nBROKEN-RUN\n");
    const w = wrapper();
    await waitFor("Caddy on A", () => read(path.join(fake, "running")) === A);
    expect(calls()).toEqual(["run # C", "run # A"]);
    expect(w.stderr()).toMatch(/ERROR: Caddy exited \(status 1\) on caddyfile_\w+; falling back/);
    // Not tried again while the file stays the same; the next one is reloaded.
    await new Promise((r) => setTimeout(r, 500));
    expect(calls()).toEqual(["run # C", "run # A"]);
    install(B);
    await waitFor("the marker of B", () => marker() === B);
  });
});

describe("edge-caddy.sh: stopping where the reserved IP may point (a failover agent on the node)", () => {
  const exists = (name: string) => fs.existsSync(path.join(shared, name));
  /** edge-caddy.sh SHARED HEALTH 5 0.1 HANDOFF. */
  const withAgent = (handoffSeconds: number) =>
    run("edge-caddy.sh", [shared, health, "5", "0.1", String(handoffSeconds)]);

  test("closes connections, asks the agent to move the IP, serves until it answers, then stops", async () => {
    // Left by an edge that stopped before on this node: not about this one.
    for (const m of ["stopping", "released", CLOSE_MARKER]) {
      fs.writeFileSync(path.join(shared, m), "old\n");
    }
    install(A);
    const w = withAgent(10);
    await waitFor("the first marker", () => marker() === A);
    expect(["stopping", "released", CLOSE_MARKER].filter(exists)).toEqual([]);
    w.child.kill("SIGTERM");
    await waitFor("the request to the agent", () => exists("stopping"));
    expect(exists(CLOSE_MARKER)).toBe(true);
    await new Promise((r) => setTimeout(r, 800));
    // Still serving, not stopped: the IP may still point here.
    expect(read(path.join(fake, "running"))).toBe(A);
    expect(calls()).toEqual(["run # A"]);
    expect(w.child.exitCode).toBeNull();
    fs.writeFileSync(path.join(shared, "released"), "moved 10.0.0.100 to m1\n");
    expect(await w.exit).toBe(0);
    expect(calls()).toEqual(["run # A", "stop"]);
    expect(w.stderr()).toContain(
      "asking this node's failover agent to move the reserved IP off it first",
    );
    expect(w.stderr()).toContain("the failover agent: moved 10.0.0.100 to m1");
  });

  test("no answer from the agent: stops anyway after HANDOFF_SECONDS, saying so", async () => {
    install(A);
    const w = withAgent(1);
    await waitFor("the first marker", () => marker() === A);
    const t0 = Date.now();
    w.child.kill("SIGTERM");
    expect(await w.exit).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(w.stderr()).toContain("ERROR: no answer from the failover agent within 1s");
    expect(calls()).toEqual(["run # A", "stop"]);
  });

  test("behind the load balancer (DRAIN_SECONDS): fails its health check while serving, then stops", async () => {
    install(A);
    const w = run("edge-caddy.sh", [shared, health, "5", "0.1", "0", "1"]);
    await waitFor("the first marker", () => marker() === A);
    const t0 = Date.now();
    w.child.kill("SIGTERM");
    await waitFor("the drain", () => exists(CLOSE_MARKER));
    expect(read(path.join(fake, "running"))).toBe(A);
    expect(await w.exit).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(calls()).toEqual(["run # A", "stop"]);
    // No agent to ask.
    expect(exists("stopping")).toBe(false);
    expect(w.stderr()).toContain("failing the load balancer's health check for 1s first");
  });

  test("without an agent (HANDOFF_SECONDS 0, the default): stops at once, no markers", async () => {
    install(A);
    const w = wrapper();
    await waitFor("the first marker", () => marker() === A);
    w.child.kill("SIGTERM");
    expect(await w.exit).toBe(0);
    expect(["stopping", CLOSE_MARKER].filter(exists)).toEqual([]);
  });
});

describe("edge-config.sh: validate, install atomically, wait until the node's Caddy runs it", () => {
  test("installs and becomes ready only once Caddy marked it loaded; sleeps until SIGTERM", async () => {
    install(A);
    fs.writeFileSync(path.join(shared, "loaded"), A);
    const inode = fs.statSync(path.join(shared, "Caddyfile")).ino;
    const c = configTask(B);
    await waitFor("the install", () => read(path.join(shared, "Caddyfile")) === B);
    // Replaced by a rename (a new inode), no temp file left.
    expect(fs.statSync(path.join(shared, "Caddyfile")).ino).not.toBe(inode);
    expect(fs.readdirSync(shared).sort()).toEqual(["Caddyfile", "loaded"]);
    await new Promise((r) => setTimeout(r, 400));
    expect(fs.existsSync(c.ready)).toBe(false);
    fs.writeFileSync(path.join(shared, "loaded"), B); // what edge-caddy.sh does after the reload
    await waitFor("ready", () => fs.existsSync(c.ready));
    expect(calls()).toEqual(["validate # B"]);
    expect(c.stderr()).toMatch(/installed caddyfile_\w{12} in place of caddyfile_\w{12}/);
    expect(c.child.exitCode).toBeNull();
    c.child.kill("SIGTERM");
    expect(await c.exit).toBe(0);
    expect(read(path.join(shared, "Caddyfile"))).toBe(B);
  });

  test("a file Caddy refuses: exits 1 with Caddy's message, nothing installed", async () => {
    install(A);
    const c = configTask("# C\nINVALID\n");
    expect(await c.exit).toBe(1);
    expect(c.stderr()).toContain("unrecognized directive");
    expect(c.stderr()).toMatch(
      /ERROR: Caddy refuses caddyfile_\w{12} \(above\): nothing installed, the node's Caddy keeps its config/,
    );
    expect(read(path.join(shared, "Caddyfile"))).toBe(A);
    expect(fs.existsSync(c.ready)).toBe(false);
  });

  test("refused by the node's Caddy: fails at once (not after its wait), the previous file put back", async () => {
    install(A);
    fs.writeFileSync(path.join(shared, "loaded"), A);
    const c = configTask(B, 30);
    await waitFor("the install", () => read(path.join(shared, "Caddyfile")) === B);
    const t0 = Date.now();
    fs.writeFileSync(path.join(shared, "refused"), B); // what edge-caddy.sh does on a failed reload
    expect(await c.exit).toBe(1);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(c.stderr()).toMatch(
      /ERROR: the node's Caddy refused to load caddyfile_\w{12} \(docker service logs do-swarm-edge_caddy says why\)/,
    );
    expect(read(path.join(shared, "Caddyfile"))).toBe(A);
  });

  test("a refusal left from an earlier attempt is not this attempt's", async () => {
    install(A);
    fs.writeFileSync(path.join(shared, "loaded"), A);
    fs.writeFileSync(path.join(shared, "refused"), B);
    const c = configTask(B);
    await waitFor("the install", () => read(path.join(shared, "Caddyfile")) === B);
    expect(fs.existsSync(path.join(shared, "refused"))).toBe(false);
    fs.writeFileSync(path.join(shared, "loaded"), B);
    await waitFor("ready", () => fs.existsSync(c.ready));
  });

  test("not loaded in time: the previous file is put back, exit 1", async () => {
    install(A);
    fs.writeFileSync(path.join(shared, "loaded"), A);
    const c = configTask(B, 1);
    expect(await c.exit).toBe(1);
    expect(c.stderr()).toMatch(
      /ERROR: the node's Caddy did not load caddyfile_\w{12} within 1s \(see docker service logs do-swarm-edge_caddy\)/,
    );
    expect(c.stderr()).toMatch(/put caddyfile_\w{12} back in place/);
    expect(read(path.join(shared, "Caddyfile"))).toBe(A);
    expect(fs.existsSync(c.ready)).toBe(false);
  });

  test("not loaded in time but another file installed meanwhile: that one is left alone", async () => {
    install(A);
    const c = configTask(B, 1);
    await waitFor("the install", () => read(path.join(shared, "Caddyfile")) === B);
    install("# D\n");
    expect(await c.exit).toBe(1);
    expect(read(path.join(shared, "Caddyfile"))).toBe("# D\n");
  });

  test("the same file again (an image change, a restart): ready at once when Caddy runs it", async () => {
    install(A);
    fs.writeFileSync(path.join(shared, "loaded"), A);
    const c = configTask(A);
    await waitFor("ready", () => fs.existsSync(c.ready));
    expect(c.stderr()).toContain("is already installed");
  });
});

test("both together: a new config task's file is reloaded by the running Caddy, which is never restarted", async () => {
  const w = wrapper();
  const first = configTask(A);
  await waitFor("the first task ready", () => fs.existsSync(first.ready));
  const second = configTask(B);
  await waitFor("the second task ready", () => fs.existsSync(second.ready));
  expect(calls()).toEqual(["validate # A", "run # A", "validate # B", "reload # B"]);
  // A file Caddy refuses to load: its task fails within a poll or two and puts B back, which
  // Caddy never stopped running.
  const bad = configTask("# C\nBROKEN-RELOAD\n", 30);
  expect(await bad.exit).toBe(1);
  expect(read(path.join(shared, "Caddyfile"))).toBe(B);
  expect(read(path.join(fake, "running"))).toBe(B);
  expect(calls()).toEqual([
    "validate # A",
    "run # A",
    "validate # B",
    "reload # B",
    "validate # C",
    "reload # C",
  ]);
  expect(w.child.exitCode).toBeNull();
});
