/** A node's block storage volume: named after the node, so the two pair up across replacements. */
export interface NodeVolume {
  /** DigitalOcean volume name: the node's name. */
  name: string;
  sizeGb: number;
  /** Snapshot id or name new volumes of the group start from. */
  restoreFrom?: string;
  /** The config key of the group's volume, for messages: `managers.volume`, `workers[1].volume`. */
  key: string;
}

/** DigitalOcean droplet backups of a node. */
export interface NodeBackups {
  plan: "daily" | "weekly";
  hour?: number;
  weekday?: string;
}

/** What a group of nodes may carry for its data (config/volumes.ts validates it). */
export interface GroupData {
  volume?: { sizeGb: number; restoreFrom?: string };
  backups?: NodeBackups;
}

/** The swarm node label every node with a volume carries, for placement constraints. */
export const VOLUME_LABEL = "do-swarm.volume";

/** One droplet of the cluster, decided before any resource exists. */
export interface NodePlan {
  /** Suffix of every resource of this node: `manager-0`, `worker-1`, `db-0`. */
  key: string;
  /** Droplet name and swarm hostname: `<cluster>-<key>`. A contract: renaming replaces it. */
  name: string;
  role: "manager" | "worker";
  /** `manager` for managers, else the worker pool's name. */
  pool: string;
  /** Position within the managers or the pool. */
  index: number;
  size: string;
  resizeDisk: boolean;
  /** Swarm node labels, `KEY=VALUE`, sorted. */
  labels: string[];
  /** DigitalOcean tags: cluster, role, pool and one per label. */
  tags: string[];
  /** The node's own volume, when its group has one. */
  volume?: NodeVolume;
  /** Droplet backups, when its group has them. */
  backups?: NodeBackups;
}

export interface NodesArgs {
  managers: { count: number; size: string; resizeDisk?: boolean } & GroupData;
  workers: readonly ({
    name: string;
    count: number;
    size: string;
    labels?: Record<string, string>;
    resizeDisk?: boolean;
  } & GroupData)[];
}

/** DigitalOcean tag names allow letters, digits, ':', '-' and '_' only. */
export const tagSafe = (s: string) => s.replace(/[^a-zA-Z0-9:_-]/g, "_");

/** The DigitalOcean tag every droplet of a role carries (the maintenance hooks list managers by it). */
export const roleTag = (cluster: string, role: NodePlan["role"]) => `${cluster}-${role}`;

/** Every node of the cluster: managers first (manager-0 bootstraps the swarm), then each pool. */
export function planNodes(cluster: string, args: NodesArgs): NodePlan[] {
  const node = (
    role: NodePlan["role"],
    pool: string,
    index: number,
    size: string,
    resizeDisk: boolean,
    userLabels: Record<string, string>,
    data: GroupData,
    groupKey: string,
  ): NodePlan => {
    const labels = {
      ...userLabels,
      "do-swarm.pool": pool,
      ...(data.volume ? { [VOLUME_LABEL]: "true" } : {}),
    };
    const name = `${cluster}-${pool}-${index}`;
    return {
      key: `${pool}-${index}`,
      name,
      role,
      pool,
      index,
      size,
      resizeDisk,
      labels: Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .sort(),
      tags: [
        cluster,
        roleTag(cluster, role),
        `${cluster}-pool-${pool}`,
        ...Object.entries(userLabels).map(([k, v]) => tagSafe(`${cluster}:${k}:${v}`)),
      ],
      ...(data.volume
        ? {
            volume: {
              name,
              sizeGb: data.volume.sizeGb,
              ...(data.volume.restoreFrom === undefined
                ? {}
                : { restoreFrom: data.volume.restoreFrom }),
              key: `${groupKey}.volume`,
            },
          }
        : {}),
      ...(data.backups ? { backups: data.backups } : {}),
    };
  };
  const managers = Array.from({ length: args.managers.count }, (_, i) =>
    node(
      "manager",
      "manager",
      i,
      args.managers.size,
      args.managers.resizeDisk ?? false,
      {},
      args.managers,
      "managers",
    ),
  );
  const workers = args.workers.flatMap((pool, p) =>
    Array.from({ length: pool.count }, (_, i) =>
      node(
        "worker",
        pool.name,
        i,
        pool.size,
        pool.resizeDisk ?? false,
        pool.labels ?? {},
        pool,
        `workers[${p}]`,
      ),
    ),
  );
  return [...managers, ...workers];
}

/** The distinct tags of all nodes, in first-use order (the cluster tag first). */
export function allTags(cluster: string, nodes: readonly NodePlan[]): string[] {
  return [...new Set([cluster, ...nodes.flatMap((n) => n.tags)])];
}

/** Managers a cluster of `count` managers can lose and keep its control plane. */
export const faultTolerance = (count: number) => Math.floor((count - 1) / 2);

/**
 * DigitalOcean's prices for what the data options add (docs.digitalocean.com, "Volumes
 * pricing" and "Backups pricing", basic plans): a volume costs per GiB provisioned, backups a
 * share of the droplet's price.
 */
export const DATA_PRICES = {
  volumeUsdPerGbMonth: 0.1,
  backupsShareOfDroplet: { weekly: 0.2, daily: 0.3 },
} as const;

/**
 * Monthly cost at the given per-size prices (USD): the droplets, their volumes and their
 * backups; unknown sizes count 0. Snapshots kept after a delete are not included (they cost
 * $0.06/GiB-month until deleted, see README "Data").
 */
export function monthlyCost(
  nodes: readonly NodePlan[],
  priceBySize: Record<string, number>,
): number {
  const total = nodes.reduce((sum, n) => {
    const droplet = priceBySize[n.size] ?? 0;
    const volume = (n.volume?.sizeGb ?? 0) * DATA_PRICES.volumeUsdPerGbMonth;
    const backups = n.backups ? droplet * DATA_PRICES.backupsShareOfDroplet[n.backups.plan] : 0;
    return sum + droplet + volume + backups;
  }, 0);
  return Math.round(total * 100) / 100;
}

/** A hostname label's limit (RFC 1035); a droplet's name becomes its hostname. */
export const MAX_HOSTNAME_LENGTH = 63;

/**
 * Droplet names that cannot be hostnames. A droplet's name (`<cluster>-<pool>-<index>`) is its
 * hostname and so its swarm node's hostname, which node-drain.sh and node-activate.sh match
 * nodes by; a name longer than 63 characters cannot be one. One problem per pool, for its
 * longest name, naming what to shorten.
 */
export function hostnameProblems(cluster: string, nodes: readonly NodePlan[]): string[] {
  const longest = new Map<string, NodePlan>();
  for (const n of nodes) {
    if (n.name.length > (longest.get(n.pool)?.name.length ?? -1)) longest.set(n.pool, n);
  }
  return [...longest.values()]
    .filter((n) => n.name.length > MAX_HOSTNAME_LENGTH)
    .map((n) => {
      const key = n.role === "manager" ? "do-swarm:managers" : `do-swarm:workers[${n.pool}].name`;
      return (
        `do-swarm:clusterName = ${JSON.stringify(cluster)} with ${key === "do-swarm:managers" ? "the managers" : `${key} = ${JSON.stringify(n.pool)}`}: ` +
        `droplet name ${JSON.stringify(n.name)} is ${n.name.length} characters, and a hostname is at most ${MAX_HOSTNAME_LENGTH}: ` +
        `shorten the cluster name${n.role === "worker" ? " or the pool name" : ""} by ${n.name.length - MAX_HOSTNAME_LENGTH}`
      );
    });
}
