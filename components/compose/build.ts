// `build:` is ignored by `docker stack deploy`, but it tells us how to make the image: the caller
// may build and push it (when a registry is configured) and pass the pushed reference back in
// `images`. The rendered stack never contains `build:`.
import * as fs from "fs";
import * as path from "path";
import { onlyBesideOther } from "./files";
import { BuildSpec, Report, Yaml, isMap } from "./types";

/** A name for the image of a build-only service, like compose's `<project>-<service>`. */
export function suggestedImage(dir: string, service: string): string {
  const project = path
    .basename(path.resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, "");
  return `${project !== "" ? project : "stack"}-${service.toLowerCase()}`;
}

function isRemote(context: string): boolean {
  return /^(https?:\/\/|git@|git:\/\/|github\.com\/)/.test(context);
}

function argsOf(
  raw: Yaml | undefined,
  env: Record<string, string>,
): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  const put = (k: string, v: Yaml | undefined) => {
    // A bare arg (`- VERSION` or `VERSION:`) takes its value from the environment, as in compose.
    if (v === null || v === undefined) {
      if (Object.prototype.hasOwnProperty.call(env, k)) out[k] = env[k];
    } else out[k] = String(v);
  };
  if (Array.isArray(raw)) {
    for (const item of raw) {
      const s = String(item);
      const eq = s.indexOf("=");
      put(eq < 0 ? s : s.slice(0, eq), eq < 0 ? null : s.slice(eq + 1));
    }
  } else if (isMap(raw)) {
    for (const [k, v] of Object.entries(raw)) put(k, v);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The BuildSpec for a service's `build:` value, or undefined (with a problem) if malformed. */
export function buildSpec(
  service: string,
  build: Yaml,
  image: string | undefined,
  dir: string,
  env: Record<string, string>,
  report: Report,
): BuildSpec | undefined {
  const where = `services.${service}.build`;
  const raw = typeof build === "string" ? { context: build } : build;
  if (!isMap(raw)) {
    report.problem(where, "must be a path or a mapping with context:");
    return undefined;
  }
  const context = typeof raw.context === "string" && raw.context !== "" ? raw.context : ".";
  if (!isRemote(context) && !fs.existsSync(path.resolve(dir, context))) {
    // A context that exists nowhere is the builder's to report; one that exists only beside a
    // later file of a merge is a path written relative to the wrong directory.
    const elsewhere = onlyBesideOther(dir, context, report.sourceOf(`${where}.context`));
    if (elsewhere) {
      report.problem(
        `${where}.context`,
        `${path.resolve(dir, context)} does not exist: ${elsewhere}`,
      );
    }
  }
  const spec: BuildSpec = {
    service,
    context: isRemote(context) ? context : path.resolve(dir, context),
    buildOnly: false, // set by the caller, which knows whether the file names an image
  };
  if (typeof raw.dockerfile === "string") spec.dockerfile = raw.dockerfile;
  const args = argsOf(raw.args, env);
  if (args) spec.args = args;
  if (typeof raw.target === "string") spec.target = raw.target;
  if (image !== undefined) spec.image = image;
  return spec;
}
