/**
 * Config of the front door: how traffic enters the cluster (`entryPoint`), the token the
 * reserved-IP failover uses (`failoverToken`), the load balancer's settings (`loadBalancer`)
 * and the user's domain names (`domains`).
 */
import { Fail, isObject, show } from "../core/config";

export type EntryPointKind = "reservedIp" | "loadBalancer";
export const ENTRY_POINTS: readonly EntryPointKind[] = ["reservedIp", "loadBalancer"];

/** One name users reach the cluster by: an A record in a zone of the account's DigitalOcean DNS. */
export interface DomainConfig {
  /** The FQDN, lowercase, without a trailing dot (`app.example.com`; the zone apex is allowed). */
  name: string;
  /** A domain managed in the account's DigitalOcean DNS (`example.com`). */
  zone: string;
  /** A Let's Encrypt certificate at the load balancer (loadBalancer only). @default false */
  https: boolean;
}

export interface LoadBalancerSettings {
  /**
   * The published port that serves plain HTTP: entered on 80 (and on 443 for https domains,
   * with TLS ended at the load balancer) and health-checked over HTTP. When no stack publishes
   * it, every port is forwarded as TCP and checked by a TCP connect. @default 80
   */
  httpPort: number;
  /** The path the HTTP health check requests on httpPort. @default "/" */
  healthCheckPath: string;
  /** Load balancer nodes (each one is billed; more for more connections). @default 1 */
  sizeUnit: number;
}

export interface EntryPointSettings {
  entryPoint: EntryPointKind;
  loadBalancer: LoadBalancerSettings;
  domains: DomainConfig[];
}

export const ENTRY_POINT_DEFAULTS = {
  entryPoint: "reservedIp",
  loadBalancer: { httpPort: 80, healthCheckPath: "/", sizeUnit: 1 },
  domains: [],
} as const;

/** RFC 1035 host labels, lowercase: what DigitalOcean DNS and Let's Encrypt accept as a name. */
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
export const isFqdn = (s: string) =>
  s.length <= 253 && s.split(".").length >= 2 && s.split(".").every((l) => LABEL.test(l));

/** The record name inside its zone: "@" for the apex, else the labels before the zone. */
export const recordName = (d: Pick<DomainConfig, "name" | "zone">) =>
  d.name === d.zone ? "@" : d.name.slice(0, -(d.zone.length + 1));

const inZone = (name: string, zone: string) => name === zone || name.endsWith(`.${zone}`);

/**
 * Checks entryPoint, loadBalancer, domains and failoverToken's form. Problems that need the
 * ports the stacks publish are checked by checkEntryPointPorts, once the stacks are rendered.
 * @param failoverTokenSet whether the secret is set, and whether it looks like a token; the
 *   value itself never reaches this module.
 */
export function validateEntryPoint(
  raw: { entryPoint?: unknown; loadBalancer?: unknown; domains?: unknown; edge?: unknown },
  failoverToken: "unset" | "ok" | "malformed",
  fail: Fail,
  problems: string[],
): EntryPointSettings {
  const entryPoint = raw.entryPoint ?? ENTRY_POINT_DEFAULTS.entryPoint;
  if (typeof entryPoint !== "string" || !ENTRY_POINTS.includes(entryPoint as EntryPointKind)) {
    fail(
      "entryPoint",
      entryPoint,
      'use "reservedIp" (a reserved IP on a manager; with failoverToken it follows a healthy manager) or "loadBalancer" (a DigitalOcean Load Balancer in front of every node)',
    );
  }

  const lb = raw.loadBalancer ?? {};
  const d = ENTRY_POINT_DEFAULTS.loadBalancer;
  const loadBalancer: LoadBalancerSettings = { ...d };
  if (!isObject(lb)) {
    fail("loadBalancer", lb, "give an object such as { httpPort: 80, healthCheckPath: /healthz }");
  } else {
    for (const key of Object.keys(lb)) {
      if (!(key in d)) {
        fail(
          `loadBalancer.${key}`,
          lb[key],
          "remove it: known keys are httpPort, healthCheckPath, sizeUnit",
        );
      }
    }
    const port = lb.httpPort ?? d.httpPort;
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
      fail("loadBalancer.httpPort", port, "use the TCP port (1-65535) a stack publishes for HTTP");
    } else loadBalancer.httpPort = port;
    const path = lb.healthCheckPath ?? d.healthCheckPath;
    if (typeof path !== "string" || !/^\/[\x21-\x7e]*$/.test(path)) {
      fail(
        "loadBalancer.healthCheckPath",
        path,
        'use an absolute URL path such as "/" or "/healthz"',
      );
    } else loadBalancer.healthCheckPath = path;
    const units = lb.sizeUnit ?? d.sizeUnit;
    if (typeof units !== "number" || !Number.isInteger(units) || units < 1 || units > 100) {
      fail(
        "loadBalancer.sizeUnit",
        units,
        "use a whole number of load balancer nodes from 1 to 100",
      );
    } else loadBalancer.sizeUnit = units;
  }

  // Hosts the edge routes (do-swarm:edge): it serves them over HTTPS at the reserved IP.
  const edgeRoutes = isObject(raw.edge) && Array.isArray(raw.edge.routes) ? raw.edge.routes : [];
  // A route's redirectFrom hosts are served too (redirected): "www" is the host's www twin (as
  // edge/config.ts redirectFromHosts, which this floor cannot import).
  const edgeHosts = new Set(
    edgeRoutes.flatMap((r) => {
      if (!isObject(r) || typeof r.host !== "string") return [];
      const host = r.host;
      const from = Array.isArray(r.redirectFrom) ? r.redirectFrom : [];
      const twin = host.startsWith("www.") ? host.slice(4) : `www.${host}`;
      return [host, ...from.map((h) => (h === "www" ? twin : h))];
    }),
  );
  const domains: DomainConfig[] = [];
  // Where in the list each well-formed domain stands, for naming it in a problem.
  const indexOf = new Map<DomainConfig, number>();
  const rawDomains = raw.domains ?? ENTRY_POINT_DEFAULTS.domains;
  if (!Array.isArray(rawDomains)) {
    fail(
      "domains",
      rawDomains,
      'give a list such as [{ name: "app.example.com", zone: "example.com" }]',
    );
  } else {
    const seen = new Set<string>();
    rawDomains.forEach((dom, i) => {
      const key = `domains[${i}]`;
      if (!isObject(dom)) {
        fail(key, dom, 'give { name: "app.example.com", zone: "example.com", https: false }');
        return;
      }
      let good = true;
      for (const k of Object.keys(dom)) {
        if (!["name", "zone", "https"].includes(k)) {
          fail(`${key}.${k}`, dom[k], "remove it: known keys are name, zone, https");
          good = false;
        }
      }
      const { name, zone } = dom;
      const https = dom.https ?? false;
      if (typeof name !== "string" || !isFqdn(name)) {
        fail(
          `${key}.name`,
          name,
          'use a lowercase fully qualified name without a trailing dot, such as "app.example.com"',
        );
        good = false;
      }
      if (typeof zone !== "string" || !isFqdn(zone)) {
        fail(
          `${key}.zone`,
          zone,
          'use the domain as DigitalOcean DNS lists it, such as "example.com" (doctl compute domain list)',
        );
        good = false;
      }
      if (
        typeof name === "string" &&
        typeof zone === "string" &&
        isFqdn(name) &&
        isFqdn(zone) &&
        !inZone(name, zone)
      ) {
        fail(
          `${key}.name`,
          name,
          `it is not inside its zone ${show(zone)}: use a name ending in .${zone}, or the zone that contains it`,
        );
        good = false;
      }
      if (typeof https !== "boolean") {
        fail(`${key}.https`, https, "use true or false");
        good = false;
      } else if (https && entryPoint === "reservedIp" && !edgeHosts.has(name as string)) {
        fail(
          `${key}.https`,
          https,
          'at the reserved IP, HTTPS is served by the edge: route this name in do-swarm:edge.routes; or set entryPoint to "loadBalancer" (TLS at the load balancer), or leave https false',
        );
        good = false;
      }
      if (typeof name === "string" && seen.has(name)) {
        fail(
          `${key}.name`,
          name,
          "it is listed twice: each name gets one record; remove the duplicate",
        );
        good = false;
      }
      if (typeof name === "string") seen.add(name);
      if (good) {
        const d = { name: name as string, zone: zone as string, https: https as boolean };
        domains.push(d);
        indexOf.set(d, i);
      }
    });
  }
  // Behind a load balancer, https and plain domains do not mix: DigitalOcean's HTTP-to-HTTPS
  // redirect is a property of the whole load balancer and redirects every host on port 80, so a
  // plain domain would be sent to https:// and a certificate that does not cover it, while `urls`
  // lists it as http://. Refused rather than served half-way (no redirect for the https ones);
  // at the reserved IP the edge redirects per host, so a mix is fine there.
  const httpsHosts = domains.filter((d) => d.https).map((d) => d.name);
  if (entryPoint === "loadBalancer" && httpsHosts.length > 0) {
    for (const d of domains.filter((x) => !x.https)) {
      fail(
        `domains[${indexOf.get(d)}].https`,
        false,
        `behind the load balancer, HTTP is redirected to HTTPS for every host (DigitalOcean redirects the whole load balancer) because other domains are https (${httpsHosts.join(", ")}): set https true on this one too (its name joins the load balancer's Let's Encrypt certificate), or false on every domain; or use entryPoint "reservedIp", where the edge redirects per host`,
      );
    }
  }

  if (failoverToken === "malformed") {
    problems.push(
      "do-swarm:failoverToken is not a DigitalOcean API token (one line, no spaces): " +
        "pulumi config set --secret failoverToken (a custom-scoped token, see docs/entry-point.md)",
    );
  }
  return { entryPoint: entryPoint as EntryPointKind, loadBalancer, domains };
}

/** A port a stack publishes, as the entry point sees it. */
export interface PublishedPort {
  port: number;
  protocol: "tcp" | "udp";
  source?: string;
}

/**
 * The checks that need the published ports: a load balancer needs something to forward and a
 * TCP port to health-check, https needs the HTTP port, and the load balancer's own entry ports (80 for HTTP, 443 for https)
 * must not be taken by another published port.
 */
export function checkEntryPointPorts(
  settings: EntryPointSettings,
  ports: readonly PublishedPort[],
): string[] {
  if (settings.entryPoint !== "loadBalancer") return [];
  const problems: string[] = [];
  const { httpPort } = settings.loadBalancer;
  if (ports.length === 0) {
    problems.push(
      'do-swarm:entryPoint = "loadBalancer": no stack publishes a port, so the load balancer would have nothing to forward: publish the service\'s port in its stack (ports: ["80:8080"]), or use entryPoint reservedIp',
    );
    return problems;
  }
  // DigitalOcean health-checks over TCP, HTTP or HTTPS only, also for UDP rules
  // (forwarding_rule.yml), and the firewall admits a UDP port from the load balancer only as UDP:
  // with no TCP port published every node would be unhealthy.
  if (!ports.some((p) => p.protocol === "tcp")) {
    const udp = [...new Set(ports.map((p) => `${p.port}/udp (${p.source ?? "a stack"})`))];
    problems.push(
      `do-swarm:entryPoint = "loadBalancer": the stacks publish only UDP (${udp.join(", ")}), but DigitalOcean's load balancer health-checks a node over TCP, HTTP or HTTPS only, and a node that fails the check gets no traffic: also publish a TCP port that answers when the service is up (it is checked by a TCP connect, or over HTTP if it is loadBalancer.httpPort), or route a domain through do-swarm:edge (its port 80 is then checked), or use entryPoint "reservedIp"`,
    );
    return problems;
  }
  const servesHttp = ports.some((p) => p.port === httpPort && p.protocol === "tcp");
  const httpsNames = settings.domains.filter((d) => d.https).map((d) => d.name);
  if (httpsNames.length > 0 && !servesHttp) {
    problems.push(
      `do-swarm:loadBalancer.httpPort = ${httpPort}: https domains (${httpsNames.join(", ")}) need the published port that serves HTTP, but no stack publishes ${httpPort}/tcp: set loadBalancer.httpPort to it`,
    );
  }
  for (const p of ports) {
    if (servesHttp && p.port !== httpPort && p.port === 80 && p.protocol === "tcp") {
      problems.push(
        `${p.source ?? "a stack"} publishes 80/tcp, but the load balancer enters HTTP on 80 for loadBalancer.httpPort ${httpPort}: publish it elsewhere or set loadBalancer.httpPort to 80`,
      );
    }
    if (httpsNames.length > 0 && p.port === 443 && p.protocol === "tcp") {
      problems.push(
        `${p.source ?? "a stack"} publishes 443/tcp, but the load balancer ends TLS on 443 for the https domains: publish the service's HTTP port only, or set https false and terminate TLS in the stack`,
      );
    }
  }
  return problems;
}
