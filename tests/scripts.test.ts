// Paths through the scripts that the lab cannot bring about on demand, run against stand-ins
// for `docker`, `ssh`, `timeout` and `sleep` put first on PATH. The lab runs the same scripts
// against real engines; these pin down the branches it only reaches by chance.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { scriptCommand } from "../components/remote";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n";

// A stand-in engine: state in files under $FAKE, every call logged to $FAKE/calls.
const FAKE_DOCKER = String.raw`#!/usr/bin/env bash
echo "docker $*" >>"$FAKE/calls"
state() { cat "$FAKE/state" 2>/dev/null || echo inactive; }
case "$1 $2" in
  "info --format")
    case "$3" in
      # A join the CLI gave up on goes on in the engine: "pending" once, then "active"
      # (or, when it is stuck, "pending" for ever).
      *LocalNodeState*)
        s=$(state)
        if [ "$s" = pending ] && [ "$FAKE_JOIN" != stuck ]; then echo active >"$FAKE/state"; fi
        echo "$s" ;;
      *ControlAvailable*) [ "$(state)" = active ] && echo true || echo false ;;
      *Cluster.ID*) echo cluster-1 ;;
      *NodeID*) echo node-new ;;
      *NodeAddr*) echo 10.0.0.10 ;;
      *) echo "" ;;
    esac ;;
  "swarm join")
    case "$FAKE_JOIN" in
      ok) echo active >"$FAKE/state" ;;
      background | stuck) echo pending >"$FAKE/state"; echo "Timeout was reached before node joined." >&2; exit 1 ;;
      fail) echo "rpc error: connection refused" >&2; exit 1 ;;
    esac ;;
  "swarm init") echo active >"$FAKE/state" ;;
  "swarm leave") echo inactive >"$FAKE/state" ;;
  "swarm join-token") echo "SWMTKN-1-$4" ;;
  *) echo "fake docker: unexpected: $*" >&2; exit 99 ;;
esac
`;

// ssh to a peer: "no leader" for the first $FAKE_SSH_FAILS calls, then a manager token.
const FAKE_SSH = String.raw`#!/usr/bin/env bash
n=$(( $(cat "$FAKE/ssh-count" 2>/dev/null || echo 0) + 1 ))
echo "$n" >"$FAKE/ssh-count"
for a in "$@"; do case "$a" in root@*) echo "ssh $a" >>"$FAKE/calls" ;; esac; done
if [ "$n" -le "$FAKE_SSH_FAILS" ]; then
  echo "Error response from daemon: rpc error: code = Unknown desc = The swarm does not have a leader." >&2
  exit 1
fi
echo SWMTKN-1-abc-manager
`;

function fakeBin(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-fake-"));
  const put = (name: string, text: string) =>
    fs.writeFileSync(path.join(dir, name), text, { mode: 0o755 });
  put("docker", FAKE_DOCKER);
  put("ssh", FAKE_SSH);
  // Every peer answers on 2377 (the probe runs under `timeout`); waits take no time.
  put("timeout", "#!/bin/sh\nexit 0\n");
  put("sleep", '#!/bin/sh\necho "sleep $*" >>"$FAKE/calls"\n');
  return dir;
}

type JoinOutcome = "ok" | "background" | "stuck" | "fail";

/** Runs a script with the stand-ins first on PATH; returns its outcome and the calls made. */
function runWithFakes(
  script: string,
  args: string[],
  input: string,
  sshFails: number,
  join: JoinOutcome,
) {
  const fake = fakeBin();
  const run = spawnSync("bash", ["-c", scriptCommand(script, args)], {
    input,
    env: {
      ...process.env,
      PATH: `${fake}:${process.env.PATH}`,
      FAKE: fake,
      FAKE_SSH_FAILS: `${sshFails}`,
      FAKE_JOIN: join,
    },
  });
  const callsFile = path.join(fake, "calls");
  const calls = fs.existsSync(callsFile)
    ? fs.readFileSync(callsFile, "utf8").trim().split("\n")
    : [];
  fs.rmSync(fake, { recursive: true, force: true });
  return {
    status: run.status,
    stdout: run.stdout.toString(),
    stderr: run.stderr.toString(),
    calls,
  };
}

/** swarm-init.sh on a fresh manager-0 whose two peers answer on 2377. */
const initOnReplacedManager = (sshFails: number, join: JoinOutcome = "ok") =>
  runWithFakes(
    "swarm-init.sh",
    ["10.0.0.10", "10.20.0.0/16", "10.0.0.11", "10.0.0.12"],
    KEY,
    sshFails,
    join,
  );

describe("swarm-init.sh on a replaced bootstrap manager whose peers are live", () => {
  test("rides out a leader election: asks again in rounds, then joins the live swarm", () => {
    // Both peers say "no leader" in round 1 (the lost manager was the leader), one answers in round 2.
    const r = initOnReplacedManager(2);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("no manager took this one in round 1 of 6; trying again in 10s");
    expect(r.calls.filter((c) => c.startsWith("ssh "))).toEqual([
      "ssh root@10.0.0.11",
      "ssh root@10.0.0.12",
      "ssh root@10.0.0.11",
    ]);
    expect(r.calls).toContain(
      "docker swarm join --token SWMTKN-1-abc-manager --advertise-addr 10.0.0.10 --listen-addr 10.0.0.10:2377 10.0.0.11:2377",
    );
    expect(r.calls.some((c) => c.startsWith("docker swarm init"))).toBe(false);
    expect(JSON.parse(r.stdout)).toEqual({
      clusterId: "cluster-1",
      nodeId: "node-new",
      workerToken: "SWMTKN-1-worker",
      managerToken: "SWMTKN-1-manager",
    });
  });

  test("a join the CLI gave up on but the engine completed is kept, not torn down", () => {
    const r = initOnReplacedManager(0, "background");
    expect(r.status).toBe(0);
    expect(r.calls.filter((c) => c.startsWith("docker swarm join "))).toHaveLength(1);
    expect(r.calls.some((c) => c.startsWith("docker swarm leave"))).toBe(false);
    expect(JSON.parse(r.stdout).clusterId).toBe("cluster-1");
  });

  test("a join that failed is tried through the next manager", () => {
    const r = initOnReplacedManager(0, "fail");
    expect(r.status).toBe(1);
    expect(r.calls.filter((c) => c.startsWith("docker swarm join "))).toHaveLength(12);
    expect(r.calls.filter((c) => c.startsWith("docker swarm join ")).slice(0, 2)).toEqual([
      expect.stringMatching(/ 10\.0\.0\.11:2377$/),
      expect.stringMatching(/ 10\.0\.0\.12:2377$/),
    ]);
    expect(r.calls.some((c) => c.startsWith("docker swarm init"))).toBe(false);
  });

  test("never creates a second swarm: without a token after 6 rounds it fails saying so", () => {
    const r = initOnReplacedManager(1000);
    expect(r.status).toBe(1);
    expect(r.calls.filter((c) => c.startsWith("ssh "))).toHaveLength(12);
    expect(r.calls.filter((c) => c === "sleep 10")).toHaveLength(5);
    expect(r.calls.some((c) => c.startsWith("docker swarm init"))).toBe(false);
    expect(r.stderr).toContain(
      "could not join the swarm served by 10.0.0.11 10.0.0.12 as a manager",
    );
    expect(r.stdout).toBe("");
  });
});

describe("swarm-join.sh when the CLI gives up before the engine has joined", () => {
  const joinWorker = (join: JoinOutcome, sshFails = 0) =>
    runWithFakes(
      "swarm-join.sh",
      ["worker", "10.0.0.20", "10.0.0.10", "10.0.0.11"],
      KEY,
      sshFails,
      join,
    );

  test("the join token is fetched from a manager over SSH with the key on stdin, never an input", () => {
    const r = joinWorker("ok", 1);
    expect(r.status).toBe(0);
    // 10.0.0.10 has no token to give (no leader), 10.0.0.11 has.
    expect(r.calls.filter((c) => c.startsWith("ssh "))).toEqual([
      "ssh root@10.0.0.10",
      "ssh root@10.0.0.11",
    ]);
    expect(r.calls).toContainEqual(
      expect.stringMatching(
        /^docker swarm join --token SWMTKN-1-abc-manager .* 10\.0\.0\.10:2377$/,
      ),
    );
    expect(r.stderr).not.toContain("SWMTKN");
  });

  test("no key on stdin: fails at once, naming what is missing", () => {
    const r = runWithFakes("swarm-join.sh", ["worker", "10.0.0.20", "10.0.0.10"], "", 0, "ok");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("no SSH private key on standard input");
  });

  test("no manager hands out a token: six rounds, then a clear failure", () => {
    const r = joinWorker("ok", 100);
    expect(r.status).toBe(1);
    expect(r.calls.filter((c) => c.startsWith("ssh "))).toHaveLength(12);
    expect(r.stderr).toContain(
      "could not get a worker join token from any of: 10.0.0.10 10.0.0.11",
    );
    expect(r.calls.some((c) => c.startsWith("docker swarm join"))).toBe(false);
  });

  test("a join that completed in the background counts: node ID printed, nothing torn down", () => {
    const r = joinWorker("background");
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe("node-new");
    expect(r.calls.filter((c) => c.startsWith("docker swarm join "))).toHaveLength(1);
    expect(r.calls.some((c) => c.startsWith("docker swarm leave"))).toBe(false);
  });

  test("a join still pending after a minute is left (--force) before the next manager", () => {
    const r = joinWorker("stuck");
    expect(r.status).toBe(1);
    expect(
      r.calls.filter((c) => c.startsWith("docker swarm ") && !c.includes("join-token")),
    ).toEqual([
      expect.stringMatching(/^docker swarm join .* 10\.0\.0\.10:2377$/),
      "docker swarm leave --force",
      expect.stringMatching(/^docker swarm join .* 10\.0\.0\.11:2377$/),
      "docker swarm leave --force",
    ]);
    expect(r.calls.filter((c) => c === "sleep 2")).toHaveLength(60);
  });

  test("a join that failed is tried through the next manager, then fails naming them", () => {
    const r = joinWorker("fail");
    expect(r.status).toBe(1);
    expect(r.calls.filter((c) => c.startsWith("docker swarm join "))).toHaveLength(2);
    expect(r.stderr).toContain("could not join the swarm through any of: 10.0.0.10 10.0.0.11");
  });
});
