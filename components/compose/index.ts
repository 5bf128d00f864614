// The compose stack renderer: a pure function from a compose file (plus env and overrides) to a
// swarm-ready stack bundle. "Pure": it reads only the compose file and the files it references,
// never process.env, the clock or the network, so the same inputs give byte-identical output.
import * as fs from "fs";
import * as path from "path";
import { emitStack } from "./emit";
import { hashFileObjects } from "./files";
import { interpolateTree } from "./interpolate";
import { OUTPUT_VERSION, SCHEMA_TOP_KEYS } from "./keys";
import { decode, parseCompose } from "./load";
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

function readSource(opts: RenderOptions): string {
  if (opts.text !== undefined) return decode(opts.text);
  try {
    return decode(fs.readFileSync(opts.file));
  } catch (e) {
    throw new StackRenderError(opts.file, [
      `${opts.file}: cannot read the compose file: ${(e as Error).message}`,
    ]);
  }
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
 * Render a compose file into a swarm stack bundle. The pipeline, in docker's own order:
 * decode and parse (anchors and merges resolved), interpolate values from `env`, normalise the
 * top level, hash and collect file configs/secrets, normalise each service (drop or convert
 * what swarm ignores, resolve images and builds, merge rolling-update defaults), check
 * references, then emit deterministic YAML. Throws one StackRenderError listing every problem.
 */
export function renderStack(opts: RenderOptions): RenderResult {
  const report = new Report(opts.file);
  const dir = path.dirname(path.resolve(opts.file));
  const env = opts.env ?? {};
  const parsed = parseCompose(readSource(opts), report);
  report.throwIfProblems();
  const data = normalizeTop(interpolateTree(parsed ?? {}, env, report), report);
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
          `no service ${name} in this file (services: ${names.join(", ")}); fix the name or remove the override`,
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
