/**
 * What the front door is made of, decided from validated config alone (pure: tested without
 * Pulumi): the load balancer's forwarding rules and health check, its price, the certificate's
 * name, the DNS records, the URLs, and which zones the account lacks.
 */
import { createHash } from "crypto";
import * as path from "path";
import type { DomainConfig, LoadBalancerSettings } from "./config";
import { recordName } from "./config";
import type { PublicPort } from "../core/firewall";

/**
 * The scripts the entry point sends (the failover agent); here, in the pure plan, so a test of
 * the agent needs no Pulumi SDK. The lab runs the very same files.
 */
export const ENTRY_POINT_SCRIPTS = path.join(__dirname, "scripts");

/**
 * A forwarding rule in the shape `digitalocean.LoadBalancer` takes; `C` is how the certificate's
 * name is given (a string here, an Output where the component wires it).
 */
export interface ForwardingRule<C = string> {
  entryPort: number;
  entryProtocol: "http" | "https" | "tcp" | "udp";
  targetPort: number;
  targetProtocol: "http" | "tcp" | "udp";
  certificateName?: C;
}

export interface HealthCheck {
  protocol: "http" | "tcp";
  port: number;
  path?: string;
  checkIntervalSeconds: number;
  responseTimeoutSeconds: number;
  unhealthyThreshold: number;
  healthyThreshold: number;
}

const distinctPorts = (ports: readonly PublicPort[]) => {
  const m = new Map<string, PublicPort>();
  for (const p of ports) m.set(`${p.protocol}/${p.port}`, p);
  return [...m.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
};

const servesHttp = (settings: LoadBalancerSettings, ports: readonly PublicPort[]) =>
  ports.some((p) => p.port === settings.httpPort && p.protocol === "tcp");

/**
 * One rule per published port. The HTTP port (loadBalancer.httpPort, when a stack publishes it)
 * enters on 80 as HTTP, so that DigitalOcean's HTTP-to-HTTPS redirect (which works on 80) and
 * the HTTPS rule (443, TLS ended at the load balancer, to the same port) apply to it; every other
 * port enters on itself, as TCP or UDP, untouched.
 * @param certificateName the certificate of the https domains; undefined: no HTTPS rule.
 */
export function forwardingRules<C = string>(
  settings: LoadBalancerSettings,
  ports: readonly PublicPort[],
  certificateName?: C,
): ForwardingRule<C>[] {
  const rules: ForwardingRule<C>[] = [];
  const http = servesHttp(settings, ports);
  if (http) {
    rules.push({
      entryPort: 80,
      entryProtocol: "http",
      targetPort: settings.httpPort,
      targetProtocol: "http",
    });
    if (certificateName !== undefined) {
      rules.push({
        entryPort: 443,
        entryProtocol: "https",
        targetPort: settings.httpPort,
        targetProtocol: "http",
        certificateName,
      });
    }
  }
  for (const p of distinctPorts(ports)) {
    if (http && p.protocol === "tcp" && p.port === settings.httpPort) continue;
    rules.push({
      entryPort: p.port,
      entryProtocol: p.protocol,
      targetPort: p.port,
      targetProtocol: p.protocol,
    });
  }
  return rules;
}

/** How often the load balancer checks a node, and how many checks take it out or back. */
export const LOAD_BALANCER_CHECK_TIMING = {
  checkIntervalSeconds: 10,
  responseTimeoutSeconds: 5,
  unhealthyThreshold: 3,
  healthyThreshold: 3,
} as const;

/**
 * An HTTP check of healthCheckPath on the HTTP port when a stack publishes it; otherwise a TCP
 * connect to the lowest published TCP port. Every 10 s, out after 3 failures, back after 3
 * successes: a node is out of rotation ~30 s after it stops answering, and the other nodes keep
 * serving (the routing mesh).
 *
 * Always a published TCP port, so the firewall admits the check from the load balancer (it
 * admits each published port only with its own protocol). With UDP ports only there is nothing
 * to check: DigitalOcean checks over TCP, HTTP or HTTPS only ("When using UDP, the load balancer
 * requires that you set up a health check with a port that uses TCP, HTTP, or HTTPS",
 * forwarding_rule.yml), and a TCP check of a UDP port is refused by the firewall, so every node
 * would be unhealthy. Validation refuses that config (checkEntryPointPorts); this throws.
 */
export function healthCheck(
  settings: LoadBalancerSettings,
  ports: readonly PublicPort[],
): HealthCheck {
  const timing = LOAD_BALANCER_CHECK_TIMING;
  if (servesHttp(settings, ports)) {
    return { protocol: "http", port: settings.httpPort, path: settings.healthCheckPath, ...timing };
  }
  const tcp = distinctPorts(ports).find((p) => p.protocol === "tcp");
  if (tcp === undefined) {
    throw new Error(
      "the load balancer needs a published TCP port to health-check (DigitalOcean checks over " +
        "TCP, HTTP or HTTPS only), but only UDP ports are published",
    );
  }
  return { protocol: "tcp", port: tcp.port, ...timing };
}

/**
 * Whether the load balancer redirects HTTP to HTTPS: only when every domain is https.
 * DigitalOcean's `redirect_http_to_https` is a property of the whole load balancer: it redirects
 * every host on port 80, so a plain-HTTP domain would land on a certificate that does not cover
 * it. Validation refuses https and plain domains mixed behind a load balancer
 * (validateEntryPoint); should a mix reach here, nothing is redirected, so each domain still
 * answers at the URL `urls` gives it.
 */
export const redirectsHttpToHttps = (domains: readonly DomainConfig[]) =>
  domains.length > 0 && domains.every((d) => d.https);

/**
 * DigitalOcean's list price of a regional load balancer, per node (sizeUnit), USD a month.
 * The API has no price for load balancers (getSizes covers droplets only).
 */
export const LOAD_BALANCER_USD_PER_NODE_MONTH = 12;

export const loadBalancerMonthlyCost = (sizeUnit: number) =>
  sizeUnit * LOAD_BALANCER_USD_PER_NODE_MONTH;

/** The names of the https domains, in config order. */
export const httpsNames = (domains: readonly DomainConfig[]) =>
  domains.filter((d) => d.https).map((d) => d.name);

/**
 * A certificate name unique to its set of names: a changed set is a new certificate (its domains
 * force replacement), created under a new name before the old one is deleted, so the load
 * balancer always has one. DigitalOcean limits names to 255 characters; this stays short.
 */
export function certificateName(cluster: string, names: readonly string[]): string {
  const digest = createHash("sha256")
    .update([...names].sort().join(","))
    .digest("hex");
  return `${cluster}-${digest.slice(0, 12)}`;
}

export interface DnsRecordPlan {
  /** The logical name's suffix, from the domain name (a contract: renaming replaces it). */
  key: string;
  zone: string;
  /** The record name inside the zone ("@" for the apex). */
  name: string;
  /** Seconds. Short, so a changed entry point reaches visitors within a minute. */
  ttl: number;
}

export const DNS_TTL_SECONDS = 60;

export const dnsRecords = (domains: readonly DomainConfig[]): DnsRecordPlan[] =>
  domains.map((d) => ({ key: d.name, zone: d.zone, name: recordName(d), ttl: DNS_TTL_SECONDS }));

/** The stack output `urls`: https for https domains, http otherwise. */
export const urls = (domains: readonly DomainConfig[]) =>
  domains.map((d) => `${d.https ? "https" : "http"}://${d.name}`);

/** The configured zones the account's DigitalOcean DNS does not have, as one problem each. */
export function missingZones(
  domains: readonly DomainConfig[],
  accountZones: readonly string[],
): string[] {
  const have = new Set(accountZones.map((z) => z.toLowerCase()));
  const missing = [...new Set(domains.map((d) => d.zone))].filter((z) => !have.has(z));
  return missing.map(
    (z) =>
      `do-swarm:domains: zone ${JSON.stringify(z)} is not in this account's DigitalOcean DNS: add it ` +
      `(doctl compute domain create ${z}, or Networking > Domains in the control panel) and point ` +
      `the registrar's NS records at ns1.digitalocean.com, ns2.digitalocean.com and ns3.digitalocean.com`,
  );
}

/** Settings of the failover agent (see scripts/failover-agent.sh). */
export interface FailoverTiming {
  /** @default 1 */
  checkIntervalSeconds?: number;
  /** @default 30 */
  cooldownSeconds?: number;
  /**
   * The holder is down once it has not answered for this many check intervals (by the clock)
   * with at least its last two checks missed. @default 3
   */
  failChecks?: number;
  /** The port a serving manager answers on (the swarm's). @default 2377 */
  probePort?: number;
}

export const DIGITALOCEAN_API_URL = "https://api.digitalocean.com";

/** The agent's `install` arguments (nothing secret: the token goes on stdin). */
export function agentInstallArgs(
  ip: string,
  apiUrl: string,
  managerTag: string,
  t: FailoverTiming = {},
): string[] {
  return [
    "install",
    ip,
    apiUrl,
    managerTag,
    String(t.checkIntervalSeconds ?? 1),
    String(t.cooldownSeconds ?? 30),
    String(t.failChecks ?? 3),
    String(t.probePort ?? 2377),
  ];
}
