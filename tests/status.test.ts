// `npm run status` and `npm run logs`: the report's judgement on recorded answers, and the whole
// command run against a stand-in `ssh` (which runs the script it is sent locally) and a
// stand-in `docker` that answers as a swarm with a crashing service and a powered-off worker
// does. The lab runs the same against a real swarm.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { judge, parseCollected, renderReport } from "../components/status/report";
import { logsCommand, parseLogsArgs } from "../components/status/logs";
import { parseStatusArgs } from "../components/status/cli";

const TS_NODE = path.join(__dirname, "..", "node_modules", ".bin", "ts-node");

const HEALTHY = `### self
m0
### nodes
m0|manager|ready|active|28.5.1|true|reachable
m1|manager|ready|active|28.5.1|false|reachable
m2|manager|ready|active|28.5.1|false|reachable
w0|worker|ready|active|28.5.1|false|
w1|worker|ready|drain|28.5.1|false|
### services
web_web|web|replicated|2|completed
web_db|web|replicated|1|
do-swarm-edge_caddy|do-swarm-edge|global||
### tasks
web_web.1|w0|Running 2 hours ago|
web_web.2|m1|Running 2 hours ago|
web_db.1|w0|Running 3 hours ago|
do-swarm-edge_caddy.abc|m0|Running 1 day ago|
do-swarm-edge_caddy.def|m1|Running 1 day ago|
do-swarm-edge_caddy.ghi|m2|Running 1 day ago|
### errors
`;

/** The same swarm with w0 powered off (Down, its tasks still listed as running) and db crashing. */
const DEGRADED = HEALTHY.replace("w0|worker|ready|active", "w0|worker|down|active")
  .replace("web_db|web|replicated|1|", "web_db|web|replicated|1|")
  .replace("### errors\n", "### errors\nweb_db.1|m2|Failed 5 seconds ago|task: non-zero exit (1)\n")
  .replace("web_db.1|w0|Running 3 hours ago|", "web_db.1|m2|Starting 1 second ago|");

test("a healthy swarm: no problem; a drained node is a note, not a problem", () => {
  const r = judge(parseCollected(HEALTHY));
  expect(r.problems).toEqual([]);
  expect(r.notes).toEqual(["node w1 is drain"]);
  expect(r.services.find((s) => s.name === "do-swarm-edge_caddy")).toMatchObject({
    desired: 3,
    running: 3,
  });
  const screen = renderReport({ ...r, holder: "m0" });
  expect(screen).toContain("entry point: reserved IP on m0; raft leader: m0");
  expect(screen).toMatch(/^web\s+web_web\s+2\/2\s+completed$/m);
  expect(screen).toMatch(/status: healthy\n$/);
});

test("a powered-off worker and a crashing service: degraded, both named, with the task's error", () => {
  const r = judge(parseCollected(DEGRADED));
  expect(r.problems).toEqual([
    "node w0 is down (worker)",
    // web_web's task on w0 is still listed as running: it is not counted.
    "service web_web: 1/2 tasks running",
    "service web_db: 0/1 tasks running (last error on m2: task: non-zero exit (1))",
  ]);
  expect(renderReport(r)).toContain(
    "web_db.1 on m2: Failed 5 seconds ago: task: non-zero exit (1)",
  );
});

test("no leader, an unreachable manager, a paused update, a certificate failing or near expiry", () => {
  const text = HEALTHY.replace(
    "m0|manager|ready|active|28.5.1|true|reachable",
    "m0|manager|ready|active|28.5.1|false|unreachable",
  ).replace("web_web|web|replicated|2|completed", "web_web|web|replicated|2|paused");
  const r = judge(parseCollected(text), {
    certs: [
      { host: "app.example.com", daysLeft: 60 },
      { host: "api.example.com", daysLeft: 3 },
      { host: "old.example.com", error: "certificate has expired" },
    ],
  });
  expect(r.problems).toEqual([
    "manager m0 is unreachable in the raft",
    "the swarm has no raft leader",
    "service web_web: update paused",
    "https://api.example.com/: the certificate expires in 3 days",
    "https://old.example.com/: no valid certificate (certificate has expired)",
  ]);
});

test("an answer without a section (an older or failed script) is refused, not read as healthy", () => {
  expect(() => parseCollected("### self\nm0\n### nodes\n")).toThrow('no "services" section');
});

describe("the command, against a stand-in ssh and docker", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-status-"));
    // ssh ARGS... root@HOST bash -s -- ARGS: runs the script from stdin here, logging the call.
    fs.writeFileSync(
      path.join(dir, "ssh"),
      `#!/usr/bin/env bash\necho "$*" >>"${dir}/ssh.calls"\nwhile [ "$#" -gt 0 ] && [ "$1" != bash ] && [ "$1" != docker ]; do shift; done\nexec "$@"\n`,
      { mode: 0o755 },
    );
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A docker that answers the collect script's calls from the sections of TEXT. */
  function fakeDocker(text: string) {
    const s = new Map<string, string>();
    for (const part of text.split("### ").slice(1)) {
      const [name, ...lines] = part.split("\n");
      s.set(name, lines.filter((l) => l !== "").join("\n"));
      fs.writeFileSync(path.join(dir, name), lines.filter((l) => l !== "").join("\n") + "\n");
    }
    fs.writeFileSync(
      path.join(dir, "docker"),
      `#!/usr/bin/env bash
d="${dir}"
case "$*" in
  "info --format {{.Swarm.ControlAvailable}}") echo true ;;
  "node ls -q") cut -d'|' -f1 "$d/nodes" ;;
  "node inspect --format "*) cat "$d/nodes" ;;
  "service ls -q") cut -d'|' -f1 "$d/services" ;;
  "service inspect --format "*) cat "$d/services" ;;
  "service ps --no-trunc --filter desired-state=running "*) cat "$d/tasks" ;;
  "service ps --no-trunc --format "*) svc="\${*: -1}"; grep "^$svc\\." "$d/errors" || true ;;
  *) echo "fake docker: unexpected: $*" >&2; exit 99 ;;
esac
`,
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(dir, "hostname"), "#!/bin/sh\necho m0\n", { mode: 0o755 });
  }

  function status(...args: string[]) {
    return spawnSync(
      TS_NODE,
      [
        "--transpile-only",
        "components/status/cli.ts",
        "--host",
        "203.0.113.5",
        "--key",
        "/dev/null",
        "--no-certs",
        ...args,
      ],
      {
        cwd: path.join(__dirname, ".."),
        encoding: "utf8",
        env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir },
      },
    );
  }

  test("healthy: exit 0, one screen; the script went over ssh to root@HOST with the key", () => {
    fakeDocker(HEALTHY);
    const r = status();
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/status: healthy\n$/);
    expect(fs.readFileSync(path.join(dir, "ssh.calls"), "utf8")).toMatch(
      /^-i \/dev\/null .*BatchMode=yes.* root@203\.0\.113\.5 bash -s --\n$/,
    );
  }, 30000);

  test("a powered-off worker and a crashing service: exit 1, both named", () => {
    fakeDocker(DEGRADED);
    const r = status();
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("node w0 is down (worker)");
    expect(r.stdout).toContain(
      "service web_db: 0/1 tasks running (last error on m2: task: non-zero exit (1))",
    );
  }, 30000);

  test("--help: usage, exit 0; an unknown option: exit 2", () => {
    const help = spawnSync(TS_NODE, ["--transpile-only", "components/status/cli.ts", "--help"], {
      cwd: path.join(__dirname, ".."),
      encoding: "utf8",
    });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run status/);
    expect(() => parseStatusArgs(["--bogus"])).toThrow("unknown option --bogus");
  }, 30000);
});

test("logs: the names checked, the command the manager runs", () => {
  const a = parseLogsArgs([
    "web",
    "api",
    "--since",
    "1d",
    "--tail",
    "50",
    "--follow",
    "--host",
    "x",
  ]);
  expect(a).not.toBe("help");
  expect(logsCommand(a as Exclude<typeof a, "help">)).toBe(
    "docker service logs --timestamps --no-task-ids --since '24h' --tail 50 --follow 'web_api'",
  );
  expect(() => parseLogsArgs(["web"])).toThrow("name the stack and the service");
  expect(() => parseLogsArgs(["web", "a;b"])).toThrow("name the stack and the service");
  expect(() => parseLogsArgs(["web", "api", "--since", "yesterday"])).toThrow("--since yesterday");
  expect(parseLogsArgs(["--help"])).toBe("help");
});
