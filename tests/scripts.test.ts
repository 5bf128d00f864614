// Paths through the scripts that the lab cannot bring about on demand, run against stand-ins
// for `docker`, `ssh`, `timeout` and `sleep` put first on PATH. The lab runs the same scripts
// against real engines; these pin down the branches it only reaches by chance.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { scriptCommand } from "../components/core/remote";
import { SWARM_SCRIPTS as SCRIPTS } from "../components/swarm/cloudInit";
import { DATA_SCRIPTS } from "../components/data/volumes";
import { allScripts, COMPONENTS } from "./scriptFiles";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n";

// Join tokens shaped like swarmkit's: SWMTKN-1-<root CA digest, base 36>-<secret>.
const CA = "3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl";
const WORKER_TOKEN = `SWMTKN-1-${CA}-1awxwuwd3z9j1z3puu7rcgdbx`;
const MANAGER_TOKEN = `SWMTKN-1-${CA}-7p73s1dx5in4tatdymyhg9hu2`;

// A stand-in engine: state in files under $FAKE, every call logged to $FAKE/calls. What it prints
// is what the real CLI prints (docker/cli, cli/command/swarm/init.go, join.go, join_token.go).
const FAKE_DOCKER = String.raw`#!/usr/bin/env bash
echo "docker $*" >>"$FAKE/calls"
WORKER_TOKEN=${WORKER_TOKEN}
MANAGER_TOKEN=${MANAGER_TOKEN}
# printJoinCommand in join_token.go
join_command() {
  printf 'To add a %s to this swarm, run the following command:

    docker swarm join --token %s 10.0.0.10:2377

' "$1" "$2"
}
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
      ok)
        echo active >"$FAKE/state"
        case "$*" in
          *"$MANAGER_TOKEN"*) echo "This node joined a swarm as a manager." ;;
          *) echo "This node joined a swarm as a worker." ;;
        esac ;;
      background | stuck) echo pending >"$FAKE/state"; echo "Timeout was reached before node joined." >&2; exit 1 ;;
      fail) echo "Error response from daemon: rpc error: code = Unavailable desc = connection error" >&2; exit 1 ;;
    esac ;;
  "swarm init")
    echo active >"$FAKE/state"
    printf 'Swarm initialized: current node (%s) is now a manager.

' node-new
    join_command worker "$WORKER_TOKEN"
    echo "To add a manager to this swarm, run 'docker swarm join-token manager' and follow the instructions." ;;
  "swarm leave") echo inactive >"$FAKE/state"; echo "Node left the swarm." ;;
  "swarm join-token")
    for role; do :; done # the last argument
    [ "$role" = worker ] && t=$WORKER_TOKEN || t=$MANAGER_TOKEN
    case " $* " in
      *" -q "*) echo "$t" ;;
      *) join_command "$role" "$t" ;;
    esac ;;
  *) echo "fake docker: unexpected: $*" >&2; exit 99 ;;
esac
`;

// ssh to a peer: "no leader" for the first $FAKE_SSH_FAILS calls, then the token asked for.
const FAKE_SSH = String.raw`#!/usr/bin/env bash
n=$(( $(cat "$FAKE/ssh-count" 2>/dev/null || echo 0) + 1 ))
echo "$n" >"$FAKE/ssh-count"
for a in "$@"; do case "$a" in root@*) echo "ssh $a" >>"$FAKE/calls" ;; esac; done
if [ "$n" -le "$FAKE_SSH_FAILS" ]; then
  echo "Error response from daemon: rpc error: code = Unknown desc = The swarm does not have a leader." >&2
  exit 1
fi
case "$*" in
  *"join-token -q worker"*) echo ${WORKER_TOKEN} ;;
  *) echo ${MANAGER_TOKEN} ;;
esac
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
  initialState = "inactive",
) {
  const fake = fakeBin();
  fs.writeFileSync(path.join(fake, "state"), `${initialState}\n`);
  const run = spawnSync("bash", ["-c", scriptCommand(script, args, SCRIPTS)], {
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
      `docker swarm join --token ${MANAGER_TOKEN} --advertise-addr 10.0.0.10 --listen-addr 10.0.0.10:2377 10.0.0.11:2377`,
    );
    expect(r.calls.some((c) => c.startsWith("docker swarm init"))).toBe(false);
    expect(JSON.parse(r.stdout)).toEqual({
      clusterId: "cluster-1",
      nodeId: "node-new",
      workerToken: WORKER_TOKEN,
      managerToken: MANAGER_TOKEN,
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
        new RegExp(`^docker swarm join --token ${WORKER_TOKEN} .* 10\\.0\\.0\\.10:2377$`),
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

// The provider logs a command's stderr (`logging: "stderr"`) and stores stderr, and a join's
// stdout (the node ID), in the state; only swarm-init's stdout is secret. Issue 16: the token was
// on swarm-init's stderr, because `docker swarm init` prints the worker's join command.
describe("no join token reaches a stream that is logged or stored in plain text", () => {
  // The whole token, and its secret half alone (a partial mask must not pass either).
  const leaks = (text: string) =>
    [WORKER_TOKEN, MANAGER_TOKEN, ...[WORKER_TOKEN, MANAGER_TOKEN].map((t) => t.slice(-25))].filter(
      (t) => text.includes(t),
    );

  test("the stand-in prints what docker prints: a token in `swarm init` and `join-token`", () => {
    const fake = fakeBin();
    const env = { ...process.env, FAKE: fake };
    const out = (...a: string[]) =>
      spawnSync(path.join(fake, "docker"), a, { env }).stdout.toString();
    expect(out("swarm", "init", "--advertise-addr", "10.0.0.10")).toContain(
      `    docker swarm join --token ${WORKER_TOKEN} 10.0.0.10:2377\n`,
    );
    expect(out("swarm", "join-token", "manager")).toContain(`--token ${MANAGER_TOKEN} `);
    expect(out("swarm", "join-token", "-q", "worker")).toBe(`${WORKER_TOKEN}\n`);
    fs.rmSync(fake, { recursive: true, force: true });
  });

  const peers = ["10.0.0.11", "10.0.0.12"];
  test.each([
    ["swarm-init.sh creating the swarm", "swarm-init.sh", [], KEY, "ok", "inactive"],
    ["swarm-init.sh re-run on its manager", "swarm-init.sh", [], KEY, "ok", "active"],
    [
      "swarm-init.sh, a replaced manager-0 joining its peers",
      "swarm-init.sh",
      peers,
      KEY,
      "ok",
      "inactive",
    ],
    [
      "swarm-init.sh, a replaced manager-0 whose joins fail",
      "swarm-init.sh",
      peers,
      KEY,
      "fail",
      "inactive",
    ],
  ] as const)(
    "%s: stderr is clean, the tokens are on the secret stdout only",
    (_, script, extra, input, join, state) => {
      const r = runWithFakes(
        script,
        ["10.0.0.10", "10.20.0.0/16", ...extra],
        input,
        0,
        join,
        state,
      );
      expect(leaks(r.stderr)).toEqual([]);
      if (join === "ok") {
        expect(r.status).toBe(0);
        expect(JSON.parse(r.stdout)).toMatchObject({
          workerToken: WORKER_TOKEN,
          managerToken: MANAGER_TOKEN,
        });
      } else {
        expect(r.status).toBe(1);
        expect(r.stdout).toBe("");
      }
    },
  );

  test("swarm-init.sh still says what it did, without the join command", () => {
    const r = runWithFakes("swarm-init.sh", ["10.0.0.10", "10.20.0.0/16"], KEY, 0, "ok");
    expect(r.stderr).toContain("initialised swarm cluster-1; this node is its first manager");
    expect(r.stderr).not.toContain("docker swarm join --token");
  });

  test.each([
    ["worker", "ok", "inactive"],
    ["manager", "ok", "inactive"],
    ["worker", "fail", "inactive"],
    ["worker", "ok", "pending"],
  ] as const)(
    "swarm-join.sh as a %s (join %s, node %s): neither stdout nor stderr has a token",
    (role, join, state) => {
      const token = role === "manager" ? MANAGER_TOKEN : WORKER_TOKEN;
      const args = [role, "10.0.0.20", "10.0.0.10", "10.0.0.11"];
      // The script fetches the token (stand-in ssh) with the key it gets on stdin.
      const r = runWithFakes("swarm-join.sh", args, KEY, 0, join, state);
      expect(r.calls).toContainEqual(expect.stringContaining(`--token ${token} `));
      expect(leaks(r.stdout + r.stderr)).toEqual([]);
      expect(r.status).toBe(join === "ok" ? 0 : 1);
      if (join === "ok") expect(r.stderr).toContain(`This node joined a swarm as a ${role}.`);
    },
  );

  test("a join error that quotes a token is masked", () => {
    const run = spawnSync("bash", [
      "-c",
      `. ${path.join(SCRIPTS, "lib/swarm.sh")}; echo "bad token $1" | mask_tokens`,
      "_",
      WORKER_TOKEN,
    ]);
    expect(run.stdout.toString()).toBe("bad token SWMTKN-[masked]\n");
  });
});

describe("every script keeps tokens out of its output (static rules)", () => {
  const files = allScripts();
  // Logical lines: continuation lines joined, comments dropped.
  const lines = (f: string) =>
    fs
      .readFileSync(path.join(COMPONENTS, f), "utf8")
      .replace(/\\\n\s*/g, " ")
      .split("\n")
      .filter((l) => !/^\s*#/.test(l));

  test.each(files)("%s: no xtrace, join-token only with -q, swarm init/join output masked", (f) => {
    for (const l of lines(f)) {
      expect(l).not.toMatch(/set -x|set -o xtrace|bash -x|BASH_XTRACEFD/);
      if (/docker swarm join-token/.test(l) && !/["'].*docker swarm join-token.*["']/.test(l)) {
        expect(l).toMatch(/join-token -q /);
      }
      if (/^\s*(if\s+)?docker swarm (init|join)\s/.test(l)) expect(l).toMatch(/\| mask_tokens >&2/);
    }
  });
});

// volume-mount.sh against DigitalOcean's automount (issue 21, item 11): a pre-formatted volume
// is mounted at its first attach by a systemd mount unit in /etc/systemd/system, mnt-<name>.mount
// (docs.digitalocean.com/products/volumes/details/naming-conventions/). Stand-ins for blkid,
// findmnt, mount, umount, mountpoint, df and systemctl; the device link points at a real block
// device that nothing touches (the stand-ins answer for it).
describe("volume-mount.sh and DigitalOcean's mount unit", () => {
  const dev = fs
    .readdirSync("/dev")
    .map((d) => `/dev/${d}`)
    .find((d) => {
      try {
        return fs.statSync(d).isBlockDevice();
      } catch {
        return false;
      }
    });
  const t = dev ? test : test.skip;

  function setup() {
    const fake = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-vmount-"));
    for (const d of ["bin", "disks", "units/multi-user.target.wants", "mnt"]) {
      fs.mkdirSync(path.join(fake, d), { recursive: true });
    }
    fs.symlinkSync(dev!, path.join(fake, "disks", "scsi-0DO_Volume_prod-db-0"));
    fs.writeFileSync(path.join(fake, "fstab"), "LABEL=cloudimg-rootfs / ext4 defaults 0 1\n");
    const stub = (name: string, body: string) =>
      fs.writeFileSync(
        path.join(fake, "bin", name),
        `#!/usr/bin/env bash\necho "${name} $*" >>"$FAKE/calls"\n${body}\n`,
        { mode: 0o755 },
      );
    stub("blkid", "echo ext4");
    // DigitalOcean's mount at /mnt/volume_prod_db_0 until the unit is stopped; ours once mounted.
    stub(
      "findmnt",
      String.raw`case "$*" in
  *" -S "*) [ -f "$FAKE/do-mounted" ] && echo /mnt/volume_prod_db_0 ;;
  *" -M "*) readlink -f "$FAKE/disks/scsi-0DO_Volume_prod-db-0" ;;
esac; exit 0`,
    );
    stub("mountpoint", '[ -f "$FAKE/ours-mounted" ]');
    stub("mount", 'touch "$FAKE/ours-mounted"');
    stub("umount", 'rm -f "$FAKE/do-mounted"');
    stub("df", "printf 'Size\\n 10G\\n'");
    stub("systemctl", '[ "$1" = stop ] && rm -f "$FAKE/do-mounted"; exit 0');
    return fake;
  }
  const run = (fake: string) =>
    spawnSync(
      "bash",
      [
        path.join(DATA_SCRIPTS, "volume-mount.sh"),
        "prod-db-0",
        `${fake}/mnt/data-mount`,
        `${fake}/disks/scsi-0DO_Volume_`,
        "5",
      ],
      {
        encoding: "utf8",
        env: {
          PATH: `${path.join(fake, "bin")}:${process.env.PATH}`,
          FAKE: fake,
          DO_SWARM_FSTAB: path.join(fake, "fstab"),
          DO_SWARM_UNIT_DIR: path.join(fake, "units"),
        },
      },
    );
  const unit = (what: string, where: string) =>
    `[Unit]\nDescription=Mount DO Volume\n\n[Mount]\nWhat=${what}\nWhere=${where}\nOptions=defaults,nofail,discard,noatime\nType=ext4\n\n[Install]\nWantedBy=multi-user.target\n`;

  t(
    "removes the unit of this volume's device (disable, stop, delete, daemon-reload), not others; a re-run does nothing",
    () => {
      const fake = setup();
      const units = path.join(fake, "units");
      const mine = "mnt-volume_prod_db_0.mount";
      const other = "mnt-volume_other.mount";
      fs.writeFileSync(
        path.join(units, mine),
        unit(`${fake}/disks/scsi-0DO_Volume_prod-db-0`, "/mnt/volume_prod_db_0"),
      );
      fs.symlinkSync(path.join(units, mine), path.join(units, "multi-user.target.wants", mine));
      fs.writeFileSync(
        path.join(units, other),
        unit(`${fake}/disks/scsi-0DO_Volume_prod-db-01`, "/mnt/volume_other"),
      );
      fs.writeFileSync(path.join(fake, "do-mounted"), "");
      const r = run(fake);
      expect(r.stderr).toContain(`removing DigitalOcean's mount unit ${mine}`);
      expect(r.status).toBe(0);
      const calls = fs.readFileSync(path.join(fake, "calls"), "utf8").split("\n");
      const sys = calls.filter((c) => c.startsWith("systemctl"));
      expect(sys).toEqual([
        `systemctl disable ${mine}`,
        `systemctl stop ${mine}`,
        "systemctl daemon-reload",
      ]);
      // Removed before our mount; the other volume's unit stays.
      expect(calls.indexOf("systemctl daemon-reload")).toBeLessThan(
        calls.findIndex((c) => c.startsWith("mount ")),
      );
      expect(fs.existsSync(path.join(units, mine))).toBe(false);
      expect(fs.existsSync(path.join(units, "multi-user.target.wants", mine))).toBe(false);
      expect(fs.existsSync(path.join(units, other))).toBe(true);
      expect(fs.readFileSync(path.join(fake, "fstab"), "utf8")).toContain(
        `${fake}/disks/scsi-0DO_Volume_prod-db-0 ${fake}/mnt/data-mount ext4 defaults,nofail,discard,noatime 0 2`,
      );
      // Idempotent: nothing left to remove.
      fs.writeFileSync(path.join(fake, "calls"), "");
      const again = run(fake);
      expect(again.status).toBe(0);
      expect(fs.readFileSync(path.join(fake, "calls"), "utf8")).not.toContain("systemctl");
      fs.rmSync(fake, { recursive: true, force: true });
    },
  );
});
