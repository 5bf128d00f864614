// A service's environment as docker computes it at deploy time (env_file, then environment,
// value-less variables from the environment), computed at render time from the render env so
// that neither the manager's files nor its shell can change what a service gets.
import { parseEnvFile, readBeside } from "./files";
import { Report, Yaml, YamlMap, isMap } from "./types";

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

export interface EnvContext {
  report: Report;
  dir: string;
  env: Record<string, string>;
}

/** Inline env_file into environment (environment wins), as docker's resolveEnvironment does. */
export function inlineEnvFiles(name: string, svc: YamlMap, ctx: EnvContext): void {
  const files = typeof svc.env_file === "string" ? [svc.env_file] : svc.env_file;
  if (!Array.isArray(files)) return;
  const merged: YamlMap = {};
  files.forEach((f, i) => {
    const where = `services.${name}.env_file[${i}]`;
    const content = readBeside(ctx.dir, String(f), where, ctx.report);
    if (content)
      for (const [k, v] of parseEnvFile(content.toString("utf8"), ctx.env)) merged[k] = v;
  });
  const env = environmentMap(svc.environment);
  svc.environment = { ...merged, ...env };
  delete svc.env_file;
  ctx.report.warn(
    `services.${name}.env_file`,
    "inlined into environment (the bundle deployed on the manager does not carry env files)",
  );
}

/** environment as a mapping (list form `K=V`/`K` converted; `K` alone is null). */
function environmentMap(env: Yaml | undefined): YamlMap {
  if (isMap(env)) return { ...env };
  const out: YamlMap = {};
  if (Array.isArray(env)) {
    for (const item of env) {
      const s = String(item);
      const eq = s.indexOf("=");
      if (eq < 0) out[s] = null;
      else out[s.slice(0, eq)] = s.slice(eq + 1);
    }
  }
  return out;
}

/**
 * A variable without a value (`FOO:` or `- FOO`) is filled from the environment by docker at
 * deploy time (also an empty one). Resolve it from the render env now, so the manager's shell
 * environment never leaks into a service.
 */
export function resolveBareEnvironment(name: string, svc: YamlMap, ctx: EnvContext): void {
  const env = svc.environment;
  const fill = (k: string, v: Yaml): Yaml => {
    if ((v === null || v === "") && has(ctx.env, k)) return ctx.env[k];
    if (v === null) {
      ctx.report.warn(
        `services.${name}.environment.${k}`,
        `has no value and ${k} is not in the env: the variable is passed unset (set ${k} in the stack's env to give it one)`,
      );
    }
    return v;
  };
  if (isMap(env)) {
    const out: YamlMap = {};
    for (const [k, v] of Object.entries(env)) out[k] = fill(k, v);
    svc.environment = out;
  } else if (Array.isArray(env)) {
    svc.environment = env.map((item) => {
      const s = String(item);
      const eq = s.indexOf("=");
      const k = eq < 0 ? s : s.slice(0, eq);
      const v = fill(k, eq < 0 ? null : s.slice(eq + 1));
      return v === null ? s : `${k}=${String(v)}`;
    });
  }
}
