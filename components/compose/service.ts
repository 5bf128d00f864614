// Normalising one service for swarm: every key docker would reject or ignore is either converted
// (restart, env_file, nulls) or dropped with a warning naming the key and what to do instead.
import { buildSpec, suggestedImage } from "./build";
import { applyDeployDefaults } from "./defaults";
import {
  convertRestart,
  convertTmpfs,
  dropPortExtras,
  dropUnknownDeployKeys,
  dropStaticAddresses,
  warnRelativeBinds,
} from "./convert";
import { inlineEnvFiles, resolveBareEnvironment } from "./environment";
import { renameReferences } from "./files";
import {
  DEPLOY_SCHEMA,
  DEPRECATED,
  FORBIDDEN,
  SCHEMA_SERVICE_KEYS,
  SILENTLY_IGNORED,
  UNSUPPORTED,
} from "./keys";
import { firstWritableData } from "./mounts";
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

function dropKey(name: string, svc: YamlMap, key: string, why: string, report: Report): void {
  report.warn(`services.${name}.${key}`, `dropped: ${why}`);
  delete svc[key];
}

/** Why docker stack would drop or refuse a service key, or undefined if it keeps it. */
function screen(key: string, value: Yaml): { drop?: string; refuse?: string } {
  if (key.startsWith("x-")) return {}; // extensions: kept, docker ignores them
  if (has(FORBIDDEN, key)) return { refuse: `docker stack deploy rejects it: ${FORBIDDEN[key]}` };
  if (value === null && key !== "deploy")
    return { drop: "it is empty (null), which docker stack rejects" };
  if (has(UNSUPPORTED, key)) return { drop: `docker stack deploy ignores it: ${UNSUPPORTED[key]}` };
  if (has(SILENTLY_IGNORED, key)) {
    return { drop: `docker stack deploy silently ignores it: ${SILENTLY_IGNORED[key]}` };
  }
  if (has(DEPRECATED, key)) return { drop: `docker stack deploy ignores it: ${DEPRECATED[key]}` };
  if (key === "depends_on") {
    const long = isMap(value) ? " (and docker stack rejects the long form)" : "";
    return {
      drop: `swarm ignores startup order${long}; make the service retry its dependencies, and use healthchecks`,
    };
  }
  if (!SCHEMA_SERVICE_KEYS.has(key))
    return { drop: "not part of the compose v3 format that docker stack accepts" };
  return {};
}

/** The final image: the caller's override (pinned digest, built image) wins over the file's. */
function resolveImage(name: string, svc: YamlMap, ctx: ServiceContext): void {
  const { report } = ctx;
  const fileImage = typeof svc.image === "string" && svc.image !== "" ? svc.image : undefined;
  if (has(svc, "build")) {
    const suggested = fileImage ?? suggestedImage(ctx.dir, name);
    const spec = buildSpec(name, svc.build, suggested, ctx.dir, ctx.env, report);
    if (spec) ctx.builds.push({ ...spec, buildOnly: fileImage === undefined });
    const hint = fileImage
      ? `do-swarm can build ${spec?.context ?? "it"} and push it as ${fileImage} when a registry is configured`
      : `do-swarm can build it and push it (suggested name ${suggested}) when a registry is configured`;
    report.warn(
      `services.${name}.build`,
      `dropped: docker stack deploy does not build images; ${hint}`,
    );
    delete svc.build;
  }
  const image = ctx.opts.images?.[name] ?? fileImage;
  if (image !== undefined) {
    svc.image = image;
    ctx.images[name] = image;
  } else if (ctx.builds.some((b) => b.service === name)) {
    report.problem(
      `services.${name}.image`,
      "has build: but no image:; add image: (a registry reference to push to), or configure a registry so do-swarm builds and pushes it",
    );
  } else {
    report.problem(`services.${name}.image`, "has no image: and no build:; add image:");
  }
}

/** deploy: nulls dropped, restart converted, replicas override, rolling-update defaults. */
function normalizeDeploy(name: string, svc: YamlMap, ctx: ServiceContext): YamlMap {
  const { report } = ctx;
  const deploy: YamlMap = isMap(svc.deploy)
    ? dropUnknownDeployKeys(name, svc.deploy, DEPLOY_SCHEMA, report)
    : {};
  for (const [k, v] of Object.entries(deploy)) {
    if (v !== null) continue;
    report.warn(
      `services.${name}.deploy.${k}`,
      "dropped: it is empty (null), which docker stack rejects",
    );
    delete deploy[k];
  }
  if (has(svc, "restart")) {
    convertRestart(name, svc.restart, deploy, report);
    delete svc.restart;
  }
  const global = deploy.mode === "global" || deploy.mode === "global-job";
  const replicas = ctx.opts.replicas?.[name];
  if (replicas !== undefined) {
    if (global) {
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
  if (deploy.mode === "replicated-job" || deploy.mode === "global-job") return deploy;
  return applyDeployDefaults(
    name,
    deploy,
    ctx.opts.update,
    publishesHostMode(svc.ports),
    report,
    firstWritableData(svc.volumes),
  );
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
    const { drop, refuse } = screen(key, svc[key]);
    if (refuse) report.problem(`services.${name}.${key}`, refuse);
    if (drop) dropKey(name, svc, key, drop, report);
  }
  if (has(svc, "tmpfs")) convertTmpfs(name, svc, report);
  dropStaticAddresses(name, svc, report);
  dropPortExtras(name, svc, report);
  if (has(svc, "env_file")) inlineEnvFiles(name, svc, ctx);
  if (has(svc, "environment")) resolveBareEnvironment(name, svc, ctx);
  resolveImage(name, svc, ctx);
  svc.deploy = normalizeDeploy(name, svc, ctx);

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
