/**
 * Replays a plan of remote commands (made by tests/lab/plan.ts from the real components) on the
 * lab hosts over SSH, the way Pulumi would run the `remote.Command` resources:
 *
 *   npx ts-node --transpile-only tests/lab/replay.ts --plan NEW.json [--prev OLD.json]
 *     [--state STATE.json] [--out DIR] [--key KEY] [--all] [--parallel N] [--timeout SECONDS]
 *     [--map FROM=TO ...]
 *
 * - No --prev: every command is created (its `create` runs).
 * - --prev OLD.json: a `pulumi up` from OLD to NEW. A command only in NEW is created; one in both
 *   whose create/update/delete/stdin changed is updated (its `update`, or `create` again when it
 *   has none, as @pulumi/command does); one whose `triggers` changed is REPLACED, as the SDK's
 *   replaceOnChanges makes Pulumi do: the new one's `create` runs, and the old one's `delete`
 *   runs with the deletes (or, for a command with deleteBeforeReplace, the old one's `delete`
 *   runs first, in the new one's place in the order, then its `create`); one unchanged is left alone; one only in OLD is deleted (its `delete`
 *   from OLD) after every create and update, in reverse dependency order.
 * - --all: every command of NEW runs its `create` again (the idempotency re-run).
 * - --delete-only NAMES (comma-separated, with --prev): runs only the OLD deletes of these
 *   commands, in reverse dependency order, and nothing else. The engine's dependent
 *   replacements (step_generator.go calculateDependentReplacements): before a delete-first
 *   replacement of a resource the replay does not run (a VolumeAttachment, which do-volumes.ts
 *   replaces), the engine deletes the commands that take an input from it. Then `--gone NAMES`
 *   in the replay of the rest of that `up`: these were deleted already, so they are created
 *   anew (their old delete does not run again).
 * Commands run as soon as their dependsOn have succeeded, independent ones in parallel. As in
 * Pulumi, the first failure stops new commands from starting; those already running finish.
 *
 * Outputs: a command's text may use what an earlier command printed, written by plan.ts as
 *   {{stdout:NAME}}            the trimmed stdout of command NAME
 *   {{stdout:NAME|json:FIELD}} FIELD of the JSON object NAME printed
 * The stdout of every command that ran is kept in --state (default DIR/../state.json), so later
 * replays substitute the outputs of commands they do not run, as Pulumi's state would.
 *
 * Writes DIR/NAME.OP.out and .err for every command, DIR/results.json, prints one line per
 * command and exits 1 if any command failed.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";

export interface PlanCommand {
  name: string;
  host: string;
  create: string;
  update: string | null;
  delete: string | null;
  stdin: string | null;
  /** The `triggers` input (JSON), and the inputs whose change REPLACES the command. */
  triggers: unknown[] | null;
  replaceOnChanges: string[];
  /** A replacement deletes the old command before it creates the new one. */
  deleteBeforeReplace?: boolean;
  dependsOn: string[];
}

export interface Plan {
  commands: PlanCommand[];
}

export type Op = "create" | "update" | "delete";

export interface Result {
  name: string;
  op: Op;
  host: string;
  status: "ok" | "failed" | "skipped";
  exitCode: number | null;
  seconds: number;
  stdout: string;
  stderr: string;
  reason?: string;
}

interface Options {
  plan: string;
  prev?: string;
  state: string;
  out: string;
  key: string;
  all: boolean;
  parallel: number;
  timeout: number;
  map: Record<string, string>;
  deleteOnly: string[];
  gone: string[];
  /**
   * The outputs as the previous deployment left them: what an OLD command's delete is
   * resolved with (the engine deletes with the inputs stored with it, e.g. the OLD node ID,
   * even when this run has already printed a new one under the same name).
   */
  previous?: Record<string, string>;
}

const SSH_OPTS = [
  "-F",
  "/dev/null",
  "-o",
  "IdentitiesOnly=yes",
  "-o",
  "StrictHostKeyChecking=no",
  "-o",
  "UserKnownHostsFile=/dev/null",
  "-o",
  "GlobalKnownHostsFile=/dev/null",
  "-o",
  "LogLevel=ERROR",
  "-o",
  "BatchMode=yes",
  "-o",
  "ConnectTimeout=5",
  "-o",
  "ServerAliveInterval=5",
  "-o",
  "ServerAliveCountMax=6",
];

/** Like @pulumi/command's dialErrorLimit: connection failures are retried, command failures not. */
const DIAL_ATTEMPTS = 10;
const DIAL_ERROR = /ssh: connect to host|Connection (refused|timed out|closed by)|No route to host/;

function parseArgs(argv: string[]): Options {
  const here = __dirname;
  const o: Partial<Options> & { map: Record<string, string> } = {
    key: path.join(here, ".run", "id_ed25519"),
    all: false,
    parallel: 10,
    timeout: 900,
    map: {},
    deleteOnly: [],
    gone: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case "--plan":
        o.plan = value();
        break;
      case "--prev":
        o.prev = value();
        break;
      case "--state":
        o.state = value();
        break;
      case "--out":
        o.out = value();
        break;
      case "--key":
        o.key = value();
        break;
      case "--all":
        o.all = true;
        break;
      case "--parallel":
        o.parallel = Number(value());
        break;
      case "--timeout":
        o.timeout = Number(value());
        break;
      case "--delete-only":
        o.deleteOnly = value().split(",").filter(Boolean);
        break;
      case "--gone":
        o.gone = value().split(",").filter(Boolean);
        break;
      case "--map": {
        const [from, to] = value().split("=");
        if (!from || !to) throw new Error("--map needs FROM=TO");
        o.map[from] = to;
        break;
      }
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  if (!o.plan) throw new Error("--plan is required");
  const out = o.out ?? path.join(here, ".run", "replay");
  return {
    plan: o.plan,
    prev: o.prev,
    out,
    state: o.state ?? path.join(path.dirname(out), "state.json"),
    key: o.key!,
    all: o.all ?? false,
    parallel: o.parallel!,
    timeout: o.timeout!,
    map: o.map,
    deleteOnly: o.deleteOnly ?? [],
    gone: o.gone ?? [],
  };
}

export function readPlan(file: string): Plan {
  const plan = JSON.parse(fs.readFileSync(file, "utf8")) as Plan;
  if (!Array.isArray(plan.commands)) throw new Error(`${file}: no "commands" array`);
  const seen = new Set<string>();
  for (const c of plan.commands) {
    if (typeof c.name !== "string" || typeof c.host !== "string" || typeof c.create !== "string") {
      throw new Error(
        `${file}: a command lacks name, host or create: ${JSON.stringify(c).slice(0, 200)}`,
      );
    }
    if (seen.has(c.name)) throw new Error(`${file}: two commands are named ${c.name}`);
    seen.add(c.name);
    c.update ??= null;
    c.delete ??= null;
    c.stdin ??= null;
    c.triggers ??= null;
    c.replaceOnChanges ??= [];
    c.dependsOn ??= [];
  }
  return plan;
}

const PLACEHOLDER = /\{\{stdout:([^}|]+)(?:\|json:([^}]+))?\}\}/g;

/** Replaces the {{stdout:...}} placeholders of TEXT with the outputs kept in STATE. */
export function substitute(text: string, state: Record<string, string>): string {
  return text.replace(PLACEHOLDER, (_m, name: string, field: string | undefined) => {
    const out = state[name];
    if (out === undefined) throw new Error(`the output of ${name} is needed but it has not run`);
    if (field === undefined) return out.trim();
    let value: unknown;
    try {
      value = (JSON.parse(out) as Record<string, unknown>)[field];
    } catch {
      throw new Error(`the output of ${name} is not JSON, so it has no field ${field}`);
    }
    if (value === undefined) throw new Error(`the output of ${name} has no field ${field}`);
    return String(value);
  });
}

/** Names of the commands TEXT takes an output from. */
export function outputsUsed(text: string | null): string[] {
  return text === null ? [] : [...text.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

interface Step {
  cmd: PlanCommand;
  op: Op;
  /** A delete-first replacement: the OLD command, whose delete runs just before this create. */
  deleteFirst?: PlanCommand;
  /** Names of the steps (of the same phase) that must succeed first. */
  after: string[];
}

/** What a `pulumi up` from PREV to NEXT runs: [creates and updates, deletes]. */
export function diffPlans(prev: Plan | undefined, next: Plan, all: boolean): [Step[], Step[]] {
  const old = new Map((prev?.commands ?? []).map((c) => [c.name, c]));
  const same = (a: PlanCommand, b: PlanCommand) =>
    a.host === b.host &&
    a.create === b.create &&
    a.update === b.update &&
    a.delete === b.delete &&
    a.stdin === b.stdin &&
    JSON.stringify(a.triggers) === JSON.stringify(b.triggers);
  const replaced = (a: PlanCommand, b: PlanCommand) =>
    b.replaceOnChanges.some((p) => p.startsWith("triggers")) &&
    JSON.stringify(a.triggers) !== JSON.stringify(b.triggers);
  const forward: Step[] = [];
  const replacedOld: PlanCommand[] = [];
  for (const c of next.commands) {
    const before = old.get(c.name);
    let op: Op | undefined;
    if (all || before === undefined) op = "create";
    else if (replaced(before, c)) {
      op = "create";
      if (c.deleteBeforeReplace) {
        forward.push({ cmd: c, op, after: [], deleteFirst: before });
        continue;
      }
      replacedOld.push(before);
    } else if (!same(before, c)) op = "update";
    if (op) forward.push({ cmd: c, op, after: [] });
  }
  const running = new Set(forward.map((s) => s.cmd.name));
  for (const s of forward) {
    const deps = [
      ...s.cmd.dependsOn,
      ...outputsUsed(s.cmd.create),
      ...outputsUsed(s.cmd.update),
      ...outputsUsed(s.cmd.stdin),
    ];
    s.after = [...new Set(deps.filter((d) => running.has(d) && d !== s.cmd.name))];
  }
  // Deletes: a removed command goes after every removed command that depends on it.
  const kept = new Set(next.commands.map((c) => c.name));
  const removed = (prev?.commands ?? []).filter((c) => !kept.has(c.name));
  const removedNames = new Set(removed.map((c) => c.name));
  const deletes: Step[] = removed.map((c) => ({
    cmd: c,
    op: "delete",
    after: removed
      .filter((d) => d.name !== c.name && d.dependsOn.includes(c.name))
      .map((d) => d.name),
  }));
  for (const d of deletes) d.after = d.after.filter((n) => removedNames.has(n));
  // The old half of a replacement is deleted once everything new is in place.
  for (const c of replacedOld) deletes.push({ cmd: c, op: "delete", after: [] });
  return [forward, deletes];
}

function runSsh(
  host: string,
  command: string,
  stdin: string | null,
  key: string,
  timeoutS: number,
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  // A local command (host "local") runs here, as @pulumi/command's local.Command does:
  // `/bin/sh -c COMMAND` in the environment Pulumi runs in.
  const [file, args] =
    host === "local"
      ? ["/bin/sh", ["-c", command]]
      : ["ssh", [...SSH_OPTS, "-i", key, `root@${host}`, command]];
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutS * 1000);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.stdin.on("error", () => undefined);
    child.stdin.end(stdin ?? "");
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({
        code: timedOut ? null : code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        timedOut,
      });
    });
  });
}

const fileSafe = (s: string) => s.replace(/[^a-zA-Z0-9._-]/g, "_");

async function runStep(
  step: Step,
  o: Options,
  state: Record<string, string>,
  report: (r: Result) => void = () => undefined,
): Promise<Result> {
  if (step.deleteFirst) {
    const del = await runStep({ cmd: step.deleteFirst, op: "delete", after: [] }, o, state);
    report(del);
    if (del.status !== "ok")
      return { ...del, op: step.op, reason: `the delete of the old ${del.name} failed` };
  }
  const { cmd, op } = step;
  const host = o.map[cmd.host] ?? cmd.host;
  const base: Omit<Result, "status" | "exitCode" | "seconds" | "stdout" | "stderr"> = {
    name: cmd.name,
    op,
    host,
  };
  const text =
    op === "create" ? cmd.create : op === "update" ? (cmd.update ?? cmd.create) : cmd.delete;
  if (text === null) {
    return {
      ...base,
      status: "ok",
      exitCode: 0,
      seconds: 0,
      stdout: "",
      stderr: "",
      reason: "no delete command",
    };
  }
  const t0 = Date.now();
  let command: string;
  let stdin: string | null;
  try {
    const values = op === "delete" ? (o.previous ?? state) : state;
    command = substitute(text, values);
    stdin = cmd.stdin === null ? null : substitute(cmd.stdin, values);
  } catch (e) {
    return {
      ...base,
      status: "failed",
      exitCode: null,
      seconds: 0,
      stdout: "",
      stderr: "",
      reason: String(e),
    };
  }
  let r = await runSsh(host, command, stdin, o.key, o.timeout);
  for (
    let attempt = 1;
    attempt < DIAL_ATTEMPTS && r.code === 255 && DIAL_ERROR.test(r.stderr);
    attempt++
  ) {
    await new Promise((res) => setTimeout(res, 1000));
    r = await runSsh(host, command, stdin, o.key, o.timeout);
  }
  const seconds = (Date.now() - t0) / 1000;
  const stem = path.join(o.out, `${fileSafe(cmd.name)}.${op}`);
  fs.writeFileSync(`${stem}.out`, r.stdout);
  fs.writeFileSync(`${stem}.err`, r.stderr);
  if (r.code === 0) {
    if (op !== "delete") state[cmd.name] = r.stdout;
    else delete state[cmd.name];
    return { ...base, status: "ok", exitCode: 0, seconds, stdout: r.stdout, stderr: r.stderr };
  }
  const reason = r.timedOut ? `timed out after ${o.timeout}s` : `exit ${r.code}`;
  return {
    ...base,
    status: "failed",
    exitCode: r.code,
    seconds,
    stdout: r.stdout,
    stderr: r.stderr,
    reason,
  };
}

/** Runs STEPS respecting `after`, up to PARALLEL at once; stops starting new ones after a failure. */
async function runSteps(
  steps: Step[],
  o: Options,
  state: Record<string, string>,
  report: (r: Result) => void,
): Promise<Result[]> {
  const results = new Map<string, Result>();
  const pending = new Map(steps.map((s) => [s.cmd.name, s]));
  const running = new Map<string, Promise<void>>();
  let failed = false;
  const skip = (s: Step, reason: string) => {
    const r: Result = {
      name: s.cmd.name,
      op: s.op,
      host: o.map[s.cmd.host] ?? s.cmd.host,
      status: "skipped",
      exitCode: null,
      seconds: 0,
      stdout: "",
      stderr: "",
      reason,
    };
    results.set(s.cmd.name, r);
    report(r);
  };
  while (pending.size > 0 || running.size > 0) {
    let progressed = false;
    for (const [name, s] of [...pending]) {
      const bad = s.after.find((d) => results.get(d) && results.get(d)!.status !== "ok");
      if (bad !== undefined) {
        pending.delete(name);
        skip(s, `${bad} did not succeed`);
        progressed = true;
        continue;
      }
      if (failed) continue;
      if (running.size >= o.parallel) break;
      if (s.after.every((d) => results.get(d)?.status === "ok")) {
        pending.delete(name);
        progressed = true;
        running.set(
          name,
          runStep(s, o, state, report).then((r) => {
            results.set(name, r);
            running.delete(name);
            if (r.status === "failed") failed = true;
            report(r);
          }),
        );
      }
    }
    if (running.size > 0) await Promise.race(running.values());
    else if (!progressed) {
      for (const [, s] of pending)
        skip(s, failed ? "an earlier command failed" : "its dependencies never ran (cycle?)");
      pending.clear();
    }
  }
  return steps.map((s) => results.get(s.cmd.name)!);
}

function printResult(r: Result): void {
  const tag = r.status === "ok" ? "ok     " : r.status === "failed" ? "FAILED " : "skipped";
  const extra = r.reason && r.status !== "ok" ? ` (${r.reason})` : "";
  console.log(`  ${tag} ${r.op.padEnd(6)} ${r.name} @${r.host} ${r.seconds.toFixed(1)}s${extra}`);
  if (r.status === "failed") {
    const tail = (s: string) =>
      s
        .trimEnd()
        .split("\n")
        .slice(-15)
        .map((l) => `      | ${l}`)
        .join("\n");
    if (r.stderr.trim()) console.log(`    stderr:\n${tail(r.stderr)}`);
    if (r.stdout.trim() && r.op !== "create") console.log(`    stdout:\n${tail(r.stdout)}`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  const next = readPlan(o.plan);
  const prev = o.prev ? readPlan(o.prev) : undefined;
  fs.mkdirSync(o.out, { recursive: true });
  const state: Record<string, string> = fs.existsSync(o.state)
    ? (JSON.parse(fs.readFileSync(o.state, "utf8")) as Record<string, string>)
    : {};
  o.previous = { ...state };
  if ((o.deleteOnly.length > 0 || o.gone.length > 0) && !prev) {
    throw new Error("--delete-only and --gone need --prev");
  }
  const named = (names: string[]) =>
    names.map((n) => {
      const c = prev!.commands.find((x) => x.name === n);
      if (!c) throw new Error(`${n} is not a command of ${o.prev}`);
      return c;
    });
  let [forward, deletes] = diffPlans(
    prev && { ...prev, commands: prev.commands.filter((c) => !o.gone.includes(c.name)) },
    next,
    o.all,
  );
  if (o.deleteOnly.length > 0) {
    const olds = named(o.deleteOnly);
    forward = [];
    deletes = olds.map((c) => ({
      cmd: c,
      op: "delete" as const,
      after: olds.filter((d) => d !== c && d.dependsOn.includes(c.name)).map((d) => d.name),
    }));
  }
  named(o.gone);
  const t0 = Date.now();
  console.log(
    `replay ${path.basename(o.plan)}${prev ? ` from ${path.basename(o.prev!)}` : ""}${o.all ? " (re-run all)" : ""}: ` +
      `${forward.filter((s) => s.op === "create").length} create, ${forward.filter((s) => s.op === "update").length} update, ` +
      `${deletes.length} delete, ${next.commands.length - forward.length} unchanged`,
  );
  // Every result reported, a delete-first replacement's delete included.
  const results: Result[] = [];
  const report = (r: Result) => {
    results.push(r);
    printResult(r);
  };
  const forwardResults = await runSteps(forward, o, state, report);
  if (forwardResults.every((r) => r.status === "ok")) {
    await runSteps(deletes, o, state, report);
  } else {
    for (const s of deletes) {
      const r: Result = {
        name: s.cmd.name,
        op: "delete",
        host: s.cmd.host,
        status: "skipped",
        exitCode: null,
        seconds: 0,
        stdout: "",
        stderr: "",
        reason: "an earlier command failed",
      };
      results.push(r);
      printResult(r);
    }
  }
  fs.writeFileSync(o.state, JSON.stringify(state, null, 2));
  fs.writeFileSync(path.join(o.out, "results.json"), JSON.stringify(results, null, 2));
  const count = (st: Result["status"]) => results.filter((r) => r.status === st).length;
  console.log(
    `replay: ${count("ok")} ok, ${count("failed")} failed, ${count("skipped")} skipped in ${((Date.now() - t0) / 1000).toFixed(1)}s`,
  );
  return count("failed") + count("skipped") > 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`replay: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(2);
    },
  );
}
