/**
 * The real side effects of rolling maintenance: DigitalOcean's API (the cluster's managers by
 * tag, the reserved IPs routed to a droplet, moving one) and SSH to a manager found that way.
 * Nothing here reads a resource's Output (see maintenance.ts for why) and nothing logs a key or
 * a token. The API's base URL is the provider's (digitalocean:apiEndpoint, else
 * DIGITALOCEAN_API_URL), so the lab can point the very same code at its stand-in.
 */
import { ManagerDroplet, MaintenanceOps } from "./maintenance";
import { sshRun } from "../core/ssh";

export { sshRun } from "../core/ssh";
export type { SshTarget } from "../core/ssh";

export const DEFAULT_API_URL = "https://api.digitalocean.com";

/** Thrown for an API answer that is not 2xx; `status` lets callers retry a 422. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

interface ApiDroplet {
  id: number;
  name: string;
  status: string;
  networks: { v4: { ip_address: string; type: string }[] };
}

interface ApiReservedIp {
  ip: string;
  droplet: { id: number } | null;
}

/** The part of DigitalOcean's API that maintenance uses. */
export function digitalOceanApi(
  token: string,
  opts: { baseUrl?: string; pollSeconds?: number; fetchFn?: typeof fetch } = {},
) {
  const base = (opts.baseUrl ?? DEFAULT_API_URL).replace(/\/+$/, "");
  const fetchFn = opts.fetchFn ?? fetch;
  const poll = (opts.pollSeconds ?? 3) * 1000;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const call = async (method: string, url: string, body?: object) => {
    const res = await fetchFn(url.startsWith("http") ? url : `${base}/v2${url}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) {
      throw new ApiError(
        `DigitalOcean API ${method} ${url}: HTTP ${res.status} ${await res.text()}`,
        res.status,
      );
    }
    return (await res.json()) as Record<string, unknown>;
  };
  /** Every page of a list (DigitalOcean pages at most 200 items). */
  const all = async <T>(url: string, key: string): Promise<T[]> => {
    const items: T[] = [];
    let next: string | undefined = `${url}${url.includes("?") ? "&" : "?"}per_page=200`;
    while (next !== undefined) {
      const page = (await call("GET", next)) as Record<string, unknown> & {
        links?: { pages?: { next?: string } };
      };
      items.push(...((page[key] as T[]) ?? []));
      next = page.links?.pages?.next;
    }
    return items;
  };
  return {
    async dropletsByTag(tag: string): Promise<ManagerDroplet[]> {
      const droplets = await all<ApiDroplet>(
        `/droplets?tag_name=${encodeURIComponent(tag)}`,
        "droplets",
      );
      return droplets.map((d) => ({
        id: d.id,
        name: d.name,
        publicIp: d.networks.v4.find((n) => n.type === "public")?.ip_address ?? "",
      }));
    },
    async reservedIpsOn(dropletId: number): Promise<string[]> {
      const ips = await all<ApiReservedIp>("/reserved_ips", "reserved_ips");
      return ips.filter((r) => r.droplet?.id === dropletId).map((r) => r.ip);
    },
    /** Assigns and waits for the action; a 422 (another action pending on the IP) is retried. */
    async assign(ip: string, dropletId: number, timeoutSeconds = 180): Promise<void> {
      const deadline = Date.now() + timeoutSeconds * 1000;
      const late = () => {
        if (Date.now() > deadline)
          throw new Error(
            `assigning ${ip} to droplet ${dropletId} did not finish in ${timeoutSeconds} s`,
          );
      };
      let action: { id: number };
      for (;;) {
        try {
          const r = (await call("POST", `/reserved_ips/${ip}/actions`, {
            type: "assign",
            droplet_id: dropletId,
          })) as { action: { id: number } };
          action = r.action;
          break;
        } catch (e) {
          if (!(e instanceof ApiError && e.status === 422)) throw e;
          late();
          await sleep(poll);
        }
      }
      for (let first = true; ; first = false) {
        await sleep(first ? Math.min(poll, 1000) : poll);
        const a = (await call("GET", `/reserved_ips/${ip}/actions/${action.id}`)) as {
          action: { status: string };
        };
        if (a.action.status === "completed") return;
        if (a.action.status === "errored")
          throw new Error(`assigning ${ip} to droplet ${dropletId} failed`);
        late();
      }
    },
  };
}

/** Managers to try for a command: by name, the node in maintenance last. */
export function managerOrder(
  managers: readonly ManagerDroplet[],
  avoid?: number,
): ManagerDroplet[] {
  return [...managers]
    .filter((m) => m.publicIp !== "")
    .sort(
      (a, b) => Number(a.id === avoid) - Number(b.id === avoid) || a.name.localeCompare(b.name),
    );
}

/** The operations a real `pulumi up` uses. */
export function realMaintenanceOps(args: {
  /** The DigitalOcean tag every manager droplet carries. */
  managerTag: string;
  /** The key every droplet accepts for root; from config, so known before any step. */
  privateKey: () => Promise<string>;
  token: () => string | undefined;
  /** @default process.env.DIGITALOCEAN_API_URL ?? "https://api.digitalocean.com" (droplets.ts passes the provider's digitalocean:apiEndpoint) */
  apiUrl?: string;
  log: (m: string) => void;
  warn: (m: string) => void;
}): MaintenanceOps {
  const api = () => {
    const token = args.token();
    if (!token)
      throw new Error(
        "rolling maintenance needs the DigitalOcean token (digitalocean:token or DIGITALOCEAN_TOKEN)",
      );
    return digitalOceanApi(token, {
      baseUrl: args.apiUrl ?? process.env.DIGITALOCEAN_API_URL ?? DEFAULT_API_URL,
    });
  };
  const managers = () => api().dropletsByTag(args.managerTag);
  return {
    managers,
    async onManager(command, avoid) {
      const privateKey = await args.privateKey();
      // A manager that does not answer (powered off, rebooting) is skipped for the next one;
      // a few rounds, since the only other manager may be the one coming back.
      let lastError: unknown = new Error(`no droplet carries the tag ${args.managerTag}`);
      for (let round = 0; round < 10; round++) {
        for (const m of managerOrder(await managers(), avoid)) {
          try {
            return await sshRun({ host: m.publicIp, user: "root", privateKey }, command, {
              connectAttempts: 2,
              onStderr: args.log,
            });
          } catch (e) {
            lastError = e;
            if (!/\(exit 255\)/.test(String(e))) throw e; // it ran and failed: not a reach problem
          }
        }
        await new Promise((r) => setTimeout(r, 5000));
      }
      throw lastError;
    },
    async onDroplet(dropletId, command) {
      const m = (await managers()).find((d) => d.id === dropletId);
      if (m === undefined) throw new Error(`droplet ${dropletId} is not one of the managers`);
      return sshRun(
        { host: m.publicIp, user: "root", privateKey: await args.privateKey() },
        command,
        {
          connectAttempts: 2,
          onStderr: args.log,
        },
      );
    },
    reservedIpsOn: (id) => api().reservedIpsOn(id),
    assignReservedIp: (ip, id) => api().assign(ip, id),
    log: args.log,
    warn: args.warn,
  };
}
