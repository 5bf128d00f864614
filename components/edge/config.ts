/**
 * Config of the edge (`do-swarm:edge`): which of the user's domains go to which stack service.
 * This checks each route on its own (form, duplicates); whether its stack, service, port and
 * host exist is checked against the rendered stacks and `domains` by components/edge/routes.ts.
 */
import { Fail, isObject } from "../core/config";

/** Redirect codes a route may answer with: permanent (301, 308) or temporary (302, 307). */
export const REDIRECT_CODES = [301, 302, 307, 308] as const;
export type RedirectCode = (typeof REDIRECT_CODES)[number];

/** A route that answers with a redirect instead of proxying. */
export interface EdgeRedirectConfig {
  /** Where to: an absolute http(s) URL, e.g. `https://new.example.com`. */
  url: string;
  /** 301 or 308: permanent (browsers cache it); 302 or 307: temporary. @default 301 */
  code?: RedirectCode;
  /**
   * Append the request's path and query to `url` (`/a?b=1` on the old host goes to
   * `https://new.example.com/a?b=1`); false: every request goes to `url` exactly. @default true
   */
  keepPath?: boolean;
}

/**
 * One route: requests for `host` (and, with `path`, that path and below) go to a service, or
 * answer with a redirect (`redirect` instead of `stack`, `service`, `port`).
 */
export interface EdgeRouteConfig {
  /** A host name out of `domains`, e.g. `app.example.com`. */
  host: string;
  /** Name of a stack in `stacks` (not with `redirect`). */
  stack?: string;
  /** Name of a service in that stack's compose file (not with `redirect`). */
  service?: string;
  /** The port the service's containers listen on (reached over the edge's overlay network). */
  port?: number;
  /**
   * Path prefix, e.g. `/api`: matches `/api` and `/api/...` (not `/apiary`), case-insensitively
   * (Caddy's path matcher), passed on unchanged unless `stripPrefix`. @default none (every path
   * of the host)
   */
  path?: string;
  /** Answer with this redirect instead of proxying. @default none */
  redirect?: EdgeRedirectConfig;
  /** Remove `path` from the request's path before proxying (`/api/orders` reaches the service as `/orders`). @default false */
  stripPrefix?: boolean;
  /**
   * HTTP basic auth in front of the route: user name -> the name of a SECRET config key holding
   * that user's bcrypt hash (`caddy hash-password`; `pulumi config set --secret KEY HASH`). The
   * hash never enters the plaintext state or the preview. @default none
   */
  basicAuth?: { users: Record<string, string> };
  /** Answer every request of the route with a 503 maintenance page instead of proxying. @default false */
  maintenance?: boolean;
  /**
   * Other hosts (each one of `domains`) whose every request is redirected (301, path and query
   * kept) to this route's host. `"www"` is the host's www twin: `www.example.com` for
   * `example.com` (www to apex), `example.com` for `www.example.com` (apex to www). @default []
   */
  redirectFrom?: string[];
}

/** `do-swarm:edge`. */
export interface EdgeConfig {
  /**
   * Contact address of the ACME account the edge registers with Let's Encrypt (expiry notices).
   * Not a secret. @default none (an account without contact)
   */
  email?: string;
  /** The routes. @default [] */
  routes?: EdgeRouteConfig[];
  /**
   * The edge's image: the official Caddy image at an exact version; a digest-pinned reference
   * (`caddy:2.11.4-alpine@sha256:...`) works too. @default EDGE_DEFAULTS.image
   */
  image?: string;
  /** Strict-Transport-Security on the responses of `https` domains. @default true */
  hsts?: boolean;
  /** X-Content-Type-Options, Referrer-Policy, X-Frame-Options where the service set none. @default true */
  securityHeaders?: boolean;
  /** zstd/gzip compression of text responses when the client accepts it. @default true */
  compression?: boolean;
  /** One JSON line per request on the edge's stdout (`docker service logs do-swarm-edge_caddy`). @default true */
  accessLog?: boolean;
}

/** The edge with every default applied. */
export interface EdgeSettings {
  email?: string;
  routes: EdgeRouteConfig[];
  image: string;
  /** @default true (absent: true) */
  hsts?: boolean;
  /** @default true (absent: true) */
  securityHeaders?: boolean;
  /** @default true (absent: true) */
  compression?: boolean;
  /** @default true (absent: true) */
  accessLog?: boolean;
}

export const EDGE_DEFAULTS = {
  /** Caddy 2.11.4 (official image); every directive the renderer writes exists in 2.6 and 2.11. */
  image: "caddy:2.11.4-alpine",
} as const;

/** A lowercase DNS name of at least two labels (`app.example.com`); no wildcard, no IP. */
export const HOST_NAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** `/seg/seg`: no trailing slash, no wildcard, query or placeholder (a prefix is matched as a path). */
const PATH_PREFIX = /^(\/[A-Za-z0-9._~!$&'()+,;=:@%-]+)+$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const IMAGE_REF = /^[a-z0-9][a-z0-9._/:@-]*$/;

/** A config key of this project that a basic-auth user's hash is read from. */
const CONFIG_KEY = /^[A-Za-z][A-Za-z0-9_-]*$/;
/** A basic-auth user name: no colon (the separator of the credentials), no space. */
const USER_NAME = /^[A-Za-z0-9._@-]{1,64}$/;
const URL_RE = /^https?:\/\/[^\s{}"]+$/;
const EDGE_KEYS = [
  "email",
  "routes",
  "image",
  "hsts",
  "securityHeaders",
  "compression",
  "accessLog",
];
const ROUTE_KEYS = [
  "host",
  "stack",
  "service",
  "port",
  "path",
  "redirect",
  "stripPrefix",
  "basicAuth",
  "maintenance",
  "redirectFrom",
];

/** The www twin of a host: www.example.com <-> example.com. */
export const wwwTwin = (host: string) => (host.startsWith("www.") ? host.slice(4) : `www.${host}`);

/** The hosts a route's redirectFrom names, with "www" resolved. */
export const redirectFromHosts = (r: { host: string; redirectFrom?: string[] }) =>
  (r.redirectFrom ?? []).map((h) => (h === "www" ? wwwTwin(r.host) : h));

/** Checks `do-swarm:edge` on its own; undefined when it is not even an object. */
export function validateEdge(raw: unknown, fail: Fail): EdgeSettings | undefined {
  if (raw === undefined) return { routes: [], image: EDGE_DEFAULTS.image };
  if (!isObject(raw)) {
    fail(
      "edge",
      raw,
      'use an object such as { "email": "ops@example.com", "routes": [{ "host": "app.example.com", "stack": "web", "service": "web", "port": 80 }] }',
    );
    return undefined;
  }
  for (const k of Object.keys(raw)) {
    if (!EDGE_KEYS.includes(k)) {
      fail(`edge.${k}`, raw[k], `unknown setting; use ${EDGE_KEYS.join(", ")}`);
    }
  }
  const email = raw.email;
  if (email !== undefined && (typeof email !== "string" || !EMAIL.test(email))) {
    fail("edge.email", email, "use an email address such as ops@example.com, or leave it out");
  }
  const image = raw.image ?? EDGE_DEFAULTS.image;
  if (typeof image !== "string" || !IMAGE_REF.test(image)) {
    fail("edge.image", image, `use an image reference such as ${EDGE_DEFAULTS.image}`);
  }
  const switches: Record<string, boolean> = {};
  for (const k of ["hsts", "securityHeaders", "compression", "accessLog"] as const) {
    const v = raw[k];
    if (v === undefined) continue;
    if (typeof v !== "boolean") fail(`edge.${k}`, v, `use true or false (default true)`);
    else switches[k] = v;
  }
  const routes = raw.routes ?? [];
  if (!Array.isArray(routes)) {
    fail("edge.routes", routes, "use a list of { host, stack, service, port, path? }");
    return undefined;
  }
  // Host and path, lower-cased: Caddy's path matcher is case-insensitive (matchers.go
  // MatchPath.Provision lower-cases the patterns, Match the request's path: v2.6.2 and v2.11.4),
  // so /API and /api are one route and the second would never be reached.
  const seen = new Map<string, number>();
  const redirected = new Map<string, number>();
  const good: EdgeRouteConfig[] = [];
  routes.forEach((r: unknown, i) => {
    const key = `edge.routes[${i}]`;
    if (!isObject(r)) {
      fail(key, r, "each route is an object { host, stack, service, port, path? }");
      return;
    }
    let ok = true;
    const bad = (field: string, fix: string, value: unknown = r[field]) => {
      fail(`${key}.${field}`, value, fix);
      ok = false;
    };
    for (const k of Object.keys(r)) {
      if (!ROUTE_KEYS.includes(k)) bad(k, `unknown setting; use ${ROUTE_KEYS.join(", ")}`);
    }
    if (typeof r.host !== "string" || !HOST_NAME.test(r.host)) {
      bad("host", "use a lowercase host name such as app.example.com (no scheme, port or path)");
    }
    const isRedirect = r.redirect !== undefined;
    if (isRedirect) {
      for (const f of ["stack", "service", "port", "stripPrefix", "basicAuth", "maintenance"]) {
        if (r[f] !== undefined) {
          bad(f, "a redirect route proxies nothing: remove this setting, or remove redirect");
        }
      }
      const red = r.redirect;
      if (!isObject(red)) {
        bad("redirect", 'use { "url": "https://new.example.com", "code": 301 }');
      } else {
        for (const k of Object.keys(red)) {
          if (!["url", "code", "keepPath"].includes(k)) {
            bad(`redirect.${k}`, "unknown setting; use url, code or keepPath", red[k]);
          }
        }
        if (typeof red.url !== "string" || !URL_RE.test(red.url)) {
          bad(
            "redirect.url",
            "use an absolute http(s) URL such as https://new.example.com (no spaces, braces or quotes)",
            red.url,
          );
        }
        if (red.code !== undefined && !(REDIRECT_CODES as readonly unknown[]).includes(red.code)) {
          bad(
            "redirect.code",
            "use 301 or 308 (permanent: browsers cache it) or 302 or 307 (temporary)",
            red.code,
          );
        }
        if (red.keepPath !== undefined && typeof red.keepPath !== "boolean") {
          bad(
            "redirect.keepPath",
            "use true (append the request's path and query to url) or false",
            red.keepPath,
          );
        }
      }
    } else {
      if (typeof r.stack !== "string" || r.stack === "") {
        bad("stack", "name a stack of do-swarm:stacks (or give the route a redirect)");
      }
      if (typeof r.service !== "string" || r.service === "") {
        bad("service", "name a service of that stack's compose file");
      }
      if (typeof r.port !== "number" || !Number.isInteger(r.port) || r.port < 1 || r.port > 65535) {
        bad("port", "use the port the service listens on inside its containers (1-65535)");
      }
    }
    if (r.path !== undefined && (typeof r.path !== "string" || !PATH_PREFIX.test(r.path))) {
      bad(
        "path",
        'use a path prefix such as "/api" (leading slash, no trailing slash, no wildcard)',
      );
    }
    if (r.stripPrefix !== undefined) {
      if (typeof r.stripPrefix !== "boolean") bad("stripPrefix", "use true or false");
      else if (r.stripPrefix && r.path === undefined) {
        bad("stripPrefix", 'strip a prefix only with a path: add "path": "/prefix" or remove it');
      }
    }
    if (r.maintenance !== undefined && typeof r.maintenance !== "boolean") {
      bad("maintenance", "use true (answer 503 with a maintenance page) or false");
    }
    if (r.basicAuth !== undefined) {
      const users = isObject(r.basicAuth) ? r.basicAuth.users : undefined;
      const badKeys = isObject(r.basicAuth)
        ? Object.keys(r.basicAuth).filter((k) => k !== "users")
        : [];
      if (!isObject(users) || Object.keys(users).length === 0 || badKeys.length > 0) {
        bad(
          "basicAuth",
          'use { "users": { "alice": "<name of a secret config key holding alice\'s bcrypt hash>" } }',
        );
      } else {
        for (const [user, cfgKey] of Object.entries(users)) {
          if (!USER_NAME.test(user)) {
            bad(
              "basicAuth.users",
              "use user names of letters, digits and . _ @ - (no colon or space)",
              user,
            );
          }
          if (typeof cfgKey !== "string" || !CONFIG_KEY.test(cfgKey)) {
            bad(
              `basicAuth.users.${user}`,
              `name the config key holding ${user}'s bcrypt hash (not the hash itself), e.g. "edgeAdminHash", set with: pulumi config set --secret edgeAdminHash "$(caddy hash-password)"`,
              typeof cfgKey === "string" && cfgKey.startsWith("$") ? "(a hash)" : cfgKey,
            );
          }
        }
      }
    }
    if (r.redirectFrom !== undefined) {
      if (
        !Array.isArray(r.redirectFrom) ||
        r.redirectFrom.some((h) => typeof h !== "string" || (h !== "www" && !HOST_NAME.test(h)))
      ) {
        bad(
          "redirectFrom",
          'use a list of host names out of do-swarm:domains, or "www" for the host\'s www twin (www.example.com for example.com and the reverse)',
        );
      } else if (typeof r.host === "string") {
        for (const h of redirectFromHosts({ host: r.host, redirectFrom: r.redirectFrom })) {
          const first = redirected.get(h);
          if (h === r.host) {
            bad("redirectFrom", "a host cannot redirect to itself: remove it");
          } else if (first !== undefined && first !== i) {
            bad(
              "redirectFrom",
              `${h} is already redirected by edge.routes[${first}]: name it once`,
            );
          } else redirected.set(h, i);
        }
      }
    }
    if (typeof r.host === "string") {
      const where = `${r.host}${typeof r.path === "string" ? r.path : ""}`.toLowerCase();
      const first = seen.get(where);
      if (first !== undefined) {
        const prev = routes[first] as { host?: unknown; path?: unknown };
        const sameCase = prev.host === r.host && prev.path === r.path;
        fail(
          key,
          { host: r.host, path: r.path },
          sameCase
            ? `this host and path are already routed by edge.routes[${first}]: remove one or give a different path`
            : `this path differs only in case from edge.routes[${first}]'s, and Caddy matches paths case-insensitively, so one would shadow the other: merge them or give a different path`,
        );
        ok = false;
      } else seen.set(where, i);
    }
    if (ok) good.push(r as unknown as EdgeRouteConfig);
  });
  // A host that is redirected elsewhere cannot also be routed.
  good.forEach((r, i) => {
    const by = redirected.get(r.host);
    if (by !== undefined) {
      fail(
        `edge.routes[${routes.indexOf(r)}].host`,
        r.host,
        `edge.routes[${by}].redirectFrom redirects every request of ${r.host}: remove this route or the redirect`,
      );
      good[i] = undefined as unknown as EdgeRouteConfig;
    }
  });
  return {
    ...(typeof email === "string" ? { email } : {}),
    routes: good.filter((r) => r !== undefined),
    image: image as string,
    ...switches,
  };
}

/** The config keys the edge's basic-auth users name (read from the raw value, like secretEnvKeys). */
export function basicAuthKeys(rawEdge: unknown): string[] {
  if (!isObject(rawEdge) || !Array.isArray(rawEdge.routes)) return [];
  return rawEdge.routes.flatMap((r: unknown) => {
    const users = isObject(r) && isObject(r.basicAuth) ? r.basicAuth.users : undefined;
    return isObject(users)
      ? Object.values(users).filter((k): k is string => typeof k === "string")
      : [];
  });
}

/**
 * A bcrypt hash as Caddy's basicauth takes it, in both versions (caddyauth/basicauth.go
 * Provision, v2.6.2 and v2.11.4: a value starting with `$` is used as it is, any other is
 * base64-decoded): `$2a$14$...` (what `caddy hash-password` prints since 2.7) or its base64
 * (what 2.6.2 prints).
 */
export function isBcryptHash(v: string): boolean {
  const mcf = /^\$2[aby]?\$\d\d\$[./A-Za-z0-9]{53}$/;
  if (mcf.test(v)) return true;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(v)) return false;
  return mcf.test(Buffer.from(v, "base64").toString("latin1"));
}
