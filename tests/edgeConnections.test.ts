// components/maintenance/scripts/edge-connections.sh, run for real (bash) with a stand-in `docker` that
// knows the edge's volume: what the rolling resize runs on a manager around a move of the
// reserved IP. The lab runs it on real managers (scenario 24).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CLOSE_MARKER } from "../components/edge/caddyfile";
import { MAINTENANCE_SCRIPTS as SCRIPTS_DIR } from "../components/maintenance/maintenance";

const FAKE_DOCKER = String.raw`#!/usr/bin/env bash
[ "$1 $2 $3 $4 $5" = "volume inspect --format {{.Mountpoint}} do-swarm-edge_edge_conf" ] || { echo "fake docker: unexpected: $*" >&2; exit 99; }
if [ -d "$FAKE/volume" ]; then echo "$FAKE/volume"; else echo "Error: no such volume" >&2; exit 1; fi
`;

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-edge-connections-"));
  fs.mkdirSync(path.join(tmp, "bin"));
  fs.writeFileSync(path.join(tmp, "bin", "docker"), FAKE_DOCKER, { mode: 0o755 });
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const run = (...args: string[]) =>
  spawnSync("bash", [path.join(SCRIPTS_DIR, "edge-connections.sh"), ...args], {
    env: { ...process.env, PATH: `${path.join(tmp, "bin")}:${process.env.PATH}`, FAKE: tmp },
    encoding: "utf8",
  });
const marker = () => path.join(tmp, "volume", CLOSE_MARKER);

test("close: the marker in the edge's volume, then the wait; keep: the marker gone", () => {
  fs.mkdirSync(path.join(tmp, "volume"));
  const t0 = Date.now();
  const closed = run("close", "1");
  expect(closed.stderr).toContain("closes every connection after its response; waiting 1s");
  expect(closed.status).toBe(0);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  expect(fs.existsSync(marker())).toBe(true);
  // Again: idempotent.
  expect(run("close", "0").status).toBe(0);
  const kept = run("keep");
  expect(kept.status).toBe(0);
  expect(fs.existsSync(marker())).toBe(false);
  expect(run("keep").status).toBe(0);
});

test("no edge on the node: nothing to do, exit 0", () => {
  const r = run("close", "5");
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(/no edge on .* \(no volume do-swarm-edge_edge_conf\): nothing to do/);
});

test("bad arguments: exit 1 with the usage", () => {
  for (const args of [[], ["close"], ["close", "soon"], ["open"]]) {
    const r = run(...args);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("usage: edge-connections.sh close SECONDS | keep");
  }
});
