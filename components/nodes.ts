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
}

export interface NodesArgs {
  managers: { count: number; size: string; resizeDisk?: boolean };
  workers: readonly {
    name: string;
    count: number;
    size: string;
    labels?: Record<string, string>;
    resizeDisk?: boolean;
  }[];
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
  ): NodePlan => {
    const labels = { ...userLabels, "do-swarm.pool": pool };
    return {
      key: `${pool}-${index}`,
      name: `${cluster}-${pool}-${index}`,
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
    };
  };
  const managers = Array.from({ length: args.managers.count }, (_, i) =>
    node("manager", "manager", i, args.managers.size, args.managers.resizeDisk ?? false, {}),
  );
  const workers = args.workers.flatMap((pool) =>
    Array.from({ length: pool.count }, (_, i) =>
      node("worker", pool.name, i, pool.size, pool.resizeDisk ?? false, pool.labels ?? {}),
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

/** Monthly cost of the droplets at the given per-size prices (USD); unknown sizes count 0. */
export function monthlyCost(
  nodes: readonly NodePlan[],
  priceBySize: Record<string, number>,
): number {
  const total = nodes.reduce((sum, n) => sum + (priceBySize[n.size] ?? 0), 0);
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
