// Normalising one service for swarm: every key docker would reject or ignore is either converted
// (restart, env_file, nulls) or dropped with a warning naming the key and what to do instead.
import { buildSpec, suggestedImage } from "./build";
import { applyDeployDefaults } from "./defaults";
import { parseEnvFile, readBeside, renameReferences } from "./files";
import { DEPRECATED, FORBIDDEN, SCHEMA_SERVICE_KEYS, SILENTLY_IGNORED, UNSUPPORTED } from "./keys";
import { publishedPorts, publishesHostMode } from "./ports";
import { BuildSpec, PublishedPort, RenderOptions, Report, Yaml, YamlMap, isMap } from "./types";

export interface ServiceContext {
  report: Report;
  dir: string;
  env: Record<string, string>;
  opts: RenderOptions;
  renamedConfigs: Record<string, string>;
  renamedSecrets: Record<string, string>;
  builds: BuildSpec[];
  ports: PublishedPort[];
  images: Record<string, string>;
}

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** `restart:` becomes deploy.restart_policy, as docker's convertRestartPolicy does at deploy. */
function convertRestart(name: string, restart: Yaml, deploy: YamlMap, report: Report): void {
  const where = `services.${name}.restart`;
  if (deploy.restart_policy !== undefined) {
    report.warn(where, "dropped: deploy.restart_policy is set and wins in swarm");
    return;
  }
  const [policy, count] = String(restart).split(":");
  if (policy === "always" || policy === "unless-stopped") {
    deploy.restart_policy = { condition: "any" };
  } else if (policy === "on-failure") {
    const n = Number(count);
    deploy.restart_policy =
      Number.isInteger(n) && n > 0
        ? { condition: "on-failure", max_attempts: n }
        : { condition: "on-failure" };
  } else if (policy === "no" || policy === "") {
    report.warn(
      where,
      `dropped: swarm restarts tasks anyway (its default is condition any); to keep "no", set deploy.restart_policy.condition: none`,
    );
    return;
  } else {
    report.problem(
      where,
      `unknown restart policy ${JSON.stringify(restart)}; use deploy.restart_policy`,
    );
    return;
  }
  report.warn(
    where,
    `converted to deploy.restart_policy ${JSON.stringify(deploy.restart_policy)} (what docker stack deploy does with it); write deploy.restart_policy instead`,
  );
}

/** Inline env_file into environment (environment wins), as docker's resolveEnvironment does. */
function inlineEnvFiles(name: string, svc: YamlMap, ctx: ServiceContext): void {
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
function resolveBareEnvironment(name: string, svc: YamlMap, ctx: ServiceContext): void {
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

function warnRelativeBinds(name: string, volumes: Yaml, report: Report): void {
  if (!Array.isArray(volumes)) return;
  volumes.forEach((v, i) => {
    let source: string | undefined;
    if (typeof v === "string" && v.includes(":")) source = v.split(":")[0];
    else if (isMap(v) && v.type === "bind" && typeof v.source === "string") source = v.source;
    if (source === undefined) return;
    if (source.startsWith("~")) {
      report.warn(
        `services.${name}.volumes[${i}]`,
        `bind source ${source} resolves against the HOME of the user running docker stack deploy on the manager, and must exist at that path on every node the task runs on; use an absolute path, a named volume or a config`,
      );
    } else if (source.startsWith(".")) {
      report.warn(
        `services.${name}.volumes[${i}]`,
        `bind source ${source} is relative: docker stack deploy resolves it against the bundle directory on the manager, and it must exist at that path on every node the task runs on; use an absolute path, a named volume or a config`,
      );
    }
  });
}

/**
 * Service-level `tmpfs:` is silently ignored by `docker stack deploy` (convert.Service never
 * reads it); a `volumes:` entry of type tmpfs is honoured, so plain paths are converted.
 */
function convertTmpfs(name: string, svc: YamlMap, report: Report): void {
  const where = `services.${name}.tmpfs`;
  const paths =
    typeof svc.tmpfs === "string" ? [svc.tmpfs] : Array.isArray(svc.tmpfs) ? svc.tmpfs : [];
  const mounts: Yaml[] = [];
  for (const p of paths.map(String)) {
    if (p.includes(":")) {
      report.warn(
        where,
        `dropped ${p}: mount options are not converted; write a volumes: entry with type: tmpfs`,
      );
    } else {
      mounts.push({ type: "tmpfs", target: p });
    }
  }
  svc.volumes = [...(Array.isArray(svc.volumes) ? svc.volumes : []), ...mounts];
  delete svc.tmpfs;
  report.warn(
    where,
    "converted to volumes: entries of type tmpfs (docker stack deploy ignores service-level tmpfs)",
  );
}

/** Swarm assigns addresses on overlay networks; docker ignores static ones without a word. */
function dropStaticAddresses(name: string, svc: YamlMap, report: Report): void {
  if (!isMap(svc.networks)) return;
  const out: YamlMap = {};
  for (const [net, cfg] of Object.entries(svc.networks)) {
    if (!isMap(cfg)) {
      out[net] = cfg;
      continue;
    }
    const kept: YamlMap = {};
    for (const [k, v] of Object.entries(cfg)) {
      if (k === "ipv4_address" || k === "ipv6_address") {
        report.warn(
          `services.${name}.networks.${net}.${k}`,
          "dropped: swarm assigns task addresses itself; docker stack deploy ignores it",
        );
      } else kept[k] = v;
    }
    out[net] = kept;
  }
  svc.networks = out;
}

function dropKey(name: string, svc: YamlMap, key: string, why: string, report: Report): void {
  report.warn(`services.${name}.${key}`, `dropped: ${why}`);
  delete svc[key];
}

/** Normalise one service; returns undefined if it cannot be rendered (problems recorded). */
export function normalizeService(
  name: string,
  raw: Yaml,
  ctx: ServiceContext,
): YamlMap | undefined {
  const { report } = ctx;
  if (!isMap(raw)) {
    report.problem(`services.${name}`, "has no definition; add at least image:");
    return undefined;
  }
  const svc: YamlMap = { ...raw };

  for (const key of Object.keys(svc).sort()) {
    const value = svc[key];
    if (key.startsWith("x-")) continue; // extensions: kept, docker ignores them
    if (has(FORBIDDEN, key)) {
      report.problem(
        `services.${name}.${key}`,
        `docker stack deploy rejects it: ${FORBIDDEN[key]}`,
      );
    } else if (value === null && key !== "deploy") {
      dropKey(name, svc, key, "it is empty (null), which docker stack rejects", report);
    } else if (has(UNSUPPORTED, key)) {
      dropKey(name, svc, key, `docker stack deploy ignores it: ${UNSUPPORTED[key]}`, report);
    } else if (has(SILENTLY_IGNORED, key)) {
      dropKey(
        name,
        svc,
        key,
        `docker stack deploy silently ignores it: ${SILENTLY_IGNORED[key]}`,
        report,
      );
    } else if (has(DEPRECATED, key)) {
      dropKey(name, svc, key, `docker stack deploy ignores it: ${DEPRECATED[key]}`, report);
    } else if (key === "depends_on") {
      const long = isMap(value);
      dropKey(
        name,
        svc,
        key,
        `swarm ignores startup order${long ? " (and docker stack rejects the long form)" : ""}; make the service retry its dependencies, and use healthchecks`,
        report,
      );
    } else if (!SCHEMA_SERVICE_KEYS.has(key)) {
      dropKey(
        name,
        svc,
        key,
        "not part of the compose v3 format that docker stack accepts",
        report,
      );
    }
  }

  const deploy: YamlMap = isMap(svc.deploy) ? { ...svc.deploy } : {};
  for (const [k, v] of Object.entries(deploy)) {
    if (v === null) {
      report.warn(
        `services.${name}.deploy.${k}`,
        "dropped: it is empty (null), which docker stack rejects",
      );
      delete deploy[k];
    }
  }
  if (has(svc, "tmpfs")) convertTmpfs(name, svc, report);
  dropStaticAddresses(name, svc, report);
  if (has(svc, "restart")) {
    convertRestart(name, svc.restart, deploy, report);
    delete svc.restart;
  }
  if (has(svc, "env_file")) inlineEnvFiles(name, svc, ctx);
  if (has(svc, "environment")) resolveBareEnvironment(name, svc, ctx);

  // Image: the caller's override wins (pinned digest or freshly built image).
  const fileImage = typeof svc.image === "string" && svc.image !== "" ? svc.image : undefined;
  const override = ctx.opts.images?.[name];
  if (has(svc, "build")) {
    const spec = buildSpec(
      name,
      svc.build,
      fileImage ?? suggestedImage(ctx.dir, name),
      ctx.dir,
      ctx.env,
      report,
    );
    if (spec) ctx.builds.push(spec);
    const hint = fileImage
      ? `do-swarm can build ${spec?.context ?? "it"} and push it as ${fileImage} when a registry is configured`
      : `do-swarm can build it and push it (suggested name ${spec?.image ?? name}) when a registry is configured`;
    report.warn(
      `services.${name}.build`,
      `dropped: docker stack deploy does not build images; ${hint}`,
    );
    delete svc.build;
  }
  const image = override ?? fileImage;
  if (image === undefined) {
    const built = ctx.builds.some((b) => b.service === name);
    report.problem(
      `services.${name}.image`,
      built
        ? `has build: but no image:; add image: (a registry reference to push to), or configure a registry so do-swarm builds and pushes it`
        : `has no image: and no build:; add image:`,
    );
  } else {
    svc.image = image;
    ctx.images[name] = image;
  }

  // Replicas: the override must target a replicated service.
  const replicas = ctx.opts.replicas?.[name];
  if (replicas !== undefined) {
    if (deploy.mode === "global" || deploy.mode === "global-job") {
      report.problem(
        `services.${name}.deploy.mode`,
        `is global: a replicas override does not apply; remove the override for ${name}`,
      );
    } else if (!Number.isInteger(replicas) || replicas < 0) {
      report.problem(
        `services.${name}.deploy.replicas`,
        `override ${replicas} must be an integer >= 0`,
      );
    } else {
      deploy.replicas = replicas;
    }
  }
  // Jobs run to completion: there is no rolling update to make safe, and swarm's job modes
  // are not meant to carry update settings, so they are left as written.
  const isJob = deploy.mode === "replicated-job" || deploy.mode === "global-job";
  svc.deploy = isJob
    ? deploy
    : applyDeployDefaults(name, deploy, ctx.opts.update, publishesHostMode(svc.ports), report);

  if (has(svc, "configs")) svc.configs = renameReferences(svc.configs, ctx.renamedConfigs);
  if (has(svc, "secrets")) svc.secrets = renameReferences(svc.secrets, ctx.renamedSecrets);
  const cred = svc.credential_spec;
  if (isMap(cred) && typeof cred.config === "string" && ctx.renamedConfigs[cred.config]) {
    svc.credential_spec = { ...cred, config: ctx.renamedConfigs[cred.config] };
  }
  ctx.ports.push(...publishedPorts(name, svc.ports ?? null, report));
  warnRelativeBinds(name, svc.volumes ?? null, report);
  return svc;
}
