// stack-rm.sh and stack-deploy.sh against a stand-in `docker` first on PATH, for what the lab
// meets only by chance: a task still shutting down holds the stack's network while `docker
// stack rm` removes it; a CLI that never returns. The lab runs the same scripts against real
// engines (scenarios 3, 11 to 15).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { scriptCommand } from "../components/core/remote";
import { STACKS_SCRIPTS } from "../components/stacks/swarmStack";

// The stack's network outlives its services while a task shuts down: the first $FAKE_RACES
// `docker stack rm` calls fail as the CLI does then; after that the network goes.
const FAKE_DOCKER = String.raw`#!/usr/bin/env bash
echo "docker $*" >>"$FAKE/calls"
case "$1 $2" in
  "service ls") [ -f "$FAKE/services-gone" ] || echo svc1 ;;
  "network ls") [ -f "$FAKE/network-gone" ] || echo net1 ;;
  "stack rm")
    touch "$FAKE/services-gone"
    n=$(( $(cat "$FAKE/rm-count" 2>/dev/null || echo 0) + 1 )); echo "$n" >"$FAKE/rm-count"
    echo "Removing service web_web"
    if [ "$n" -le "$FAKE_RACES" ]; then
      echo "Failed to remove network net1: Error response from daemon: rpc error: code = FailedPrecondition desc = network net1 is in use by task t1" >&2
      echo "failed to remove some resources from stack: web" >&2
      exit 1
    fi
    touch "$FAKE/network-gone" ;;
  *) echo "fake docker: unexpected: $*" >&2; exit 99 ;;
esac
`;

function stackRm(races: number, timeoutSeconds = 300) {
  const fake = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-fake-"));
  fs.writeFileSync(path.join(fake, "docker"), FAKE_DOCKER, { mode: 0o755 });
  fs.writeFileSync(path.join(fake, "sleep"), '#!/bin/sh\necho "sleep $*" >>"$FAKE/calls"\n', {
    mode: 0o755,
  });
  const run = spawnSync(
    "bash",
    ["-c", scriptCommand("stack-rm.sh", ["web", `${timeoutSeconds}`], STACKS_SCRIPTS)],
    {
      env: {
        ...process.env,
        PATH: `${fake}:${process.env.PATH}`,
        FAKE: fake,
        FAKE_RACES: `${races}`,
      },
    },
  );
  const calls = fs.readFileSync(path.join(fake, "calls"), "utf8").trim().split("\n");
  fs.rmSync(fake, { recursive: true, force: true });
  return { status: run.status, stderr: run.stderr.toString(), calls };
}

describe("stack-rm.sh when docker stack rm races a task still shutting down", () => {
  test("the failed removal is retried until the network is gone", () => {
    const r = stackRm(2);
    expect(r.status).toBe(0);
    expect(r.calls.filter((c) => c === "docker stack rm web")).toHaveLength(3);
    expect(r.stderr).toContain("network net1 is in use by task t1");
    expect(r.stderr).toContain("trying again");
    expect(r.stderr).toContain("stack-rm[web]: removed");
  });

  test("a removal that keeps failing fails at the deadline, saying why", () => {
    // `sleep` takes no time here, so the deadline is reached by SECONDS only: 1 s.
    const r = stackRm(1_000_000, 1);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      "ERROR: docker stack rm still fails after 1s: failed to remove some resources from stack: web",
    );
  });

  test("a stack that is not deployed is already removed", () => {
    const fake = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-fake-"));
    fs.writeFileSync(path.join(fake, "docker"), '#!/bin/sh\necho "docker $*" >>"$FAKE/calls"\n', {
      mode: 0o755,
    });
    const run = spawnSync("bash", ["-c", scriptCommand("stack-rm.sh", ["web"], STACKS_SCRIPTS)], {
      env: { ...process.env, PATH: `${fake}:${process.env.PATH}`, FAKE: fake },
    });
    expect(run.status).toBe(0);
    expect(fs.readFileSync(path.join(fake, "calls"), "utf8")).not.toContain("stack rm");
    fs.rmSync(fake, { recursive: true, force: true });
  });
});

describe("stack-deploy.sh is bounded by its timeout whatever the CLI does", () => {
  test("a `docker stack deploy` that never returns is stopped at the deadline", () => {
    const fake = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-fake-"));
    // The CLI hangs (a registry that never answers the digest lookup, say).
    const docker = String.raw`#!/usr/bin/env bash
case "$*" in
  "stack deploy --help") echo "      --detach   Exit immediately instead of waiting" ;;
  "stack deploy "*) exec /bin/sleep 60 ;;
  *) echo "fake docker: unexpected: $*" >&2; exit 99 ;;
esac
`;
    fs.writeFileSync(path.join(fake, "docker"), docker, { mode: 0o755 });
    const bundle = `stack.yml ${Buffer.from("services: {}\n").toString("base64")}\n`;
    const t0 = Date.now();
    const run = spawnSync(
      "bash",
      ["-c", scriptCommand("stack-deploy.sh", ["web", "2"], STACKS_SCRIPTS)],
      {
        input: bundle,
        env: { ...process.env, PATH: `${fake}:${process.env.PATH}` },
      },
    );
    fs.rmSync(fake, { recursive: true, force: true });
    expect(run.status).toBe(1);
    expect((Date.now() - t0) / 1000).toBeLessThan(10);
    expect(run.stderr.toString()).toContain(
      "stack-deploy[web]: ERROR: docker stack deploy did not return within 2s",
    );
  });
});

describe("stack-deploy.sh tells how a slow deploy is getting on", () => {
  test("while a service is unfinished, a line at least every DO_SWARM_PROGRESS_SECONDS naming it and its progress", () => {
    const fake = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-fake-"));
    // web_api is updating and never gets its new task running; web_db is converged.
    const docker = String.raw`#!/usr/bin/env bash
case "$*" in
  "stack deploy --help") echo "      --detach   Exit immediately instead of waiting" ;;
  "stack deploy "*) exit 0 ;;
  "service ls "*) printf 'web_api\nweb_db\n' ;;
  "service ps --filter desired-state=running --format {{.Name}} "*) printf 'web_api.1\nweb_db.1\n' ;;
  "service ps --filter _up-to-date=true "*) printf 'web_db.1 Running 5 minutes ago\n' ;;
  "service inspect "*) printf 'web_api|replicated|1|updating|update in progress\nweb_db|replicated|1|completed|update completed\n' ;;
  "service ps --no-trunc -q "*) echo t1 ;;
  "service ps --no-trunc --format "*) echo "starting container failed" ;;
  "inspect "*) echo "starting: preparing" ;;
  *) echo "fake docker: unexpected: $*" >&2; exit 99 ;;
esac
`;
    fs.writeFileSync(path.join(fake, "docker"), docker, { mode: 0o755 });
    const bundle = `stack.yml ${Buffer.from("services: {}\n").toString("base64")}\n`;
    const run = spawnSync(
      "bash",
      ["-c", scriptCommand("stack-deploy.sh", ["web", "7"], STACKS_SCRIPTS)],
      {
        input: bundle,
        env: {
          ...process.env,
          PATH: `${fake}:${process.env.PATH}`,
          DO_SWARM_PROGRESS_SECONDS: "2",
        },
      },
    );
    fs.rmSync(fake, { recursive: true, force: true });
    const err = run.stderr.toString();
    expect(run.status).toBe(1);
    const lines = err.split("\n").filter((l) => l.includes("still waiting after"));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(
      /^stack-deploy\[web\]: still waiting after \d+s of 7s: web_api: update updating \(swarm: update in progress\); 0\/1 up-to-date tasks running$/,
    );
    // The converged service is not named; the verdict at the deadline still is.
    expect(lines.join("\n")).not.toContain("web_db");
    expect(err).toContain("FAILED web_api:");
  }, 20000);
});
