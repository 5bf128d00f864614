// The compose stack renderer: a pure function from a compose file, or several merged as
// `docker stack deploy -c a -c b` merges them (merge.ts), plus env and overrides, to a
// swarm-ready stack bundle. "Pure": it reads only the compose files and the files they
// reference, never process.env, the clock or the network, so the same inputs give
// byte-identical output.
import * as fs from "fs";
import * as path from "path";
import { emitStack } from "./emit";
import { hashFileObjects, readBeside } from "./files";
import { interpolateTree } from "./interpolate";
import { OUTPUT_VERSION, SCHEMA_TOP_KEYS } from "./keys";
import { decode, parseCompose } from "./load";
import { MergeInput, Origins, mergeFiles, schemaVersion } from "./merge";
import { checkReferences } from "./references";
import { ServiceContext, normalizeService } from "./service";
import { checkUpdateDefaults } from "./defaults";
import {
  BuildSpec,
  PublishedPort,
  RenderOptions,
  RenderResult,
  Report,
  StackRenderError,
  YamlMap,
  isMap,
} from "./types";

export type {
  BuildSpec,
  PublishedPort,
  RenderOptions,
  RenderResult,
  UpdateDefaults,
} from "./types";
export { StackRenderError } from "./types";

function readSource(file: string, text: string | Buffer | undefined): string {
  if (text !== undefined) return decode(text);
  try {
    return decode(fs.readFileSync(file));
  } catch (e) {
    throw new StackRenderError(file, [
      `${file}: cannot read the compose file: ${(e as Error).message}`,
    ]);
  }
}

/**
 * Each file on its own, as docker's loader takes them: parsed, interpolated, top level
 * normalised, its messages naming it. Every unreadable or unparsable file is reported at once.
 */
function loadFiles(
  files: string[],
  text: RenderOptions["text"],
  env: Record<string, string>,
  report: Report,
): MergeInput[] {
  const inputs: MergeInput[] = [];
  const parsed = files.map((file, i) => {
    const r = report.forFile(file);
    try {
      return { file, r, data: parseCompose(readSource(file, i === 0 ? text : undefined), r) };
    } catch (e) {
      if (!(e instanceof StackRenderError)) throw e;
      report.problems.push(...e.problems);
      return { file, r, data: undefined };
    }
  });
  report.throwIfProblems();
  const firstVersion = schemaVersion(parsed[0].data);
  for (const { file, r, data } of parsed) {
    if (schemaVersion(data) !== firstVersion) {
      r.problem(
        "version",
        `${JSON.stringify(schemaVersion(data))} differs from ${JSON.stringify(firstVersion)} in ${files[0]}: docker stack deploy refuses files whose versions differ ("version mismatched between two composefiles"); give every file the same version: (or none)`,
      );
    }
    inputs.push({ file, report: r, data: normalizeTop(interpolateTree(data ?? {}, env, r), r) });
  }
  return inputs;
}

/** Top-level keys: version is rewritten, name and unknown keys are dropped with a warning. */
function normalizeTop(data: YamlMap, report: Report): YamlMap {
  const out: YamlMap = {};
  for (const [k, v] of Object.entries(data)) {
    if (k.startsWith("x-")) out[k] = v;
    else if (k === "version") {
      const ver = String(v);
      if (!/^3(\.\d+)?$/.test(ver)) {
        report.warn(
          "version",
          `${JSON.stringify(ver)} is not a version docker stack accepts; rendered as ${OUTPUT_VERSION} (keys v3 does not support are reported separately)`,
        );
      }
    } else if (k === "name") {
      report.warn(
        "name",
        "dropped: docker stack rejects a top-level name; the stack name is given at deploy",
      );
    } else if (!SCHEMA_TOP_KEYS.has(k)) {
      report.warn(k, "dropped: not a top-level key docker stack accepts");
    } else if (v === null) {
      continue; // `networks:` with nothing under it: nothing to keep
    } else if (!isMap(v)) {
      report.problem(k, "must be a mapping");
    } else out[k] = v;
  }
  out.version = OUTPUT_VERSION;
  // A null network/volume entry means "all defaults"; docker writes it as {} too.
  for (const section of ["networks", "volumes"]) {
    const s = out[section];
    if (isMap(s)) {
      const fixed: YamlMap = {};
      for (const [k, v] of Object.entries(s)) fixed[k] = v ?? {};
      out[section] = fixed;
    }
  }
  return out;
}

/** Code-unit order: locale-independent, so the output does not depend on the machine. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** docker's schema: `^[a-zA-Z0-9._-]+$` for service, network, volume, config and secret keys. */
const NAME = /^[a-zA-Z0-9._-]+$/;

function checkNames(data: YamlMap, report: Report): void {
  for (const section of ["services", "networks", "volumes", "configs", "secrets"]) {
    const s = data[section];
    if (!isMap(s)) continue;
    for (const key of Object.keys(s)) {
      if (!NAME.test(key)) {
        report.problem(
          `${section}.${key}`,
          "invalid name: use only letters, digits, '.', '_' and '-'",
        );
      }
    }
  }
}

/**
 * Render a compose file (or several, merged) into a swarm stack bundle. The pipeline, in
 * docker's own order: per file, decode and parse (anchors and merges resolved), interpolate
 * values from `env` and normalise the top level; merge the files (docker/cli's loader merges
 * the loaded files, after per-file interpolation); then, on the merged result, hash and collect
 * file configs/secrets, normalise each service (drop or convert
 * what swarm ignores, resolve images and builds, merge rolling-update defaults), check
 * references, then emit deterministic YAML. Throws one StackRenderError listing every problem.
 */
export function renderStack(opts: RenderOptions): RenderResult {
  const sources = typeof opts.file === "string" ? [opts.file] : opts.file;
  if (sources.length === 0) {
    throw new StackRenderError("(no file)", ["no compose file given: name at least one"]);
  }
  // Relative paths in every file resolve against the first file's directory, as in docker's
  // GetConfigDetails (cli/command/stack/loader): WorkingDir is the first file's.
  const dir = path.dirname(path.resolve(sources[0]));
  const env = opts.env ?? {};
  const origins = new Origins(sources[0]);
  const report = new Report(
    sources.join(" + "),
    sources.length > 1 ? (w) => origins.of(w) : undefined,
  );
  const inputs = loadFiles(sources, opts.text, env, report);
  const data =
    inputs.length === 1 ? inputs[0].data : mergeFiles(inputs, dir, env, origins, readBeside);
  checkUpdateDefaults(opts.update, report);
  checkNames(data, report);

  const files: Record<string, Buffer> = {};
  const stack: YamlMap = { ...data };
  const renamed: Record<"configs" | "secrets", Record<string, string>> = {
    configs: {},
    secrets: {},
  };
  for (const kind of ["configs", "secrets"] as const) {
    const section = data[kind];
    if (!isMap(section)) continue;
    const res = hashFileObjects(kind, section, dir, env, files, report);
    stack[kind] = res.section;
    renamed[kind] = res.renamed;
  }

  const services = isMap(data.services) ? data.services : {};
  if (Object.keys(services).length === 0)
    report.problem("services", "no services defined; add services:");
  const ctx: ServiceContext = {
    report,
    dir,
    env,
    opts,
    renamedConfigs: renamed.configs,
    renamedSecrets: renamed.secrets,
    builds: [] as BuildSpec[],
    ports: [] as PublishedPort[],
    images: {},
  };
  const outServices: YamlMap = {};
  const names = Object.keys(services).sort();
  for (const name of names) {
    const svc = normalizeService(name, services[name], ctx);
    if (svc) outServices[name] = svc;
  }
  stack.services = outServices;
  for (const [option, map] of [
    ["replicas", opts.replicas],
    ["images", opts.images],
  ] as const) {
    for (const name of Object.keys(map ?? {})) {
      if (!Object.prototype.hasOwnProperty.call(services, name)) {
        report.problem(
          `options.${option}.${name}`,
          `no service ${name} in ${sources.length > 1 ? "these files" : "this file"} (services: ${names.join(", ")}); fix the name or remove the override`,
        );
      }
    }
  }
  checkReferences(stack, report);
  report.throwIfProblems(ctx.builds);

  return {
    yaml: emitStack(stack),
    files,
    warnings: report.warnings,
    publishedPorts: ctx.ports.sort(
      (a, b) => a.port - b.port || cmp(a.protocol, b.protocol) || cmp(a.service, b.service),
    ),
    services: names,
    builds: ctx.builds,
    images: ctx.images,
  };
}
