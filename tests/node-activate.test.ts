// node-activate.sh waits until the node runs its global services' tasks again (the edge's Caddy
// on an entry node) before the resize hooks hand the reserved IP back. Run against a stand-in
// `docker` (and `sleep`) first on PATH; the lab runs it against real engines.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MAINTENANCE_SCRIPTS as SCRIPTS_DIR } from "../components/maintenance/maintenance";

// The edge ran here before (its old task is listed) and is Running after $FAKE_STARTS polls;
// "agent" is global too but never ran on this node.
const FAKE_DOCKER = String.raw`#!/usr/bin/env bash
echo "docker $*" >>"$FAKE/calls"
case "$*" in
  "node ls --format"*) echo "id1 lab-manager-0 Ready" ;;
  "node inspect"*) echo reachable ;;
  "node update --availability active id1") echo id1 ;;
  "service ls --filter mode=global --format"*) printf 'do-swarm-edge_caddy\nagent\n' ;;
  "service ps -q --filter node=id1 do-swarm-edge_caddy") echo oldtask ;;
  "service ps -q --filter node=id1 agent") ;;
  "service ps --filter node=id1 --filter desired-state=running --format"*" do-swarm-edge_caddy")
    n=$(( $(cat "$FAKE/polls" 2>/dev/null || echo 0) + 1 )); echo "$n" >"$FAKE/polls"
    if [ "$n" -gt "$FAKE_STARTS" ]; then echo "Running 1 second ago"; else echo "Starting 1 second ago"; fi ;;
  *) echo "fake docker: unexpected: $*" >&2; exit 99 ;;
esac
`;

function run(starts: number, timeoutSeconds: string) {
  const fake = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-activate-"));
  const bin = path.join(fake, "bin");
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, "docker"), FAKE_DOCKER, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, "sleep"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  const res = spawnSync(
    "bash",
    [path.join(SCRIPTS_DIR, "node-activate.sh"), "lab-manager-0", timeoutSeconds],
    {
      env: { PATH: `${bin}:${process.env.PATH}`, FAKE: fake, FAKE_STARTS: String(starts) },
      encoding: "utf8",
    },
  );
  const calls = fs.readFileSync(path.join(fake, "calls"), "utf8").trim().split("\n");
  fs.rmSync(fake, { recursive: true, force: true });
  return { ...res, calls };
}

test("waits until the edge that ran on the node is Running again, skips what never ran there", () => {
  const r = run(3, "600");
  expect(r.stderr).toContain("node-activate[lab-manager-0]: Ready and active again");
  expect(r.status).toBe(0);
  const polls = r.calls.filter((c) => c.includes("desired-state=running"));
  expect(polls).toHaveLength(4); // three times Starting, then Running
  expect(r.calls.indexOf("docker node update --availability active id1")).toBeLessThan(
    r.calls.indexOf(polls[0]),
  );
  expect(r.calls.some((c) => c.includes("desired-state=running") && c.endsWith(" agent"))).toBe(
    false,
  );
});

test("a global task that does not come back by the deadline is a warning, not a failure", () => {
  const r = run(1000000, "0");
  expect(r.status).toBe(0);
  expect(r.stderr).toContain(
    "WARNING: global service do-swarm-edge_caddy has no running task on lab-manager-0 yet",
  );
});
