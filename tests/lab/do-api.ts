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
 *   GET  /v2/droplets[?tag_name=T]            {droplets: [...], links, meta: {total}}
 *   GET  /v2/droplets/{id}                    {droplet}
 *
 * Every call needs `Authorization: Bearer <token>` (401 otherwise). An action stays
 * "in-progress" for `actionSeconds`, then completes: only then does the IP route to its new
 * droplet, which the lab models by `onMove` (moving the stand-in address between hosts).
 * Lab-only extras, never called by the product: `PUT /_lab/droplets` replaces the droplet list
 * (a rebuilt host is a new droplet id), `GET /_lab/log` lists the calls received.
 *
 * CLI (the lab runs it in the background and reads the first line for the URL):
 *   ts-node tests/lab/do-api.ts --listen ADDR:PORT --token-file F --state STATE.json
 *     [--action-seconds 3] [--on-move 'bash command']
 * STATE.json: {droplets: [{id, name, tags, publicIp, privateIp}], reservedIps: [{ip, region,
 * dropletId?}]}. --on-move runs with DO_API_IP, DO_API_FROM, DO_API_TO (droplet ids, empty for
 * none) in the environment; the action completes only once the command has exited 0 (errored
 * otherwise).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as http from "http";

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
  /** The droplet an IP is routed to now (what a packet to the IP would reach). */
  holder(ip: string): number | undefined;
  setDroplets(droplets: StandInDroplet[]): void;
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

  const publicAction = (a: Action) => {
    const { ip: _ip, ...rest } = a;
    void _ip;
    return rest;
  };

  const handle = async (req: http.IncomingMessage, body: string) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const method = req.method ?? "GET";
    calls.push(`${method} ${url.pathname}${url.search}${body ? ` ${body}` : ""}`);
    if (method === "PUT" && url.pathname === "/_lab/droplets") {
      droplets = JSON.parse(body) as StandInDroplet[];
      return { status: 200, json: { droplets: droplets.length } };
    }
    if (method === "GET" && url.pathname === "/_lab/log") return { status: 200, json: { calls } };
    if (req.headers.authorization !== `Bearer ${opts.token}`) {
      return {
        status: 401,
        json: { id: "Unauthorized", message: "Unable to authenticate you" },
      };
    }
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
        if (pending.has(r.ip)) {
          return {
            status: 422,
            json: {
              id: "unprocessable_entity",
              message: "The reserved IP has a pending event.",
            },
          };
        }
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
        ({ status, json }) => {
          res.writeHead(status, { "Content-Type": "application/json" });
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
    holder: (ip) => ips.get(ip)?.dropletId,
    setDroplets: (d) => (droplets = [...d]),
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
  const api = await startDoApi(
    {
      token: fs.readFileSync(arg("--token-file"), "utf8").trim(),
      droplets: state.droplets,
      reservedIps: state.reservedIps,
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
