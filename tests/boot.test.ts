// A droplet's first boot, run here: the rendered user data's write_files put under a temp root,
// its runcmd turned into the script cloud-init makes of it, and that script run against
// stand-ins for apt, curl, systemctl and docker first on PATH. Then node-ready.sh, as the
// program runs it after the boot, against a stand-in `cloud-init status`.
//
// The runcmd script: by default from tests/tools/shellify.ts (a port of cloud-init's
// util.shellify), so that `npm test` needs nothing but Node and bash. With
// DO_SWARM_CLOUD_INIT_CODE=1 (.ci/run's acceptance step) it comes from cloud-init's own Python
// code (tests/tools/cloud-init-runcmd.py), which must then be installed (the test fails, it
// never skips), and the port is checked against it byte for byte.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { renderUserData } from "../components/swarm/cloudInit";
import { shellify } from "./tools/shellify";

const REPO = path.resolve(__dirname, "..");
const USE_CLOUD_INIT_CODE = process.env.DO_SWARM_CLOUD_INIT_CODE === "1";

interface WriteFile {
  path: string;
  permissions: string;
  content: string;
}
interface UserData {
  write_files: WriteFile[];
  runcmd: unknown[];
}

/** The runcmd script made by cloud-init's own code, with the Python cloud-init runs with. */
function cloudInitRuncmd(userData: string): string {
  const which = spawnSync("sh", ["-c", "command -v cloud-init"]);
  const bin = which.stdout.toString().trim();
  if (which.status !== 0 || bin === "") {
    throw new Error(
      "DO_SWARM_CLOUD_INIT_CODE=1 but cloud-init is not installed (apt-get install cloud-init)",
    );
  }
  const python = /^#!\s*(\S+)/.exec(fs.readFileSync(bin, "utf8").split("\n")[0])?.[1] ?? "python3";
  const run = spawnSync(python, [path.join(__dirname, "tools", "cloud-init-runcmd.py")], {
    input: userData,
  });
  if (run.status !== 0) throw new Error(`cloud-init's runcmd failed: ${run.stderr}`);
  return run.stdout.toString();
}

function runcmdScript(userData: string, doc: UserData): string {
  const port = shellify(doc.runcmd);
  if (!USE_CLOUD_INIT_CODE) return port;
  const real = cloudInitRuncmd(userData);
  expect(port).toBe(real);
  return real;
}

// --- stand-ins: every call logged to $FAKE/calls -------------------------------------------

// apt-get: the dpkg lock is held until the time in $FAKE/lock-until (unattended-upgrades); like
// apt, an install waits up to DPkg::Lock::Timeout for it and fails at once without one.
// $FAKE/update-fails: how many `update`s fail first with a download error.
const FAKE_APT_GET = String.raw`#!/usr/bin/env bash
echo "apt-get $*" >>"$FAKE/calls"
lock_timeout=0; words=()
while [ $# -gt 0 ]; do
  case "$1" in
    -o) case "$2" in DPkg::Lock::Timeout=*) lock_timeout=${"${2#*=}"} ;; esac; shift 2 ;;
    -*) shift ;;
    *) words+=("$1"); shift ;;
  esac
done
case "${"${words[0]}"}" in
  update)
    n=$(cat "$FAKE/update-fails" 2>/dev/null || echo 0)
    if [ "$n" -gt 0 ]; then
      echo $((n - 1)) >"$FAKE/update-fails"
      echo "E: Failed to fetch https://download.docker.com/linux/ubuntu/dists/noble/InRelease  Could not connect to download.docker.com:443 (connection timed out)" >&2
      exit 100
    fi ;;
  install)
    if [ -f "$FAKE/lock-until" ]; then
      left=$(( $(cat "$FAKE/lock-until") - $(date +%s) ))
      if [ "$left" -gt 0 ]; then
        if [ "$left" -le "$lock_timeout" ]; then
          echo "Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (unattended-upgr)" >&2
          /bin/sleep "$left"
        else
          /bin/sleep "$lock_timeout"
          echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (unattended-upgr)" >&2
          exit 100
        fi
      fi
    fi
    for w in "${"${words[@]}"}"; do case "$w" in docker-ce=*) echo "${"${w#docker-ce=}"}" >"$FAKE/installed" ;; esac; done ;;
esac
`;

const FAKE_APT_CACHE = String.raw`#!/usr/bin/env bash
echo "apt-cache $*" >>"$FAKE/calls"
[ "$1 $2" = "madison docker-ce" ] && cat "$FAKE/madison" 2>/dev/null
exit 0
`;

// systemctl: sshd is socket-activated and not started ($FAKE/ssh-active absent): like
// systemctl, `reload` of an inactive unit fails and `try-reload-or-restart` does nothing.
const FAKE_SYSTEMCTL = String.raw`#!/usr/bin/env bash
echo "systemctl $*" >>"$FAKE/calls"
case "$1 $2" in
  "reload ssh" | "reload ssh.service")
    [ -f "$FAKE/ssh-active" ] || { echo "ssh.service is not active, cannot reload." >&2; exit 1; } ;;
  "enable --now") [ -f "$FAKE/installed" ] && touch "$FAKE/docker-running" ;;
esac
exit 0
`;

const FAKE_DOCKER = String.raw`#!/usr/bin/env bash
echo "docker $*" >>"$FAKE/calls"
[ -f "$FAKE/docker-running" ] || { echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2; exit 1; }
[ "$1" = version ] && echo 28.5.2
exit 0
`;

// cloud-init status: --wait exits with $FAKE/cloud-init-rc (1: the boot failed).
const FAKE_CLOUD_INIT = String.raw`#!/usr/bin/env bash
echo "cloud-init $*" >>"$FAKE/calls"
case "$*" in
  "status --wait") exit "$(cat "$FAKE/cloud-init-rc")" ;;
  "status --long") echo "status: error"; echo "errors:"; echo "  - Command ['/var/lib/cloud/instance/scripts/runcmd'] failed" ;;
esac
`;

const FAKE_CURL = String.raw`#!/usr/bin/env bash
echo "curl $*" >>"$FAKE/calls"
while [ $# -gt 0 ]; do [ "$1" = -o ] && echo "fake key" >"$2"; shift; done
`;

const MADISON = [
  " docker-ce | 5:28.5.20-1~ubuntu.24.04~noble | https://download.docker.com/linux/ubuntu noble/stable amd64 Packages",
  " docker-ce | 5:28.5.2-1~ubuntu.24.04~noble | https://download.docker.com/linux/ubuntu noble/stable amd64 Packages",
  " docker-ce | 5:28.4.0-1~ubuntu.24.04~noble | https://download.docker.com/linux/ubuntu noble/stable amd64 Packages",
].join("\n");

interface Droplet {
  root: string;
  fake: string;
  runcmd: string;
  calls: () => string[];
  run: (
    cmd: string,
    args?: string[],
    env?: Record<string, string>,
  ) => { status: number | null; stderr: string; stdout: string; seconds: number };
}

/** A fresh "droplet": the user data's files under a temp root, stand-ins on PATH. */
function bootDroplet(dockerVersion = "28.5.2"): Droplet {
  const userData = renderUserData({ dockerVersion });
  const doc = parse(userData) as UserData;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-droplet-"));
  const fake = path.join(root, "fake");
  for (const d of ["fake/bin", "etc/apt/sources.list.d", "var/lib/cloud/instance", "var/log"]) {
    fs.mkdirSync(path.join(root, d), { recursive: true });
  }
  fs.writeFileSync(path.join(root, "etc/os-release"), "ID=ubuntu\nVERSION_CODENAME=noble\n");
  for (const f of doc.write_files) {
    const p = path.join(root, f.path);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, f.content, { mode: parseInt(f.permissions, 8) });
  }
  // The only change to the script: the files write_files wrote live under the temp root.
  let runcmd = runcmdScript(userData, doc);
  for (const f of doc.write_files) runcmd = runcmd.split(`'${f.path}'`).join(`'${root}${f.path}'`);
  fs.writeFileSync(path.join(root, "runcmd"), runcmd, { mode: 0o700 });
  const bin = path.join(fake, "bin");
  const put = (name: string, text: string) =>
    fs.writeFileSync(path.join(bin, name), text, { mode: 0o755 });
  put("apt-get", FAKE_APT_GET);
  put("apt-mark", '#!/bin/sh\necho "apt-mark $*" >>"$FAKE/calls"\n');
  put("apt-cache", FAKE_APT_CACHE);
  put("systemctl", FAKE_SYSTEMCTL);
  put("docker", FAKE_DOCKER);
  put("cloud-init", FAKE_CLOUD_INIT);
  put("curl", FAKE_CURL);
  put("dpkg", "#!/bin/sh\necho amd64\n");
  // Pauses between retries take a tenth of a second; the lock stand-in sleeps for real.
  put("sleep", '#!/bin/sh\necho "sleep $*" >>"$FAKE/calls"\n/bin/sleep 0.1\n');
  fs.writeFileSync(path.join(fake, "madison"), MADISON + "\n");
  fs.writeFileSync(path.join(fake, "calls"), "");
  return {
    root,
    fake,
    runcmd,
    // An apt call's lock timeout is what is left of the install's 600 s: recorded as <left>.
    calls: () =>
      fs
        .readFileSync(path.join(fake, "calls"), "utf8")
        .replace(/DPkg::Lock::Timeout=(59\d|600) /g, "DPkg::Lock::Timeout=<left> ")
        .trim()
        .split("\n")
        .filter(Boolean),
    run: (cmd, args = [], env = {}) => {
      const t0 = Date.now();
      const r = spawnSync(cmd, args, {
        env: {
          ...process.env,
          PATH: `${bin}:${process.env.PATH}`,
          FAKE: fake,
          DO_SWARM_ROOT: root,
          ...env,
        },
      });
      return {
        status: r.status,
        stdout: r.stdout.toString(),
        stderr: r.stderr.toString(),
        seconds: (Date.now() - t0) / 1000,
      };
    },
  };
}

const nodeReady = path.join(REPO, "components/swarm/scripts/node-ready.sh");
const installLog = (d: Droplet) =>
  fs.readFileSync(path.join(d.root, "var/log/do-swarm-install-docker.log"), "utf8");
const marker = (d: Droplet) => path.join(d.root, "var/lib/do-swarm/docker-installed");

let droplets: Droplet[] = [];
const boot = (v?: string) => {
  const d = bootDroplet(v);
  droplets.push(d);
  return d;
};
afterEach(() => {
  for (const d of droplets) fs.rmSync(d.root, { recursive: true, force: true });
  droplets = [];
});

describe(`first boot (runcmd by ${USE_CLOUD_INIT_CODE ? "cloud-init's own code" : "the shellify port"})`, () => {
  test("runcmd is one /bin/sh script that stops at the first failed step", () => {
    const d = boot();
    expect(d.runcmd.split("\n").slice(0, 2)).toEqual(["#!/bin/sh", "set -eu"]);
  });

  test("sshd socket-activated and not started: the boot succeeds, Docker installed, marker last", () => {
    const d = boot();
    fs.writeFileSync(path.join(d.fake, "cloud-init-rc"), "0");
    const r = d.run(path.join(d.root, "runcmd"));
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    const calls = d.calls();
    // sshd first (a running sshd reloaded, a socket-activated one left to read the drop-in when
    // it starts), and no plain `reload`, which fails on an inactive unit.
    expect(calls[0]).toBe("systemctl try-reload-or-restart ssh.service");
    expect(calls.some((c) => /^systemctl reload/.test(c))).toBe(false);
    expect(calls).toContain(
      "apt-get -o DPkg::Lock::Timeout=<left> -o Acquire::Retries=3 -o APT::Update::Error-Mode=any install -y docker-ce=5:28.5.2-1~ubuntu.24.04~noble docker-ce-cli=5:28.5.2-1~ubuntu.24.04~noble containerd.io docker-buildx-plugin",
    );
    expect(
      calls.filter((c) => c.startsWith("apt-get")).every((c) => c.includes("DPkg::Lock::Timeout=")),
    ).toBe(true);
    expect(calls).toContain(
      "apt-mark -o DPkg::Lock::Timeout=<left> -o Acquire::Retries=3 -o APT::Update::Error-Mode=any hold docker-ce docker-ce-cli containerd.io",
    );
    expect(fs.readFileSync(marker(d), "utf8")).toBe("docker-ce=5:28.5.2-1~ubuntu.24.04~noble\n");
    // Idempotent: run again (node-ready's retry, a re-run by hand), it touches nothing.
    const again = d.run(path.join(d.root, "usr/local/lib/do-swarm/install-docker.sh"));
    expect(again.status).toBe(0);
    expect(again.stdout).toContain("already installed: docker-ce=5:28.5.2-1~ubuntu.24.04~noble");
    expect(d.calls()).toEqual(calls);
    const ready = d.run("bash", [nodeReady, "60"]);
    expect(ready.status).toBe(0);
    expect(ready.stderr).toContain("Docker Engine installed: docker-ce=5:28.5.2");
  });

  test("a failed install fails the boot; node-ready fails at once with the install's log, the next run installs", () => {
    const d = boot();
    fs.writeFileSync(path.join(d.fake, "madison"), ""); // the version is not (yet) in the repo
    fs.writeFileSync(path.join(d.fake, "ssh-active"), ""); // sshd started by an early connection
    const r = d.run(path.join(d.root, "runcmd"));
    expect(r.status).not.toBe(0); // cloud-init reports the boot failed
    expect(fs.existsSync(marker(d))).toBe(false);
    expect(installLog(d)).toContain(
      "ERROR: Docker Engine 28.5.2 is not in Docker's apt repository",
    );

    fs.writeFileSync(path.join(d.fake, "cloud-init-rc"), "1");
    const ready = d.run("bash", [nodeReady, "900"]);
    expect(ready.status).toBe(1);
    expect(ready.seconds).toBeLessThan(10); // not 15 minutes of `docker info`
    expect(d.calls().some((c) => c.startsWith("docker info"))).toBe(false);
    expect(ready.stderr).toContain(
      "    | do-swarm install-docker: ERROR: Docker Engine 28.5.2 is not in Docker's apt repository",
    );
    expect(ready.stderr).toContain("The next 'pulumi up' runs it again on this node");

    // The next `pulumi up`: node-ready runs the installer again, which now succeeds.
    fs.writeFileSync(path.join(d.fake, "madison"), MADISON + "\n");
    const before = d.calls().length;
    const retry = d.run("bash", [nodeReady, "900"]);
    expect(retry.stderr).toContain("running it again");
    expect(retry.status).toBe(0);
    expect(d.calls().slice(before)).toContain(
      "apt-mark -o DPkg::Lock::Timeout=<left> -o Acquire::Retries=3 -o APT::Update::Error-Mode=any hold docker-ce docker-ce-cli containerd.io",
    );
    expect(fs.readFileSync(marker(d), "utf8")).toBe("docker-ce=5:28.5.2-1~ubuntu.24.04~noble\n");
  });

  test("a version without its patch level installs the newest patch release, no other", () => {
    const d = boot("28.5");
    expect(d.run(path.join(d.root, "runcmd")).status).toBe(0);
    expect(fs.readFileSync(marker(d), "utf8")).toBe("docker-ce=5:28.5.20-1~ubuntu.24.04~noble\n");
  });

  test("the dpkg lock held for a while (unattended-upgrades): the install waits for it", () => {
    const d = boot();
    fs.writeFileSync(path.join(d.fake, "lock-until"), String(Math.floor(Date.now() / 1000) + 3));
    const r = d.run(path.join(d.root, "runcmd"));
    expect(r.status).toBe(0);
    expect(r.seconds).toBeGreaterThanOrEqual(2);
    expect(installLog(d)).toContain("Waiting for cache lock");
    expect(fs.existsSync(marker(d))).toBe(true);
  });

  test("the dpkg lock held past the bound: the install fails within it, saying so", () => {
    const d = boot();
    fs.writeFileSync(path.join(d.fake, "lock-until"), String(Math.floor(Date.now() / 1000) + 300));
    const r = d.run(path.join(d.root, "runcmd"), [], { APT_LOCK_TIMEOUT: "3" });
    expect(r.status).not.toBe(0);
    expect(r.seconds).toBeLessThan(15);
    expect(installLog(d)).toContain(
      "apt-get install: the apt/dpkg lock was still held after 3s (E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (unattended-upgr)); is unattended-upgrades still running?",
    );
    expect(fs.existsSync(marker(d))).toBe(false);
  });

  test("a transient download failure is retried", () => {
    const d = boot();
    fs.writeFileSync(path.join(d.fake, "update-fails"), "2");
    const r = d.run(path.join(d.root, "runcmd"));
    expect(r.status).toBe(0);
    expect(installLog(d)).toContain(
      "apt-get update failed (exit 100), attempt 2 of 3; trying again in 10s",
    );
    expect(fs.existsSync(marker(d))).toBe(true);
  });
});
