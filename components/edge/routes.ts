/**
 * The edge's routes checked against what they name (the stacks as rendered, the user's domains)
 * and grouped into sites. Pure: the caller renders the stacks and passes what it found.
 */
import { parse } from "yaml";
import { EdgeRouteConfig, RedirectCode, redirectFromHosts } from "./config";

/** The stack the program deploys the edge as, and the overlay network routed services join. */
export const EDGE_STACK = "do-swarm-edge";
export { EDGE_NETWORK } from "../stacks/attach";

/**
 * Swarm's DNS name for the tasks of a service: one A record per task that is running (and
 * healthy, when it has a healthcheck), on each network the asking container shares with it. A
 * task leaves it before it is stopped. The edge resolves it every second.
 */
export const upstreamName = (stack: string, service: string) => `tasks.${stack}_${service}`;

/** What a rendered stack tells about its services. */
export interface StackFacts {
  name: string;
  /** The compose file, for messages. */
  file: string;
  /** Service name -> the ports its file says it listens on (undefined: the file does not say). */
  services: Record<string, number[] | undefined>;
}

/** A domain of `do-swarm:domains` as far as the edge cares. */
export interface EdgeDomain {
  name: string;
  https: boolean;
}

/** A route on its way to the proxy config: to a service. */
export interface ProxyRoute {
  path?: string;
  stack: string;
  service: string;
  port: number;
  /** Remove `path` from the request's path before proxying. */
  stripPrefix?: boolean;
  /** Basic auth: each user and the config key its bcrypt hash is read from (secret). */
  basicAuth?: { user: string; key: string }[];
  /** Answer 503 with a maintenance page instead of proxying. */
  maintenance?: boolean;
}

/** A route that answers with a redirect. */
export interface RedirectRoute {
  path?: string;
  redirect: { url: string; code: RedirectCode; keepPath: boolean };
}

export type SiteRoute = ProxyRoute | RedirectRoute;

export const isRedirect = (r: SiteRoute): r is RedirectRoute => "redirect" in r;

/** Everything the edge serves for one host. Routes are ordered most specific path first. */
export interface EdgeSite {
  host: string;
  /** Served over HTTPS by the edge, with a certificate it obtains itself. */
  https: boolean;
  /**
   * Clients reach it over HTTPS (the domain's `https`, served by the edge or by the load
   * balancer): its responses carry Strict-Transport-Security (unless edge.hsts is false).
   * @default false
   */
  hsts?: boolean;
  routes: SiteRoute[];
}

/**
 * Every problem with the routes at once: a stack or service that does not exist, a host that
 * is not one of `domains`, a port the service's file says it does not listen on. Routes that
 * name a stack which failed its own checks are not judged again (its problems are reported).
 */
export function checkRoutes(
  routes: readonly EdgeRouteConfig[],
  ctx: {
    stacks: readonly StackFacts[];
    domains: readonly EdgeDomain[];
    /** Stacks that are configured but could not be rendered (their problems are reported). */
    unrendered?: readonly string[];
    /** Every configured stack name, to tell "not configured" from "not rendered". */
    configured: readonly string[];
  },
): string[] {
  const problems: string[] = [];
  const domains = new Set(ctx.domains.map((d) => d.name));
  routes.forEach((r, i) => {
    const key = `do-swarm:edge.routes[${i}]`;
    if (!domains.has(r.host)) {
      problems.push(
        `${key}.host = ${JSON.stringify(r.host)}: not one of do-swarm:domains (${[...domains].join(", ") || "none"}); add { "name": "${r.host}", "zone": "..." } to domains, which gives it its DNS record`,
      );
    }
    // A redirected host needs its DNS record and (https) its certificate like any other.
    for (const h of redirectFromHosts(r)) {
      if (!domains.has(h)) {
        problems.push(
          `${key}.redirectFrom = ${JSON.stringify(r.redirectFrom)}: ${h} is not one of do-swarm:domains (${[...domains].join(", ") || "none"}); add { "name": "${h}", "zone": "..." } to domains (its DNS record and certificate), or remove it`,
        );
      }
    }
    if (r.redirect !== undefined || r.stack === undefined || r.service === undefined) return;
    if (r.stack === EDGE_STACK) {
      problems.push(
        `${key}.stack = ${JSON.stringify(r.stack)}: that is the edge itself; route to a stack of do-swarm:stacks`,
      );
      return;
    }
    if (!ctx.configured.includes(r.stack)) {
      problems.push(
        `${key}.stack = ${JSON.stringify(r.stack)}: no such stack in do-swarm:stacks (${ctx.configured.join(", ") || "none"}); fix the name or add the stack`,
      );
      return;
    }
    const stack = ctx.stacks.find((s) => s.name === r.stack);
    if (stack === undefined) return; // its own problems are reported
    if (!Object.prototype.hasOwnProperty.call(stack.services, r.service)) {
      problems.push(
        `${key}.service = ${JSON.stringify(r.service)}: stack ${r.stack} (${stack.file}) has no such service (services: ${Object.keys(stack.services).join(", ")})`,
      );
      return;
    }
    const ports = stack.services[r.service];
    if (
      ports !== undefined &&
      ports.length > 0 &&
      r.port !== undefined &&
      !ports.includes(r.port)
    ) {
      problems.push(
        `${key}.port = ${r.port}: service ${r.service} of ${stack.file} listens on ${ports.join(", ")} (from its ports, expose and healthcheck); use one of those, or declare the port with expose: ["${r.port}"]`,
      );
    }
  });
  return problems;
}

/**
 * The sites the edge serves: one per host, HTTPS where the domain asks for it and the edge
 * terminates TLS. Path routes come first, longest first, the host's catch-all last. A host a
 * route's `redirectFrom` names is a site of its own whose every request is redirected (301,
 * path and query kept) to the route's host.
 */
export function planSites(
  routes: readonly EdgeRouteConfig[],
  domains: readonly EdgeDomain[],
  edgeTerminatesTls: boolean,
  hsts = true,
): EdgeSite[] {
  const https = new Set(domains.filter((d) => d.https).map((d) => d.name));
  const byHost = new Map<string, SiteRoute[]>();
  const add = (host: string, route: SiteRoute) => {
    const list = byHost.get(host) ?? [];
    if (!list.some((x) => x.path === route.path)) list.push(route);
    byHost.set(host, list);
  };
  for (const r of routes) {
    const path = r.path === undefined ? {} : { path: r.path };
    if (r.redirect !== undefined) {
      add(r.host, {
        ...path,
        redirect: {
          url: r.redirect.url,
          code: r.redirect.code ?? 301,
          keepPath: r.redirect.keepPath ?? true,
        },
      });
    } else {
      const users = Object.entries(r.basicAuth?.users ?? {});
      add(r.host, {
        ...path,
        stack: r.stack!,
        service: r.service!,
        port: r.port!,
        ...(r.stripPrefix === true && r.path !== undefined ? { stripPrefix: true } : {}),
        ...(users.length > 0
          ? { basicAuth: users.sort().map(([user, key]) => ({ user, key })) }
          : {}),
        ...(r.maintenance === true ? { maintenance: true } : {}),
      });
    }
    for (const from of redirectFromHosts(r)) {
      const scheme = https.has(r.host) ? "https" : "http";
      add(from, { redirect: { url: `${scheme}://${r.host}`, code: 301, keepPath: true } });
    }
  }
  return [...byHost.keys()].sort().map((host) => ({
    host,
    https: edgeTerminatesTls && https.has(host),
    hsts: hsts && https.has(host),
    routes: byHost
      .get(host)!
      .slice()
      .sort((a, b) => (b.path ?? "").length - (a.path ?? "").length || cmp(a.path, b.path)),
  }));
}

const cmp = (a = "", b = "") => (a < b ? -1 : a > b ? 1 : 0);

/** Which services of which stack the edge routes to: the ones to attach to its network. */
export function routedServices(routes: readonly EdgeRouteConfig[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of routes) {
    if (r.redirect !== undefined || r.stack === undefined || r.service === undefined) continue;
    const list = out.get(r.stack) ?? [];
    if (!list.includes(r.service)) list.push(r.service);
    out.set(r.stack, list.sort());
  }
  return out;
}

type Doc = { services?: Record<string, Record<string, unknown> | null> };

/**
 * The ports each service says it listens on: container ports of `ports:`, `expose:` (which the
 * renderer drops, as swarm ignores it, so it is read from the file as written) and the port of
 * a local URL its healthcheck fetches. Undefined for a service that says nothing.
 * @param sourceTexts the stack's files as written (several: merged, as `-c a -c b`).
 */
export function servicePorts(
  renderedYaml: string,
  sourceTexts: string | readonly string[] = [],
): Record<string, number[] | undefined> {
  const rendered = (parse(renderedYaml) as Doc)?.services ?? {};
  const sources: NonNullable<Doc["services"]>[] = [];
  for (const text of [sourceTexts].flat()) {
    try {
      sources.push((parse(text) as Doc)?.services ?? {});
    } catch {
      // the renderer has reported any problem with the file
    }
  }
  const out: Record<string, number[] | undefined> = {};
  for (const [name, svc] of Object.entries(rendered)) {
    const found = new Set<number>();
    for (const p of asList(svc?.ports)) {
      const target = typeof p === "object" && p !== null ? (p as { target?: unknown }).target : p;
      const port = containerPort(target);
      if (port !== undefined) found.add(port);
    }
    for (const e of sources.flatMap((src) => asList(src?.[name]?.expose))) {
      const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp))?$/.exec(String(e));
      if (m) for (let p = Number(m[1]); p <= Number(m[2] ?? m[1]); p++) found.add(p);
    }
    const test = (svc?.healthcheck as { test?: unknown } | undefined)?.test;
    const text = Array.isArray(test) ? test.join(" ") : typeof test === "string" ? test : "";
    for (const m of text.matchAll(LOCAL_URL)) {
      found.add(m[3] !== undefined ? Number(m[3]) : m[1] === "https" ? 443 : 80);
    }
    out[name] = found.size > 0 ? [...found].sort((a, b) => a - b) : undefined;
  }
  return out;
}

/** `http://127.0.0.1:8080/...`, `http://localhost/...`: a healthcheck asking the task itself. */
const LOCAL_URL = /\b(https?):\/\/(localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::(\d+))?/g;

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The container port of a `ports:` entry: the last `:`-part of the short syntax, or `target`. */
function containerPort(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v !== "string") return undefined;
  const last =
    v
      .replace(/\/(tcp|udp|sctp)$/, "")
      .split(":")
      .pop() ?? "";
  return /^\d+$/.test(last) ? Number(last) : undefined;
}
