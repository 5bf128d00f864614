/** Config of the stacks: which compose files to deploy, and how. */
import * as fs from "fs";
import * as path from "path";
import type { UpdateDefaults } from "../compose";
import { cliScalarsAsStrings, DNS_LABEL, Fail, isCount, isObject } from "../core/config";

/** Overrides of the rolling-update defaults the renderer merges into every service. */
export type StackUpdateConfig = UpdateDefaults;

/** One compose stack the program deploys. */
export interface StackConfig {
  /** Stack name (`docker stack deploy ... NAME`): DNS-safe. */
  name: string;
  /**
   * Compose file, relative to the project directory; or several, merged in order as
   * `docker stack deploy -c base.yml -c prod.yml` merges them (relative paths inside every file
   * resolve against the first file's directory).
   */
  file: string | string[];
  /** Plain values for `${VAR}` interpolation. Put secrets in `secretEnv`. @default {} */
  env?: Record<string, string>;
  /**
   * Secret values for `${VAR}` interpolation: VAR -> name of a secret config key in this
   * project's namespace (`pulumi config set --secret KEY VALUE`). @default {}
   */
  secretEnv?: Record<string, string>;
  /** Per-service replica counts: the horizontal scaling knob. @default {} */
  replicas?: Record<string, number>;
  /** Overrides of the rolling-update defaults. @default {} */
  update?: StackUpdateConfig;
  /** Seconds the deploy waits for every changed service to converge. @default 600 */
  timeoutSeconds?: number;
  /**
   * Resolve every image tag to its current digest at `pulumi up`/`preview` time, so a moved tag
   * shows in the preview and rolls out. @default false
   */
  pinImages?: boolean;
}

/** The well-formed stacks (all of them when there is no problem). */
export function validateStacks(
  s: unknown,
  problems: readonly string[],
  fail: Fail,
): StackConfig[] | undefined {
  if (!Array.isArray(s)) {
    fail("stacks", s, 'use a list such as [{ "name": "web", "file": "stacks/web/stack.yml" }]');
    return undefined;
  }
  const seen = new Set<string>();
  const good: StackConfig[] = [];
  const stringMap = (key: string, v: unknown) => {
    if (v === undefined) return;
    if (!isObject(v) || Object.values(v).some((x) => typeof x !== "string")) {
      fail(key, v, "use an object of NAME: string");
    }
  };
  s.forEach((stack: unknown, i) => {
    const key = `stacks[${i}]`;
    const before = problems.length;
    if (!isObject(stack)) {
      fail(key, stack, "each stack is an object with name and file");
      return;
    }
    if (typeof stack.name !== "string" || !DNS_LABEL.test(stack.name)) {
      fail(`${key}.name`, stack.name, "use a lowercase DNS label (a-z, 0-9, '-')");
    } else if (seen.has(stack.name)) {
      fail(`${key}.name`, stack.name, "stack names must be unique");
    } else seen.add(stack.name);
    const files: unknown[] = Array.isArray(stack.file) ? stack.file : [stack.file];
    if (files.length === 0 || files.some((f) => typeof f !== "string" || f === "")) {
      fail(
        `${key}.file`,
        stack.file,
        'give the compose file\'s path relative to the project, e.g. stacks/web/stack.yml, or a non-empty list merged in order, e.g. ["stacks/web/docker-compose.yml", "stacks/web/docker-compose.prod.yml"]',
      );
    } else {
      // The project directory: this module lives in components/config/ (index.ts resolves
      // stack files against its own directory, the project's).
      const projectDir = path.resolve(__dirname, "../..");
      files.forEach((f, j) => {
        const abs = path.resolve(projectDir, f as string);
        if (!fs.existsSync(abs) || fs.statSync(abs).isDirectory()) {
          fail(
            Array.isArray(stack.file) ? `${key}.file[${j}]` : `${key}.file`,
            f,
            `no such compose file (looked for ${abs}); fix the path, relative to the project directory`,
          );
        }
      });
    }
    const env = cliScalarsAsStrings(stack.env);
    const secretEnv = cliScalarsAsStrings(stack.secretEnv);
    stringMap(`${key}.env`, env);
    stringMap(`${key}.secretEnv`, secretEnv);
    if (stack.replicas !== undefined) {
      if (!isObject(stack.replicas))
        fail(`${key}.replicas`, stack.replicas, "use an object of SERVICE: count");
      else
        for (const [svc, n] of Object.entries(stack.replicas)) {
          if (!isCount(n))
            fail(`${key}.replicas.${svc}`, n, "use a whole number of replicas, 0 or more");
        }
    }
    if (stack.update !== undefined) validateUpdate(`${key}.update`, stack.update, fail);
    if (stack.pinImages !== undefined && typeof stack.pinImages !== "boolean") {
      fail(`${key}.pinImages`, stack.pinImages, "use true or false");
    }
    const t = stack.timeoutSeconds;
    if (t !== undefined && (!isCount(t) || t < 30)) {
      fail(`${key}.timeoutSeconds`, t, "use a whole number of seconds, at least 30");
    }
    if (problems.length === before) {
      const ok = { ...stack } as unknown as StackConfig;
      if (env !== undefined) ok.env = env as Record<string, string>;
      if (secretEnv !== undefined) ok.secretEnv = secretEnv as Record<string, string>;
      good.push(ok);
    }
  });
  return good;
}

function validateUpdate(key: string, u: unknown, fail: Fail) {
  if (!isObject(u)) {
    fail(key, u, 'use an object such as { "parallelism": 2, "order": "start-first" }');
    return;
  }
  const known = [
    "parallelism",
    "delaySeconds",
    "monitorSeconds",
    "failureAction",
    "maxFailureRatio",
    "order",
  ];
  for (const [k, v] of Object.entries(u)) {
    if (!known.includes(k))
      fail(`${key}.${k}`, v, `unknown setting; use one of ${known.join(", ")}`);
  }
  if (u.parallelism !== undefined && !isCount(u.parallelism)) {
    fail(`${key}.parallelism`, u.parallelism, "use a whole number (0 means all at once)");
  }
  for (const k of ["delaySeconds", "monitorSeconds"]) {
    if (u[k] !== undefined && !(typeof u[k] === "number" && (u[k] as number) >= 0)) {
      fail(`${key}.${k}`, u[k], "use a number of seconds, 0 or more");
    }
  }
  if (
    u.failureAction !== undefined &&
    !["rollback", "pause", "continue"].includes(u.failureAction as string)
  ) {
    fail(`${key}.failureAction`, u.failureAction, "use rollback, pause or continue");
  }
  const r = u.maxFailureRatio;
  if (r !== undefined && !(typeof r === "number" && r >= 0 && r <= 1)) {
    fail(`${key}.maxFailureRatio`, r, "use a fraction between 0 and 1");
  }
  if (u.order !== undefined && !["start-first", "stop-first"].includes(u.order as string)) {
    fail(`${key}.order`, u.order, "use start-first or stop-first");
  }
}
