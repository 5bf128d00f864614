// Published ports, parsed like docker's nat.ParsePortSpecs (short syntax) and the v3 long syntax.
// The rendered file keeps the ports as written; this only reports what gets published, so the
// caller can open firewall rules for exactly those ports.
import { isIP } from "net";
import { PublishedPort, Report, Yaml, isMap } from "./types";

function range(spec: string): [number, number] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(spec);
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 0 || hi > 65535 || hi < lo) return undefined;
  return [lo, hi];
}

interface Parsed {
  published: number[];
  protocol: string;
  hostIp?: string;
}

/** `[ip:][host[-host]:]container[-container][/proto]`; undefined when malformed. */
export function parseShortPort(spec: string): Parsed | undefined {
  let rest = spec;
  let protocol = "tcp";
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    protocol = rest.slice(slash + 1).toLowerCase();
    rest = rest.slice(0, slash);
  }
  // The container part is after the last colon; an IPv6 host IP is bracketed.
  const last = rest.lastIndexOf(":");
  const containerSpec = last < 0 ? rest : rest.slice(last + 1);
  const front = last < 0 ? undefined : rest.slice(0, last);
  let hostSpec: string | undefined;
  let hostIp: string | undefined;
  if (front !== undefined) {
    const c = front.lastIndexOf(":");
    if (c >= 0 && !front.endsWith("]")) {
      hostIp = front.slice(0, c).replace(/^\[|\]$/g, "");
      hostSpec = front.slice(c + 1);
    } else {
      hostSpec = front;
    }
  }
  if (hostIp !== undefined && hostIp !== "" && isIP(hostIp) === 0) return undefined;
  const container = range(containerSpec);
  if (!container) return undefined;
  if (hostSpec === undefined || hostSpec === "") return { published: [], protocol, hostIp };
  const host = range(hostSpec);
  if (!host) return undefined;
  const n = container[1] - container[0];
  if (host[1] - host[0] !== n) return undefined;
  const published: number[] = [];
  for (let p = host[0]; p <= host[1]; p++) published.push(p);
  return { published, protocol, hostIp };
}

/** The ports a service publishes on the swarm, from short and long syntax. */
export function publishedPorts(service: string, ports: Yaml, report: Report): PublishedPort[] {
  if (!Array.isArray(ports)) return [];
  const out: PublishedPort[] = [];
  const where = (i: number) => `services.${service}.ports[${i}]`;
  const proto = (p: string, i: number): "tcp" | "udp" | undefined => {
    if (p === "tcp" || p === "udp") return p;
    // sctp exists in docker, but a DigitalOcean firewall cannot open it: make that visible.
    report.problem(where(i), `protocol ${JSON.stringify(p)} is not supported here; use tcp or udp`);
    return undefined;
  };
  ports.forEach((entry, i) => {
    if (typeof entry === "number" || typeof entry === "string") {
      const parsed = parseShortPort(String(entry));
      if (!parsed) {
        report.problem(
          where(i),
          `invalid port ${JSON.stringify(entry)}; write [HOST:]CONTAINER[/PROTOCOL]`,
        );
        return;
      }
      if (parsed.hostIp !== undefined && parsed.published.length > 0) {
        report.warn(
          where(i),
          `host IP ${parsed.hostIp} is ignored by swarm: the port is published on every address of every node; use a firewall or drop the port`,
        );
      }
      const protocol = proto(parsed.protocol, i);
      if (!protocol) return;
      for (const port of parsed.published) out.push({ service, port, protocol, mode: "ingress" });
      return;
    }
    if (isMap(entry)) {
      if (entry.published === undefined || entry.published === null) return;
      const port = Number(entry.published);
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        report.problem(
          `${where(i)}.published`,
          `invalid published port ${JSON.stringify(entry.published)}`,
        );
        return;
      }
      const protocol = proto(String(entry.protocol ?? "tcp"), i);
      const mode = String(entry.mode ?? "ingress");
      if (mode !== "ingress" && mode !== "host") {
        report.problem(
          `${where(i)}.mode`,
          `invalid mode ${JSON.stringify(mode)}; use ingress or host`,
        );
        return;
      }
      if (protocol) out.push({ service, port, protocol, mode });
    }
  });
  return out;
}

/** True when the service binds a host port on its node (two tasks cannot share it). */
export function publishesHostMode(ports: Yaml): boolean {
  return Array.isArray(ports) && ports.some((p) => isMap(p) && p.mode === "host");
}
