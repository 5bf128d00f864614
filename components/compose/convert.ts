// Conversions of keys `docker stack deploy` would ignore or misread into what swarm honours,
// each reported with a warning naming the key.
import { Report, Yaml, YamlMap, isMap } from "./types";

/** `restart:` becomes deploy.restart_policy, as docker's convertRestartPolicy does at deploy. */
export function convertRestart(name: string, restart: Yaml, deploy: YamlMap, report: Report): void {
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

export function warnRelativeBinds(name: string, volumes: Yaml, report: Report): void {
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
export function convertTmpfs(name: string, svc: YamlMap, report: Report): void {
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
export function dropStaticAddresses(name: string, svc: YamlMap, report: Report): void {
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

const PORT_KEYS = new Set(["mode", "target", "published", "protocol"]);

/**
 * Long-syntax port keys from the compose spec (host_ip, app_protocol, name) make docker stack's
 * v3 schema reject the file; swarm could not honour them anyway (it publishes on every address).
 */
export function dropPortExtras(name: string, svc: YamlMap, report: Report): void {
  if (!Array.isArray(svc.ports)) return;
  svc.ports = svc.ports.map((p, i) => {
    if (!isMap(p)) return p;
    const kept: YamlMap = {};
    for (const [k, v] of Object.entries(p)) {
      if (PORT_KEYS.has(k)) {
        kept[k] = v;
        continue;
      }
      const why =
        k === "host_ip"
          ? "swarm publishes on every address of every node; use a firewall to restrict access"
          : "not part of the compose v3 format that docker stack accepts";
      report.warn(`services.${name}.ports[${i}].${k}`, `dropped: ${why}`);
    }
    return kept;
  });
}

type Shape = true | { [key: string]: Shape };

/**
 * Drop deploy keys outside docker's v3 schema, at any depth, with a warning each: the file
 * would otherwise be rejected as a whole on the manager.
 */
export function dropUnknownDeployKeys(
  name: string,
  deploy: YamlMap,
  shape: Shape,
  report: Report,
  at = "deploy",
): YamlMap {
  if (shape === true) return deploy;
  const out: YamlMap = {};
  for (const [k, v] of Object.entries(deploy)) {
    const sub = shape[k];
    if (sub === undefined) {
      report.warn(
        `services.${name}.${at}.${k}`,
        "dropped: not part of the compose v3 format that docker stack accepts",
      );
    } else {
      out[k] =
        sub !== true && isMap(v) ? dropUnknownDeployKeys(name, v, sub, report, `${at}.${k}`) : v;
    }
  }
  return out;
}
