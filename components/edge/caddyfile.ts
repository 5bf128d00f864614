/**
 * The edge's proxy config: a Caddyfile, rendered by a pure function from the planned sites.
 * Every directive below exists in Caddy 2.6 (Debian's package, which CI's `caddy validate` and
 * the lab run) and in 2.11 (the image the program deploys); checked against both releases'
 * Caddyfile parsers (caddyserver/caddy v2.6.2 and v2.11.4).
 */
import { EdgeSite, isRedirect, ProxyRoute, SiteRoute, upstreamName } from "./routes";

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
   * when it connects from the VPC (`vpcIpRange`). @default false
   */
  behindLoadBalancer?: boolean;
  /**
   * The VPC's range, the only source whose X-Forwarded-For/-Proto the edge trusts behind the
   * load balancer (DigitalOcean's balancer reaches the droplets over the VPC). Not
   * `private_ranges`: that would include the edge's own attachable overlay network
   * (overlayAddressPool, disjoint from the VPC: swarm/networkConfig.ts), where any container of
   * a routed stack could forge them. @default DEFAULT_VPC_IP_RANGE
   */
  vpcIpRange?: string;
  /** Strict-Transport-Security on sites whose `hsts` is set is decided by planSites. */
  /** X-Content-Type-Options, Referrer-Policy, X-Frame-Options by default. @default true */
  securityHeaders?: boolean;
  /** zstd/gzip of text responses. @default true */
  compression?: boolean;
  /** JSON access log lines on stdout. @default true */
  accessLog?: boolean;
}

/** swarm/networkConfig.ts NETWORK_DEFAULTS.vpcIpRange (a test holds them equal). */
export const DEFAULT_VPC_IP_RANGE = "10.110.0.0/20";

/** HSTS for a year; no includeSubDomains (another name under the domain may be plain HTTP). */
export const HSTS_VALUE = "max-age=31536000";

/**
 * Security headers set on every response that does not carry them already. Each is its own
 * `header ?Field value` directive: the `?` (set only when absent) of one `header` block turns
 * into ONE response matcher requiring every listed field to be absent (headers/caddyfile.go,
 * applyHeaderOp, `respHeaderOps.Require.Headers[field] = nil`: v2.6.2 and v2.11.4), so a block
 * of several would set none as soon as the service set one of them.
 */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ["X-Content-Type-Options", "nosniff"],
  ["Referrer-Policy", "strict-origin-when-cross-origin"],
  ["X-Frame-Options", "SAMEORIGIN"],
];

/**
 * What `encode` compresses: an explicit list, because the default differs (encode.go
 * Provision: v2.6.2 matches text/* and 6 application types; v2.11.4 about 40 types) and both
 * defaults include text/event-stream, whose compressed stream 2.6.2 never flushes (its
 * responseWriter.Flush does not flush the encoder; 2.11.4's FlushError does): a server-sent
 * event stream would stall behind gzip in the lab. So SSE is left out, and the rest is the
 * usual text types. A response matcher's repeated `header` lines are alternatives
 * (MatchHeader.UnmarshalCaddyfile appends; matchHeaders: any value), in both versions.
 */
export const COMPRESSED_TYPES = [
  "text/html*",
  "text/css*",
  "text/plain*",
  "text/javascript*",
  "text/xml*",
  "text/csv*",
  "application/json*",
  "application/javascript*",
  "application/xml*",
  "application/xhtml+xml*",
  "application/rss+xml*",
  "application/atom+xml*",
  "application/ld+json*",
  "application/manifest+json*",
  "application/wasm*",
  "image/svg+xml*",
];

/** What a basic-auth user's hash renders as wherever the Caddyfile is shown (preview, outputs). */
export const hashPlaceholder = (key: string) => `[secret:${key}]`;

/**
 * The Caddyfile with each basic-auth placeholder replaced by the hash in `hashes` (config key ->
 * hash): the file the edge runs. The rendered one, with placeholders, is what is shown.
 */
export function withBasicAuthHashes(caddyfile: string, hashes: Record<string, string>): string {
  return caddyfile.replace(/\[secret:([A-Za-z0-9_-]+)\]/g, (_: string, key: string) => {
    const h = hashes[key];
    if (h === undefined) throw new Error(`no hash for basic-auth config key ${key}`);
    return h;
  });
}

/** The text of the 503 a route in maintenance answers with. */
export const MAINTENANCE_PAGE =
  "<!DOCTYPE html><html><head><meta charset=utf-8><title>Down for maintenance</title></head>" +
  "<body><h1>Down for maintenance</h1><p>This page is being worked on. Please try again in a few minutes.</p></body></html>";

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
  for (const site of args.sites) out.push("", ...renderSite(site, args));
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

function renderSite(site: EdgeSite, args: CaddyfileArgs): string[] {
  // https:// gets a certificate and a redirect of plain HTTP to HTTPS; http:// serves plain HTTP.
  const lines = [`${site.https ? "https" : "http"}://${site.host} {`];
  if (site.https) lines.push("\ttls {", "\t\ton_demand", "\t}");
  // A stat of the marker per request (the file matcher); set immediately, not deferred, so
  // Go's server sees it when the response starts (checked with Caddy 2.6.2: tests/edgeReload).
  lines.push(...closingMatcher, "\theader @closing Connection close");
  // `header ?Field value`: only where the service did not set the field (headers/caddyfile.go,
  // the `?` prefix, v2.6.2 and v2.11.4); one directive per field (SECURITY_HEADERS).
  const headers: (readonly [string, string])[] = [
    ...(site.hsts === true ? [["Strict-Transport-Security", HSTS_VALUE] as const] : []),
    ...(args.securityHeaders === false ? [] : SECURITY_HEADERS),
  ];
  for (const [field, value] of headers) lines.push(`\theader ?${field} "${value}"`);
  if (args.compression !== false) {
    // encode/caddyfile.go (v2.6.2, v2.11.4): formats on the first line, then a response
    // matcher block; zstd and gzip are standard modules of both (encode/zstd, encode/gzip).
    lines.push(
      "\tencode zstd gzip {",
      "\t\tmatch {",
      ...COMPRESSED_TYPES.map((t) => `\t\t\theader Content-Type ${t}`),
      "\t\t}",
      "\t}",
    );
  }
  if (args.accessLog !== false) {
    // A site's `log` is its access log (httpcaddyfile builtins.go parseLog; `output stdout`
    // and `format json` are core modules of both versions). Authorization and Cookie values are
    // logged empty (caddyhttp/marshalers.go, both versions), so basic-auth passwords are not.
    lines.push("\tlog {", "\t\toutput stdout", "\t\tformat json", "\t}");
  }
  let catchAll = false;
  let proxies = false;
  site.routes.forEach((r, i) => {
    const body = handleBody(r, args);
    if (!isRedirect(r) && r.maintenance !== true) proxies = true;
    if (r.path === undefined) {
      catchAll = true;
      lines.push("\thandle {", ...body, "\t}");
    } else {
      const m = `@route${i}`;
      lines.push(`\t${m} path ${r.path} ${r.path}/*`, `\thandle ${m} {`, ...body, "\t}");
    }
  });
  if (!catchAll) lines.push("\thandle {", '\t\trespond "no route for this path" 404', "\t}");
  if (proxies) {
    // reverse_proxy answers 503 with an empty body once its retries found no task (no
    // upstreams available). {http.error.status_code} is set as an int for the error routes
    // (server.go, both tags), {http.vars.*} reads `vars` (replacer.go, both tags). The route's
    // `vars` name the service; other errors (502, 504, a
    // 401 of basicauth) match nothing here and keep Caddy's own answer: the status, empty body
    // (errorEmptyHandler, caddyhttp/routes.go and caddyhttp.go: v2.6.2 and v2.11.4).
    lines.push(
      "\thandle_errors {",
      "\t\t@no_task expression {http.error.status_code} == 503",
      `\t\theader @no_task Content-Type "text/plain; charset=utf-8"`,
      `\t\trespond @no_task "${NO_TASK_TEXT}" 503`,
      "\t}",
    );
  }
  lines.push("}");
  return lines;
}

/** The body of the 503 a route answers when its service has no running task. */
export const NO_TASK_TEXT =
  "503 no task of {http.vars.edge_service} is running: the edge waited for one (swarm lists a task once it runs and is healthy); try again shortly";

function handleBody(r: SiteRoute, args: CaddyfileArgs): string[] {
  if (isRedirect(r)) {
    // redir <to> <code>: codes 300-399 in both versions (builtins.go parseRedir); {uri} is the
    // request's path and query (the {http.request.uri} shorthand: httptype.go in v2.6.2,
    // shorthands.go in v2.11.4).
    const to = r.redirect.keepPath ? `${r.redirect.url.replace(/\/$/, "")}{uri}` : r.redirect.url;
    return [`\t\tredir ${to} ${r.redirect.code}`];
  }
  const out: string[] = [];
  if (r.basicAuth !== undefined) {
    // `basicauth`, not `basic_auth`: 2.6.2 knows only the former; 2.11.4 keeps it as a
    // deprecated alias that logs a warning at load (caddyauth/caddyfile.go, both tags). bcrypt
    // is the default algorithm of both; the hash may be $2a$... or its base64 (basicauth.go).
    out.push(
      "\t\tbasicauth {",
      ...r.basicAuth.map((u) => `\t\t\t${u.user} ${hashPlaceholder(u.key)}`),
      "\t\t}",
    );
  }
  if (r.maintenance === true) {
    out.push(
      '\t\theader Content-Type "text/html; charset=utf-8"',
      "\t\theader Retry-After 120",
      `\t\trespond "${MAINTENANCE_PAGE}" 503`,
    );
    return out;
  }
  // For the 503 of handle_errors: which service had no task.
  out.push(`\t\tvars edge_service ${r.stack}/${r.service}`);
  if (r.stripPrefix === true && r.path !== undefined) {
    // uri strip_prefix (rewrite/rewrite.go trimPathPrefix, v2.6.2 and v2.11.4): removed
    // case-insensitively, as the path matcher matched; /api alone becomes / upstream.
    out.push(`\t\turi strip_prefix ${r.path}`);
  }
  out.push(...proxy(r, args, "\t\t"));
  return out;
}

function proxy(r: ProxyRoute, args: CaddyfileArgs, indent: string): string[] {
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
    // A CIDR or private_ranges (reverseproxy/caddyfile.go trusted_proxies, v2.6.2 and v2.11.4).
    ...(args.behindLoadBalancer === true
      ? [`\ttrusted_proxies ${args.vpcIpRange ?? DEFAULT_VPC_IP_RANGE}`]
      : []),
    "\ttransport http {",
    `\t\tdial_timeout ${t.dialTimeout}`,
    `\t\tresponse_header_timeout ${t.responseHeaderTimeout}`,
    "\t}",
    "}",
  ];
  return body.map((l) => indent + l);
}
