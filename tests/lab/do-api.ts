/**
 * A stand-in for the part of DigitalOcean's API that the product calls about reserved IPs, for
 * the lab (and for tests, in process). It behaves as DigitalOcean documents
 * (https://docs.digitalocean.com/reference/api/digitalocean/#tag/Reserved-IPs):
 *
 *   GET  /v2/reserved_ips                     {reserved_ips: [...], links, meta: {total}}
 *   GET  /v2/reserved_ips/{ip}                {reserved_ip: {ip, region, droplet|null, locked}}
 *   POST /v2/reserved_ips/{ip}/actions        {type: "assign", droplet_id} | {type: "unassign"}
 *        -> 201 {action: {id, status: "in-progress", type: "assign_ip"|"unassign_ip", ...}}
 *        -> 422 {id: "unprocessable_entity", ...} while another action on that IP is pending
 *   GET  /v2/reserved_ips/{ip}/actions/{id}   {action}   (also GET /v2/actions/{id})
 *   GET  /v2/reserved_ips/{ip}/actions        {actions: [...], links, meta: {total}}
 *   DELETE /v2/reserved_ips/{ip}              204; 422 while an action on it is pending
 *   GET  /v2/droplets[?tag_name=T]            {droplets: [...], links, meta: {total}}
 *   GET  /v2/droplets/{id}                    {droplet}
 *
 * Every call needs `Authorization: Bearer <token>` (401 otherwise). As DigitalOcean does, it
 * answers 403 {id: "forbidden", message: "You are not authorized to perform this operation"}
 * when the token lacks a scope that SCOPE_RULES (below, each row with its source in the OpenAPI
 * specification) names for the call; and 429 {id: "too_many_requests"} past 250 requests a
 * minute or 5,000 an hour per token (sliding: each request counts for a minute and an hour),
 * with DigitalOcean's ratelimit-limit, ratelimit-remaining, ratelimit-reset headers on every
 * answer and retry-after on a 429. An action stays "in-progress" for `actionSeconds`, then
 * completes: only then does the IP route to its new droplet, which the lab models by `onMove`
 * (moving the stand-in address between hosts); meanwhile another action or a DELETE on that IP
 * answers 422.
 * Lab-only extras, never called by the product (no token needed, not counted against the rate
 * limit, not in the log): `PUT /_lab/droplets` replaces the droplet list (a rebuilt host is a new
 * droplet id), `GET /_lab/log` lists the calls received ({calls, statuses}: "METHOD path[ body]"
 * and the status each was answered with), `GET|PUT /_lab/scopes` reads or changes the token's
 * scopes as of the next call ({scopes: [...]}, or {scopes: null} for full access): a scope
 * revoked, then granted again.
 *
 * CLI (the lab runs it in the background and reads the first line for the URL):
 *   ts-node tests/lab/do-api.ts --listen ADDR:PORT --token-file F --state STATE.json
 *     [--action-seconds 3] [--on-move 'bash command'] [--scopes 'reserved_ip:read,...']
 * (--scopes: the token's custom scopes; without it the token has full access).
 * STATE.json: {droplets: [{id, name, tags, publicIp, privateIp}], reservedIps: [{ip, region,
 * dropletId?}]}. --on-move runs with DO_API_IP, DO_API_FROM, DO_API_TO (droplet ids, empty for
 * none) in the environment; the action completes only once the command has exited 0 (errored
 * otherwise).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as http from "http";

/**
 * The scopes DigitalOcean requires per endpoint, for every endpoint the program, its scripts,
 * its agents and the provider's destroy of a reserved IP call. Source: DigitalOcean's OpenAPI
 * specification (github.com/digitalocean/openapi, commit 7c1300c4 of 2026-08-07), each
 * operation's `security: - bearer_auth: [...]` list (OpenAPI: every scope listed is required),
 * and the "Requires `...` scope" sentences of the query parameters used. Served by this stand-in
 * unless `servedHere` is false (volume-snapshot.sh's calls go to tests/lab/do-volumes.ts).
 */
export interface ScopeRule {
  method: "GET" | "POST" | "DELETE";
  /** The path, `{x}` for one segment. */
  path: string;
  scopes: readonly string[];
  /** Query parameters that need more scopes when present. */
  queryScopes?: Readonly<Record<string, readonly string[]>>;
  /** Where DigitalOcean says so (specification/resources/...). */
  source: string;
  /** Who calls it here. */
  caller: string;
  servedHere?: false;
}

export const SCOPE_RULES: readonly ScopeRule[] = [
  {
    method: "GET",
    path: "/v2/reserved_ips",
    scopes: ["reserved_ip:read"],
    source: "specification/resources/reserved_ips/reservedIPs_list.yml (security)",
    caller: "maintenanceOps.ts reservedIpsOn",
  },
  {
    method: "GET",
    path: "/v2/reserved_ips/{ip}",
    scopes: ["reserved_ip:read"],
    source: "specification/resources/reserved_ips/reservedIPs_get.yml (security)",
    caller: "failover-agent.sh refresh, install",
  },
  {
    method: "GET",
    path: "/v2/reserved_ips/{ip}/actions",
    scopes: ["reserved_ip:read"],
    source: "specification/resources/reserved_ips/reservedIPsActions_list.yml (security)",
    caller: "failover-agent.sh install (checks the scope wait_action needs)",
  },
  {
    method: "GET",
    path: "/v2/reserved_ips/{ip}/actions/{id}",
    scopes: ["reserved_ip:read"],
    source: "specification/resources/reserved_ips/reservedIPsActions_get.yml (security)",
    caller: "failover-agent.sh wait_action, maintenanceOps.ts assign",
  },
  {
    method: "POST",
    path: "/v2/reserved_ips/{ip}/actions",
    scopes: ["reserved_ip:update"],
    source: "specification/resources/reserved_ips/reservedIPsActions_post.yml (security)",
    caller: "failover-agent.sh assign, maintenanceOps.ts assign, the provider's unassign",
  },
  {
    method: "DELETE",
    path: "/v2/reserved_ips/{ip}",
    scopes: ["reserved_ip:delete"],
    source: "specification/resources/reserved_ips/reservedIPs_delete.yml (security)",
    caller: "the provider's delete of the ReservedIp (pulumi destroy)",
  },
  {
    method: "GET",
    path: "/v2/actions/{id}",
    scopes: ["actions:read"],
    source: "specification/resources/actions/actions_get.yml (security)",
    caller: "the lab",
  },
  {
    method: "GET",
    path: "/v2/droplets",
    scopes: ["droplet:read"],
    queryScopes: { tag_name: ["tag:read"] },
    source:
      "specification/resources/droplets/droplets_list.yml (security); tag_name: " +
      'specification/resources/droplets/parameters.yml#droplet_tag_name ("Requires `tag:read` scope")',
    caller: "failover-agent.sh refresh, install; maintenanceOps.ts dropletsByTag",
  },
  {
    method: "GET",
    path: "/v2/droplets/{id}",
    scopes: ["droplet:read"],
    source: "specification/resources/droplets/droplets_get.yml (security)",
    caller: "the lab",
  },
  {
    method: "GET",
    path: "/v2/volumes/{id}",
    scopes: ["block_storage:read"],
    source: "specification/resources/volumes/volumes_get.yml (security)",
    caller: "volume-snapshot.sh",
    servedHere: false,
  },
  {
    method: "GET",
    path: "/v2/volumes/{id}/snapshots",
    scopes: ["block_storage_snapshot:read"],
    source: "specification/resources/volumes/volumeSnapshots_list.yml (security)",
    caller: "volume-snapshot.sh (counts a volume's snapshots against the 25 per volume)",
    servedHere: false,
  },
  {
    method: "POST",
    path: "/v2/volumes/{id}/snapshots",
    scopes: ["block_storage_snapshot:create"],
    queryScopes: { "body:tags": ["tag:create"] },
    source:
      "specification/resources/volumes/volumeSnapshots_create.yml (security); its tags: " +
      'specification/shared/attributes/tags_array.yml ("Requires `tag:create` scope")',
    caller: "volume-snapshot.sh",
    servedHere: false,
  },
  {
    method: "GET",
    path: "/v2/snapshots/{id}",
    scopes: ["snapshot:read", "block_storage_snapshot:read"],
    source: "specification/resources/snapshots/snapshots_get.yml (security lists both)",
    caller: "volume-snapshot.sh",
    servedHere: false,
  },
];

/** The rule for a call, if the table has one. */
export function scopeRule(method: string, pathname: string): ScopeRule | undefined {
  const parts = pathname.replace(/\/+$/, "").split("/");
  return SCOPE_RULES.find((r) => {
    const want = r.path.split("/");
    return (
      r.method === method &&
      want.length === parts.length &&
      want.every((w, i) => (w.startsWith("{") ? parts[i] !== "" : w === parts[i]))
    );
  });
}

/**
 * The scopes a call needs that `granted` lacks (none for a full-access token, `granted`
 * undefined). A call the table does not know needs nothing here (the stand-in answers 404).
 */
export function missingScopes(
  method: string,
  url: URL,
  granted: readonly string[] | undefined,
  body = "",
): string[] {
  if (granted === undefined) return [];
  const rule = scopeRule(method, url.pathname);
  if (rule === undefined) return [];
  const need = [...rule.scopes];
  for (const [param, scopes] of Object.entries(rule.queryScopes ?? {})) {
    const present = param.startsWith("body:")
      ? (() => {
          try {
            return (JSON.parse(body || "{}") as Record<string, unknown>)[param.slice(5)] != null;
          } catch {
            return false;
          }
        })()
      : url.searchParams.has(param);
    if (present) need.push(...scopes);
  }
  return need.filter((s) => !granted.includes(s));
}

/** DigitalOcean's answer to a call the token's scopes do not allow. */
export const FORBIDDEN = {
  id: "forbidden",
  message: "You are not authorized to perform this operation",
} as const;

/** DigitalOcean's rate limits per token (the specification's description.yml, "Rate Limit"). */
export const RATE_LIMIT = { perMinute: 250, perHour: 5000 } as const;

export interface StandInDroplet {
  id: number;
  name: string;
  tags: string[];
  publicIp: string;
  privateIp: string;
  /** @default "active" */
  status?: "active" | "off";
}

export interface StandInReservedIp {
  ip: string;
  region: string;
  dropletId?: number;
}

export interface DoApiOptions {
  token: string;
  droplets: StandInDroplet[];
  reservedIps: StandInReservedIp[];
  /** The token's custom scopes. @default undefined: full access */
  scopes?: readonly string[];
  /** Requests per token a minute and an hour. @default RATE_LIMIT (250, 5000) */
  rateLimit?: { perMinute: number; perHour: number };
  /** How long an action stays in progress. @default 3 */
  actionSeconds?: number;
  /** Routes `ip` from one droplet to another (either may be undefined); rejects to error the action. */
  onMove?: (ip: string, from: number | undefined, to: number | undefined) => Promise<void>;
  log?: (message: string) => void;
}

interface Action {
  id: number;
  status: "in-progress" | "completed" | "errored";
  type: "assign_ip" | "unassign_ip";
  started_at: string;
  completed_at: string | null;
  resource_id: number;
  resource_type: "reserved_ip";
  region_slug: string;
  /** Not in DigitalOcean's object: which IP, for the lab's own bookkeeping. */
  ip: string;
}

export interface DoApiStandIn {
  /** The base URL to give the product (its DIGITALOCEAN_API_URL). */
  url: string;
  /** The calls received, as "METHOD path" (plus the body of POSTs). */
  calls: string[];
  /** The status each of `calls` was answered with (same index). */
  statuses: number[];
  /** Changes the token's scopes (undefined: full access), as of the next call. */
  setScopes(scopes: readonly string[] | undefined): void;
  setRateLimit(limit: { perMinute: number; perHour: number }): void;
  /** The droplet an IP is routed to now (what a packet to the IP would reach). */
  holder(ip: string): number | undefined;
  setDroplets(droplets: StandInDroplet[]): void;
  /** Routes an IP at once, with no action (the state before a test). */
  assignNow(ip: string, dropletId: number | undefined): void;
  /** Resolves once no action is pending. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const ipToNumber = (ip: string) =>
  ip.split(".").reduce((n, part) => n * 256 + Number(part), 0) >>> 0;

export async function startDoApi(
  opts: DoApiOptions,
  listen: { host: string; port: number } = { host: "127.0.0.1", port: 0 },
): Promise<DoApiStandIn> {
  let droplets = [...opts.droplets];
  const ips = new Map(opts.reservedIps.map((r) => [r.ip, { ...r }]));
  const actions = new Map<number, Action>();
  const pending = new Map<string, Promise<void>>();
  const calls: string[] = [];
  const statuses: number[] = [];
  let scopes = opts.scopes;
  let rateLimit = opts.rateLimit ?? RATE_LIMIT;
  /** When each request counted against the token's limits was received (ms). */
  let counted: number[] = [];
  let nextAction = 1;
  const log = opts.log ?? (() => undefined);
  const actionMs = (opts.actionSeconds ?? 3) * 1000;

  const dropletJson = (d: StandInDroplet) => ({
    id: d.id,
    name: d.name,
    status: d.status ?? "active",
    tags: d.tags,
    networks: {
      v4: [
        { ip_address: d.publicIp, netmask: "255.255.255.0", gateway: "", type: "public" },
        { ip_address: d.privateIp, netmask: "255.255.240.0", gateway: "", type: "private" },
      ],
      v6: [],
    },
  });
  const reservedIpJson = (r: StandInReservedIp) => {
    const d = droplets.find((x) => x.id === r.dropletId);
    return {
      ip: r.ip,
      region: { slug: r.region },
      droplet: d ? dropletJson(d) : null,
      locked: pending.has(r.ip),
    };
  };
  const list = <T>(key: string, items: T[]) => ({
    [key]: items,
    links: {},
    meta: { total: items.length },
  });

  const startAction = (ip: string, type: Action["type"], to: number | undefined): Action => {
    const r = ips.get(ip)!;
    const action: Action = {
      id: nextAction++,
      status: "in-progress",
      type,
      started_at: new Date().toISOString(),
      completed_at: null,
      resource_id: ipToNumber(ip),
      resource_type: "reserved_ip",
      region_slug: r.region,
      ip,
    };
    actions.set(action.id, action);
    const from = r.dropletId;
    const run = (async () => {
      await new Promise((res) => setTimeout(res, actionMs));
      try {
        await opts.onMove?.(ip, from, to);
        r.dropletId = to;
        action.status = "completed";
        log(`action ${action.id}: ${ip} ${from ?? "-"} -> ${to ?? "-"} completed`);
      } catch (e) {
        action.status = "errored";
        log(`action ${action.id}: ${ip} ${from ?? "-"} -> ${to ?? "-"} errored: ${String(e)}`);
      }
      action.completed_at = new Date().toISOString();
      pending.delete(ip);
    })();
    pending.set(ip, run);
    return action;
  };

  const pendingEvent = {
    status: 422,
    json: { id: "unprocessable_entity", message: "The reserved IP has a pending event." },
  };

  const publicAction = (a: Action) => {
    const { ip: _ip, ...rest } = a;
    void _ip;
    return rest;
  };

  type Answer = { status: number; json?: unknown; headers?: Record<string, string> };

  /**
   * DigitalOcean's rate limit: every request counts for a minute and for an hour after it is
   * made; past either limit, 429 until the oldest counted request expires. A refused (429)
   * request is not counted. The headers go on every answer.
   */
  const rateLimited = (): { headers: Record<string, string>; refused?: Answer } => {
    const now = Date.now();
    counted = counted.filter((t) => t > now - 3600_000);
    const lastMinute = counted.filter((t) => t > now - 60_000);
    const remaining = Math.max(
      0,
      Math.min(rateLimit.perHour - counted.length, rateLimit.perMinute - lastMinute.length),
    );
    const headers = (left: number, resetMs: number) => ({
      "ratelimit-limit": String(rateLimit.perHour),
      "ratelimit-remaining": String(left),
      "ratelimit-reset": String(Math.ceil(resetMs / 1000)),
    });
    if (remaining === 0) {
      // Free again when the oldest request of the full window expires.
      const resetMs =
        lastMinute.length >= rateLimit.perMinute
          ? lastMinute[lastMinute.length - rateLimit.perMinute] + 60_000
          : counted[counted.length - rateLimit.perHour] + 3600_000;
      return {
        headers: headers(0, resetMs),
        refused: {
          status: 429,
          json: { id: "too_many_requests", message: "API Rate limit exceeded." },
          headers: {
            ...headers(0, resetMs),
            "retry-after": String(Math.max(1, Math.ceil((resetMs - now) / 1000))),
          },
        },
      };
    }
    counted.push(now);
    return { headers: headers(remaining - 1, (counted[0] ?? now) + 3600_000) };
  };

  const handle = async (req: http.IncomingMessage, body: string): Promise<Answer> => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const method = req.method ?? "GET";
    if (method === "PUT" && url.pathname === "/_lab/droplets") {
      droplets = JSON.parse(body) as StandInDroplet[];
      return { status: 200, json: { droplets: droplets.length } };
    }
    if (method === "GET" && url.pathname === "/_lab/log")
      return { status: 200, json: { calls, statuses } };
    if (url.pathname === "/_lab/scopes" && (method === "GET" || method === "PUT")) {
      if (method === "PUT") {
        const want = (JSON.parse(body || "{}") as { scopes?: unknown }).scopes;
        if (want !== null && !(Array.isArray(want) && want.every((x) => typeof x === "string")))
          return { status: 400, json: { id: "bad_request", message: "scopes: a list or null" } };
        scopes = want === null ? undefined : (want as string[]);
        log(`token scopes: ${scopes === undefined ? "full access" : scopes.join(",")}`);
      }
      return { status: 200, json: { scopes: scopes ?? null } };
    }
    calls.push(`${method} ${url.pathname}${url.search}${body ? ` ${body}` : ""}`);
    const index = calls.length - 1;
    const answer = await authorized(req, url, method, body);
    statuses[index] = answer.status;
    return answer;
  };

  const authorized = async (
    req: http.IncomingMessage,
    url: URL,
    method: string,
    body: string,
  ): Promise<Answer> => {
    if (req.headers.authorization !== `Bearer ${opts.token}`) {
      return {
        status: 401,
        json: { id: "Unauthorized", message: "Unable to authenticate you" },
      };
    }
    const limit = rateLimited();
    if (limit.refused) return limit.refused;
    const answer = missingScopes(method, url, scopes, body).length
      ? { status: 403, json: FORBIDDEN }
      : await route(url, method, body);
    return { ...answer, headers: { ...limit.headers, ...answer.headers } };
  };

  const route = async (url: URL, method: string, body: string): Promise<Answer> => {
    const notFound = {
      status: 404,
      json: { id: "not_found", message: "The resource you were accessing could not be found." },
    };
    const p = url.pathname.replace(/\/+$/, "").split("/").slice(1); // ["v2", ...]
    if (p[0] !== "v2") return notFound;
    if (p[1] === "droplets" && method === "GET") {
      if (p.length === 2) {
        const tag = url.searchParams.get("tag_name");
        const hits = droplets.filter((d) => tag === null || d.tags.includes(tag));
        return { status: 200, json: list("droplets", hits.map(dropletJson)) };
      }
      const d = droplets.find((x) => String(x.id) === p[2]);
      return d ? { status: 200, json: { droplet: dropletJson(d) } } : notFound;
    }
    if (p[1] === "actions" && p.length === 3 && method === "GET") {
      const a = actions.get(Number(p[2]));
      return a ? { status: 200, json: { action: publicAction(a) } } : notFound;
    }
    if (p[1] === "reserved_ips") {
      if (p.length === 2 && method === "GET")
        return { status: 200, json: list("reserved_ips", [...ips.values()].map(reservedIpJson)) };
      const r = ips.get(p[2]);
      if (!r) return notFound;
      if (p.length === 3 && method === "GET")
        return { status: 200, json: { reserved_ip: reservedIpJson(r) } };
      if (p.length === 3 && method === "DELETE") {
        // The provider's destroy: unassign, wait for the action, then this.
        if (pending.has(r.ip)) return pendingEvent;
        ips.delete(r.ip);
        return { status: 204 };
      }
      if (p[3] === "actions" && p.length === 4 && method === "GET") {
        const mine = [...actions.values()].filter((a) => a.ip === r.ip).map(publicAction);
        return { status: 200, json: list("actions", mine) };
      }
      if (p[3] === "actions" && p.length === 5 && method === "GET") {
        const a = actions.get(Number(p[4]));
        return a && a.ip === r.ip ? { status: 200, json: { action: publicAction(a) } } : notFound;
      }
      if (p[3] === "actions" && p.length === 4 && method === "POST") {
        let req: { type?: string; droplet_id?: unknown };
        try {
          req = JSON.parse(body || "{}") as typeof req;
        } catch {
          return { status: 400, json: { id: "bad_request", message: "invalid JSON" } };
        }
        if (pending.has(r.ip)) return pendingEvent;
        if (req.type === "unassign") {
          if (r.dropletId === undefined)
            return {
              status: 422,
              json: { id: "unprocessable_entity", message: "The reserved IP is not assigned." },
            };
          return {
            status: 201,
            json: { action: publicAction(startAction(r.ip, "unassign_ip", undefined)) },
          };
        }
        if (req.type === "assign") {
          const to = droplets.find((d) => d.id === req.droplet_id);
          if (!to)
            return {
              status: 422,
              json: { id: "unprocessable_entity", message: "Droplet not found." },
            };
          return {
            status: 201,
            json: { action: publicAction(startAction(r.ip, "assign_ip", to.id)) },
          };
        }
        return {
          status: 422,
          json: { id: "unprocessable_entity", message: `unknown action type ${String(req.type)}` },
        };
      }
    }
    return notFound;
  };

  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      handle(req, body).then(
        ({ status, json, headers }) => {
          if (json === undefined) {
            res.writeHead(status, headers ?? {});
            res.end();
            return;
          }
          res.writeHead(status, { "Content-Type": "application/json", ...headers });
          res.end(JSON.stringify(json));
        },
        (e: unknown) => {
          res.writeHead(500, { "Content-Type": "application/json" });
          res.end(JSON.stringify({ id: "server_error", message: String(e) }));
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address() as { port: number };
  return {
    url: `http://${listen.host}:${address.port}`,
    calls,
    statuses,
    setScopes: (s) => (scopes = s),
    setRateLimit: (l) => (rateLimit = l),
    holder: (ip) => ips.get(ip)?.dropletId,
    setDroplets: (d) => (droplets = [...d]),
    assignNow: (ip, dropletId) => {
      ips.get(ip)!.dropletId = dropletId;
    },
    idle: async () => {
      while (pending.size > 0) await Promise.all(pending.values());
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function cli() {
  const arg = (flag: string, fallback?: string) => {
    const i = process.argv.indexOf(flag);
    const v = i >= 0 ? process.argv[i + 1] : fallback;
    if (v === undefined) throw new Error(`${flag} is required`);
    return v;
  };
  const [host, port] = arg("--listen", "127.0.0.1:0").split(":");
  const state = JSON.parse(fs.readFileSync(arg("--state"), "utf8")) as {
    droplets: StandInDroplet[];
    reservedIps: StandInReservedIp[];
  };
  const onMove = process.argv.includes("--on-move") ? arg("--on-move") : undefined;
  const scopes = process.argv.includes("--scopes")
    ? arg("--scopes")
        .split(/[\s,]+/)
        .filter(Boolean)
    : undefined;
  const api = await startDoApi(
    {
      token: fs.readFileSync(arg("--token-file"), "utf8").trim(),
      droplets: state.droplets,
      reservedIps: state.reservedIps,
      scopes,
      actionSeconds: Number(arg("--action-seconds", "3")),
      log: (m) => console.log(`do-api: ${m}`),
      onMove:
        onMove === undefined
          ? undefined
          : (ip, from, to) =>
              new Promise<void>((resolve, reject) =>
                execFile(
                  "bash",
                  ["-c", onMove],
                  {
                    env: {
                      ...process.env,
                      DO_API_IP: ip,
                      DO_API_FROM: from === undefined ? "" : String(from),
                      DO_API_TO: to === undefined ? "" : String(to),
                    },
                  },
                  (err, _out, stderr) =>
                    err ? reject(new Error(`on-move failed: ${stderr.trim()}`)) : resolve(),
                ),
              ),
    },
    { host, port: Number(port) },
  );
  console.log(`do-api: listening on ${api.url}`);
  const stop = () => void api.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (require.main === module) {
  cli().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
