/**
 * The GitHub workflows: valid YAML, and every pulumi/actions step passes only inputs that
 * pulumi/actions' action.yml declares (copied to tests/fixtures/pulumi/actions-inputs.json, with
 * its origin), with a command it accepts. The deploy workflow's guards are checked too.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import action from "./fixtures/pulumi/actions-inputs.json";

const DIR = path.join(__dirname, "..", ".github", "workflows");

interface Step {
  uses?: string;
  run?: string;
  if?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
interface Job {
  if?: string;
  env?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  jobs: Record<string, Job>;
}

const load = (file: string) =>
  parse(fs.readFileSync(path.join(DIR, file), "utf8"), { uniqueKeys: true }) as Workflow;
const FILES = fs.readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
const pulumiSteps = (w: Workflow) =>
  Object.values(w.jobs).flatMap((j) =>
    j.steps.filter((s) => s.uses?.startsWith("pulumi/actions@")),
  );

test("both workflows are there", () => {
  expect(FILES.sort()).toEqual(expect.arrayContaining(["deploy.yml", "preview.yml"]));
});

describe.each(FILES)("%s", (file) => {
  const w = load(file);

  test("each pulumi/actions step uses the documented tag, inputs and command", () => {
    const steps = pulumiSteps(w);
    expect(steps.length).toBeGreaterThan(0);
    for (const s of steps) {
      expect(s.uses).toBe(`pulumi/actions@${action.tag}`);
      const inputs = Object.keys(s.with ?? {});
      expect(inputs.filter((i) => !(i in action.inputs))).toEqual([]);
      expect(action.commands).toContain(s.with?.command);
      expect(s.with?.["stack-name"]).toBeDefined();
      // The CLI the program needs (README, Prerequisites), not whatever the runner has.
      expect(s.with?.["pulumi-version"]).toBe("^3.238.0");
    }
  });

  test("the tests run before Pulumi does", () => {
    for (const job of Object.values(w.jobs)) {
      const runs = job.steps.map((s) => s.run ?? s.uses ?? "");
      const pulumi = runs.findIndex((r) => r.startsWith("pulumi/actions@"));
      if (pulumi >= 0)
        expect(runs.slice(0, pulumi)).toEqual(expect.arrayContaining(["npm ci", "npm test"]));
    }
  });
});

describe("deploy.yml", () => {
  const w = load("deploy.yml");
  const job = w.jobs.deploy;

  test("runs `pulumi up` on pushes to the default branch, never on forks", () => {
    expect(Object.keys(w.on)).toContain("push");
    expect(pulumiSteps(w).map((s) => s.with?.command)).toEqual(["up"]);
    expect(job.if).toContain("github.event.repository.fork == false");
    expect(job.if).toContain("github.ref_name == github.event.repository.default_branch");
  });

  test("two deploys of a stack never overlap, and a running one is never cancelled", () => {
    expect(w.concurrency?.group).toMatch(/^deploy-/);
    expect(w.concurrency?.group).toContain(String(pulumiSteps(w)[0].with?.["stack-name"]));
    expect(w.concurrency?.["cancel-in-progress"]).toBe(false);
  });

  test("has the same secrets as the preview workflow", () => {
    const preview = load("preview.yml");
    expect(job.env).toEqual(preview.jobs.preview.env);
  });

  test("after `pulumi up`, the status of the stack deployed; a failed step tells the alerts' channel", () => {
    const runs = job.steps.map((s) => s.run ?? s.uses ?? "");
    const up = runs.findIndex((r) => r.startsWith("pulumi/actions@"));
    const status = runs.findIndex((r) => r.startsWith("npm run --silent status -- --stack"));
    expect(status).toBeGreaterThan(up);
    expect(job.steps[status].env?.STACK).toBe(pulumiSteps(w)[0].with?.["stack-name"]);
    const last = job.steps[job.steps.length - 1];
    expect(last.if).toBe("failure()");
    expect(last.run).toBe('bash .github/scripts/notify-failure.sh "$STACK" "$RUN_URL"');
    expect(last.env?.STACK).toBe(pulumiSteps(w)[0].with?.["stack-name"]);
  });

  test("docs/ci-cd.md names its secrets and how it is used", () => {
    const readme = fs.readFileSync(path.join(__dirname, "..", "docs", "ci-cd.md"), "utf8");
    const section = readme.split(/^## /m).find((s) => s.startsWith("Deploy on merge")) ?? "";
    expect(section).toContain("npm run status");
    expect(section).toContain("notify-failure.sh");
    expect(section).toContain(".github/workflows/deploy.yml");
    for (const v of Object.values(job.env ?? {})) {
      const secret = /secrets\.(\w+)/.exec(v)?.[1];
      expect(readme).toContain(`\`${secret}\``);
    }
    expect(section).toContain("DEPLOY_STACK");
  });
});

describe("preview.yml", () => {
  const w = load("preview.yml");
  const job = w.jobs.preview;

  test("runs `pulumi preview` on pull requests, skipping forks' (they get no secrets)", () => {
    expect(Object.keys(w.on)).toContain("pull_request");
    expect(pulumiSteps(w).map((s) => s.with?.command)).toEqual(["preview"]);
    expect(job.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
  });

  test("previews the stack the repository variable PULUMI_STACK names, dev when unset", () => {
    expect(pulumiSteps(w).map((s) => s.with?.["stack-name"])).toEqual([
      "${{ vars.PULUMI_STACK || 'dev' }}",
    ]);
  });

  test("docs/ci-cd.md names its secrets, the variable and the fork guard", () => {
    const doc = fs.readFileSync(path.join(__dirname, "..", "docs", "ci-cd.md"), "utf8");
    const section = doc.split(/^## /m).find((s) => s.startsWith("Pull-request previews")) ?? "";
    expect(section).toContain(".github/workflows/preview.yml");
    expect(section).toContain("`PULUMI_STACK`");
    expect(section).toMatch(/forks are skipped/);
    for (const v of Object.values(job.env ?? {})) {
      const secret = /secrets\.(\w+)/.exec(v)?.[1];
      expect(section).toContain(`\`${secret}\``);
    }
  });
});

describe("notify-failure.sh, the deploy's last step when one failed", () => {
  const script = path.join(__dirname, "..", ".github", "scripts", "notify-failure.sh");
  const HOOK = "https://hooks.slack.com/services/T000/B000/secret";
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-notify-"));
    fs.writeFileSync(
      path.join(dir, "curl"),
      `#!/usr/bin/env bash\nprintf '%s\\n' "$@" >"${dir}/curl.argv"\ncat >"${dir}/curl.stdin"\n`,
      { mode: 0o755 },
    );
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A pulumi whose `config get --path alerts.slack.urlKey` answers KEY (nothing: not set). */
  function pulumiAnswering(key: string | undefined) {
    fs.writeFileSync(
      path.join(dir, "pulumi"),
      `#!/usr/bin/env bash
case "$*" in
  "config get --path alerts.slack.urlKey --stack prod") ${key === undefined ? 'echo "error: configuration key not found" >&2; exit 255' : `echo '${key}'`} ;;
  "config get slackWebhookUrl --stack prod") echo '${HOOK}' ;;
  *) echo "fake pulumi: unexpected: $*" >&2; exit 99 ;;
esac
`,
      { mode: 0o755 },
    );
  }
  const run = () =>
    spawnSync("bash", [script, "prod", "https://github.com/o/r/actions/runs/1"], {
      encoding: "utf8",
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
    });

  test("with a Slack destination: the message names the stack and the run; the webhook only on curl's stdin, masked in the log", () => {
    pulumiAnswering("slackWebhookUrl");
    const r = run();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`::add-mask::${HOOK}`);
    expect(r.stdout.replace(`::add-mask::${HOOK}`, "")).not.toContain(HOOK);
    const argv = fs.readFileSync(path.join(dir, "curl.argv"), "utf8");
    expect(argv).not.toContain(HOOK);
    expect(fs.readFileSync(path.join(dir, "curl.stdin"), "utf8")).toBe(`url = "${HOOK}"\n`);
    expect(JSON.parse(argv.split("\n")[argv.split("\n").indexOf("--data") + 1])).toEqual({
      text: "do-swarm: the deploy of stack prod failed: https://github.com/o/r/actions/runs/1",
    });
  });

  test("without alerts.slack: says so, calls nothing, exits 0", () => {
    pulumiAnswering(undefined);
    const r = run();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("nothing to notify");
    expect(fs.existsSync(path.join(dir, "curl.argv"))).toBe(false);
  });
});
