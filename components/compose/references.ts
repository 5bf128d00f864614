// Dangling references fail only at `docker stack deploy` time on the manager ("undefined
// network"), after the bundle has shipped. `docker stack config` accepts them, and so do we
// (files meant only to be rendered use them), but loudly. An undeclared named volume is an
// error instead: nothing but a declaration can satisfy it (docker/cli convert/volume.go answers
// `undefined volume "NAME"` even when a volume of that name exists on the nodes).
import { parseMount, volumeNeeded } from "./mounts";
import { Report, YamlMap, isMap } from "./types";

function names(section: unknown): Set<string> {
  return new Set(isMap(section) ? Object.keys(section) : []);
}

export function checkReferences(stack: YamlMap, report: Report): void {
  const networks = names(stack.networks);
  const configs = names(stack.configs);
  const secrets = names(stack.secrets);
  const volumes = names(stack.volumes);
  const services = isMap(stack.services) ? stack.services : {};
  for (const [name, svc] of Object.entries(services)) {
    if (!isMap(svc)) continue;
    const nets = Array.isArray(svc.networks)
      ? svc.networks.map(String)
      : Object.keys(isMap(svc.networks) ? svc.networks : {});
    for (const n of nets) {
      if (n !== "default" && !networks.has(n)) {
        report.warn(
          `services.${name}.networks.${n}`,
          `network ${n} is not defined: docker stack deploy will fail with "undefined network"; add it under the top-level networks:`,
        );
      }
    }
    for (const [kind, known] of [
      ["configs", configs],
      ["secrets", secrets],
    ] as const) {
      const refs = svc[kind];
      if (!Array.isArray(refs)) continue;
      refs.forEach((ref, i) => {
        const source = isMap(ref) ? ref.source : ref;
        if (typeof source === "string" && !known.has(source)) {
          report.warn(
            `services.${name}.${kind}[${i}]`,
            `${kind.slice(0, -1)} ${source} is not defined: docker stack deploy will fail; add it under the top-level ${kind}: (external: true if it exists already)`,
          );
        }
      });
    }
    if (Array.isArray(svc.volumes)) {
      svc.volumes.forEach((entry, i) => {
        const m = parseMount(entry);
        const volume = m && volumeNeeded(m);
        if (volume === undefined || volumes.has(volume)) return;
        report.problem(
          `services.${name}.volumes[${i}]`,
          `volume ${volume} is not declared: docker stack deploy refuses the stack ("undefined volume ${JSON.stringify(volume)}"); declare it under the top-level volumes: (${volume}: {}, or with external: true if it is created outside the stack)`,
        );
      });
    }
  }
}
