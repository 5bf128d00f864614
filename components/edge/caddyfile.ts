/**
 * The edge's proxy config: a Caddyfile, rendered by a pure function from the planned sites.
 * Every directive below exists in Caddy 2.6 (Debian's package, which CI's `caddy validate` and
 * the lab run) and in 2.11 (the image the program deploys); checked against both releases'
 * Caddyfile parsers (caddyserver/caddy v2.6.2 and v2.11.4).
 */
import { EdgeSite, SiteRoute, upstreamName } from "./routes";

/** Loopback-only listener inside the edge container: its health check and the on-demand gate. */
export const INTERNAL_PORT = 9180;
export const HEALTH_PATH = "/healthz";
const ASK_PATH = "/on-demand-allowed";
/** The node's volume shared by the edge's two services, mounted in both (stack.ts). */
export const SHARED_DIR = "/etc/do-swarm-edge";
/**
 * While this file exists in SHARED_DIR, every response says `Connection: close` (HTTP/2: Go's
 * server sends GOAWAY), so clients hold no idle keep-alive connection to this edge. Set before
 * the reserved IP leaves the node (the edge stopping, a resize's hand-off): a connection still
 * open when the IP moves is reset, and its next request fails; a client that opened a new
 * connection per request since only loses a request caught in flight at that instant.
 */
export const CLOSE_MARKER = "close-connections";

/**
 * How quickly the edge follows swarm, and what a task that went away may cost.
 *
 * What a node's sudden death costs (decided here, judged by lab scenario 23): a request that was
 * not yet sent to the dead node's tasks never fails (a dial to them gives up after `dialTimeout`
 * and is retried on another task); a request already sent to it gets no answer, so Caddy gives
 * up on it after `responseHeaderTimeout` and then retries it on another task if it is a GET (the
 * rule of Caddy's `tryAgain`, reverseproxy.go, the same in v2.6.2 and v2.11.4: after a non-dial
 * error only GET is retried unless `retry_match` says otherwise), or answers 504 for any other
 * method, since the dead node may have acted on it. Without the timeout such a request hangs for
 * the kernel's TCP retransmissions (about 15 minutes) and every client gives up first.
 */
export const PROXY_TIMING = {
  /** Re-resolve tasks.<service> this often: new tasks get traffic, stopping ones none. */
  refresh: "1s",
  /** A connect attempt to a task gives up after this (a powered-off node never answers). */
  dialTimeout: "1s",
  /**
   * A task that sent no response header this long after the request is given up (GET: retried
   * elsewhere; others: 504). Long enough for slow pages (nginx's proxy_read_timeout is 60 s, a
   * browser waits minutes), short enough that a GET caught on a dead node is answered in about
   * half a minute. A streaming response (SSE, a WebSocket's 101) sends its header at once.
   */
  responseHeaderTimeout: "30s",
  /**
   * Attempts after the first, each `tryInterval` apart when no task can take the request: about
   * 5 s of waiting for a task (a single replica restarting) before 503. A count, not
   * `lb_try_duration`: Caddy retries only while less than the try duration has passed since the
   * request began (tryAgain), so a duration would forbid the retry of a GET that waited out
   * `responseHeaderTimeout`.
   */
  retries: 20,
  tryInterval: "250ms",
  /**
   * Passive health: a task is skipped for `failDuration` once `maxFails` requests to it failed
   * within that time. Since Caddy 2.11.2 this applies to dynamic upstreams (#7539, hosts.go
   * fillDynamicHost); with one failure and 30 s (as before) a single-replica service answered
   * 503 for 30 s after one dropped request. Three failures: a dead task still stops costing a
   * 1 s dial after about three requests; one dropped request ejects nothing.
   */
  failDuration: "10s",
  maxFails: 3,
  /** In-flight requests get this long to finish when the edge stops. */
  gracePeriod: "10s",
} as const;

export interface CaddyfileArgs {
  sites: readonly EdgeSite[];
  /** ACME account contact. @default none */
  email?: string;
  /**
   * TLS ends in front of the edge (the load balancer): trust the X-Forwarded-* headers it sets
   * when it connects from a private address. @default false
   */
  behindLoadBalancer?: boolean;
}

/**
 * Renders the Caddyfile. Deterministic: sites by host, routes most specific first, so an
 * unchanged config renders to the same bytes (and redeploys nothing).
 */
export function renderCaddyfile(args: CaddyfileArgs): string {
  const httpsHosts = args.sites.filter((s) => s.https).map((s) => s.host);
  const out: string[] = [
    "# do-swarm edge (Caddy): rendered by components/edge/caddyfile.ts from do-swarm:edge.",
    "{",
  ];
  if (args.email !== undefined) out.push(`\temail ${args.email}`);
  if (httpsHosts.length > 0) {
    // Certificates are obtained when the first TLS handshake for a host reaches THIS edge, not
    // when it starts: only the edge behind the entry point receives handshakes, so only it asks
    // Let's Encrypt, and the HTTP-01 challenge comes back to it through the same address. The
    // same holds for renewals: certmagic never renews on-demand certificates in the background,
    // only at a handshake (maintain.go, v0.17.2 and v0.25.3, in Caddy 2.6.2 and 2.11.4). The
    // gate admits only the configured HTTPS hosts.
    out.push("\ton_demand_tls {", `\t\task http://127.0.0.1:${INTERNAL_PORT}${ASK_PATH}`, "\t}");
  }
  out.push(
    // HTTP/3 would need 443/udp through the firewall and host-mode publishing; browsers would
    // try it on every Alt-Svc hint first. TCP only.
    "\tservers {",
    "\t\tprotocols h1 h2",
    "\t}",
    `\tgrace_period ${PROXY_TIMING.gracePeriod}`,
    "}",
    "",
    `http://127.0.0.1:${INTERNAL_PORT} {`,
    "\tbind 127.0.0.1",
    `\thandle ${HEALTH_PATH} {`,
    '\t\trespond "ok" 200',
    "\t}",
  );
  if (httpsHosts.length > 0) {
    out.push(
      `\t@allowed query ${httpsHosts.map((h) => `domain=${h}`).join(" ")}`,
      `\thandle ${ASK_PATH} {`,
      "\t\trespond @allowed 200",
      "\t\trespond 403",
      "\t}",
    );
  }
  out.push("\trespond 404", "}");
  for (const site of args.sites)
    out.push("", ...renderSite(site, args.behindLoadBalancer ?? false));
  if (args.behindLoadBalancer === true) out.push("", ...loadBalancerCheck());
  return out.join("\n") + "\n";
}

/** The matcher of a site's requests while the node's close-connections marker exists. */
const closingMatcher = [
  "\t@closing file {",
  `\t\troot ${SHARED_DIR}`,
  `\t\ttry_files ${CLOSE_MARKER}`,
  "\t}",
];

/**
 * What answers the load balancer's health check: it asks for the node's own address, which is
 * no site's host, so this catch-all gets it (Caddy would answer an empty 200 to a request no
 * site matches: the same). While the edge drains before it stops (edge-caddy.sh) the check gets
 * 503, so the balancer takes the node out before its edge goes; every site meanwhile serves.
 */
function loadBalancerCheck(): string[] {
  return [
    "http:// {",
    ...closingMatcher,
    "\thandle @closing {",
    "\t\theader Connection close",
    '\t\trespond "this edge is stopping" 503',
    "\t}",
    "\trespond 200",
    "}",
  ];
}

function renderSite(site: EdgeSite, behindLoadBalancer: boolean): string[] {
  // https:// gets a certificate and a redirect of plain HTTP to HTTPS; http:// serves plain HTTP.
  const lines = [`${site.https ? "https" : "http"}://${site.host} {`];
  if (site.https) lines.push("\ttls {", "\t\ton_demand", "\t}");
  // A stat of the marker per request (the file matcher); set immediately, not deferred, so
  // Go's server sees it when the response starts (checked with Caddy 2.6.2: tests/edgeReload).
  lines.push(...closingMatcher, "\theader @closing Connection close");
  let catchAll = false;
  site.routes.forEach((r, i) => {
    if (r.path === undefined) {
      catchAll = true;
      lines.push("\thandle {", ...proxy(r, behindLoadBalancer, "\t\t"), "\t}");
    } else {
      const m = `@route${i}`;
      lines.push(
        `\t${m} path ${r.path} ${r.path}/*`,
        `\thandle ${m} {`,
        ...proxy(r, behindLoadBalancer, "\t\t"),
        "\t}",
      );
    }
  });
  if (!catchAll) lines.push("\thandle {", '\t\trespond "no route for this path" 404', "\t}");
  lines.push("}");
  return lines;
}

function proxy(r: SiteRoute, behindLoadBalancer: boolean, indent: string): string[] {
  const t = PROXY_TIMING;
  const body = [
    "reverse_proxy {",
    "\tdynamic a {",
    `\t\tname ${upstreamName(r.stack, r.service)}`,
    `\t\tport ${r.port}`,
    `\t\trefresh ${t.refresh}`,
    "\t}",
    "\tlb_policy round_robin",
    `\tlb_retries ${t.retries}`,
    `\tlb_try_interval ${t.tryInterval}`,
    `\tfail_duration ${t.failDuration}`,
    `\tmax_fails ${t.maxFails}`,
    ...(behindLoadBalancer ? ["\ttrusted_proxies private_ranges"] : []),
    "\ttransport http {",
    `\t\tdial_timeout ${t.dialTimeout}`,
    `\t\tresponse_header_timeout ${t.responseHeaderTimeout}`,
    "\t}",
    "}",
  ];
  return body.map((l) => indent + l);
}
