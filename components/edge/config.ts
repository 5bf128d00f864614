/**
 * Config of the edge (`do-swarm:edge`): which of the user's domains go to which stack service.
 * This checks each route on its own (form, duplicates); whether its stack, service, port and
 * host exist is checked against the rendered stacks and `domains` by components/edge/routes.ts.
 */
import { Fail, isObject } from "../core/config";

/** One route: requests for `host` (and, with `path`, that path and below) go to a service. */
export interface EdgeRouteConfig {
  /** A host name out of `domains`, e.g. `app.example.com`. */
  host: string;
  /** Name of a stack in `stacks`. */
  stack: string;
  /** Name of a service in that stack's compose file. */
  service: string;
  /** The port the service's containers listen on (reached over the edge's overlay network). */
  port: number;
  /**
   * Path prefix, e.g. `/api`: matches `/api` and `/api/...` (not `/apiary`), passed on
   * unchanged. @default none (every path of the host)
   */
  path?: string;
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
}

/** The edge with every default applied. */
export interface EdgeSettings {
  email?: string;
  routes: EdgeRouteConfig[];
  image: string;
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
    if (!["email", "routes", "image"].includes(k)) {
      fail(`edge.${k}`, raw[k], "unknown setting; use email, routes or image");
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
  const routes = raw.routes ?? [];
  if (!Array.isArray(routes)) {
    fail("edge.routes", routes, "use a list of { host, stack, service, port, path? }");
    return undefined;
  }
  const seen = new Map<string, number>();
  const good: EdgeRouteConfig[] = [];
  routes.forEach((r: unknown, i) => {
    const key = `edge.routes[${i}]`;
    if (!isObject(r)) {
      fail(key, r, "each route is an object { host, stack, service, port, path? }");
      return;
    }
    let ok = true;
    const bad = (field: string, fix: string) => {
      fail(`${key}.${field}`, r[field], fix);
      ok = false;
    };
    for (const k of Object.keys(r)) {
      if (!["host", "stack", "service", "port", "path"].includes(k)) {
        bad(k, "unknown setting; use host, stack, service, port or path");
      }
    }
    if (typeof r.host !== "string" || !HOST_NAME.test(r.host)) {
      bad("host", "use a lowercase host name such as app.example.com (no scheme, port or path)");
    }
    if (typeof r.stack !== "string" || r.stack === "")
      bad("stack", "name a stack of do-swarm:stacks");
    if (typeof r.service !== "string" || r.service === "") {
      bad("service", "name a service of that stack's compose file");
    }
    if (typeof r.port !== "number" || !Number.isInteger(r.port) || r.port < 1 || r.port > 65535) {
      bad("port", "use the port the service listens on inside its containers (1-65535)");
    }
    if (r.path !== undefined && (typeof r.path !== "string" || !PATH_PREFIX.test(r.path))) {
      bad(
        "path",
        'use a path prefix such as "/api" (leading slash, no trailing slash, no wildcard)',
      );
    }
    if (typeof r.host === "string") {
      const where = `${r.host}${typeof r.path === "string" ? r.path : ""}`;
      const first = seen.get(where);
      if (first !== undefined) {
        fail(
          key,
          { host: r.host, path: r.path },
          `this host and path are already routed by edge.routes[${first}]: remove one or give a different path`,
        );
        ok = false;
      } else seen.set(where, i);
    }
    if (ok) good.push(r as unknown as EdgeRouteConfig);
  });
  return {
    ...(typeof email === "string" ? { email } : {}),
    routes: good,
    image: image as string,
  };
}
