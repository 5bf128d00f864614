/** Config of the droplets: the managers and the worker pools. */
import { cliScalarsAsStrings, DNS_LABEL, Fail, isCount, isObject } from "../core/config";
import { BackupsConfig, validateBackups, validateVolume, VolumeConfig } from "../data/config";
import { MaxUnavailable, maxUnavailableProblem } from "../maintenance/batches";

/** What any group of nodes (the managers, a worker pool) may carry for its data. */
export interface GroupDataConfig {
  /** A block storage volume per node, mounted at /mnt/do-swarm-data. @default none */
  volume?: VolumeConfig;
  /** DigitalOcean droplet backups of the group's droplets. @default none */
  backups?: BackupsConfig;
}

/** The control plane: an odd number of managers, all one size. */
export interface ManagersConfig extends GroupDataConfig {
  /** Number of managers: odd, 1..7. n managers tolerate (n-1)/2 failures. */
  count: number;
  /** Droplet size slug, e.g. `s-1vcpu-2gb`. */
  size: string;
  /**
   * Grow the disk when the size grows. Permanent: a droplet with a grown disk can never move to
   * a smaller size again. @default false (CPU/RAM-only resizes, reversible)
   */
  resizeDisk?: boolean;
}

/** A group of identical workers; its labels become swarm node labels and DigitalOcean tags. */
export interface WorkerPoolConfig extends GroupDataConfig {
  /** DNS-safe pool name; droplets are called `<cluster>-<pool>-<i>`. */
  name: string;
  /** Number of workers in the pool (0 allowed). */
  count: number;
  /** Droplet size slug, e.g. `s-1vcpu-1gb`. */
  size: string;
  /** Swarm node labels for placement constraints (`node.labels.KEY == VALUE`). @default {} */
  labels?: Record<string, string>;
  /** See {@link ManagersConfig.resizeDisk}. @default false */
  resizeDisk?: boolean;
  /**
   * Nodes of the pool in maintenance (a resize) at once: a count (1 or more) or a percentage of
   * the pool ("25%", rounded down, at least 1). Managers are always one at a time. @default 1
   */
  maxUnavailable?: MaxUnavailable;
}

/** Managers with every default applied. */
export type ManagersSettings = Required<Omit<ManagersConfig, keyof GroupDataConfig>> &
  GroupDataConfig;
/** A worker pool with every default applied. */
export type WorkerPoolSettings = Required<
  Omit<WorkerPoolConfig, "labels" | "maxUnavailable" | keyof GroupDataConfig>
> & {
  labels: Record<string, string>;
  /** Present only when set (unset: 1). */
  maxUnavailable?: MaxUnavailable;
} & GroupDataConfig;

export const NODE_DEFAULTS = {
  managers: { count: 3, size: "s-1vcpu-2gb", resizeDisk: false },
  workers: [{ name: "worker", count: 2, size: "s-1vcpu-1gb", labels: {}, resizeDisk: false }],
} as const;

const SIZE_SLUG = /^[a-z0-9]+(-[a-z0-9]+)+$/;
const LABEL_KEY = /^[a-zA-Z0-9]([a-zA-Z0-9._-]*[a-zA-Z0-9])?$/;
const LABEL_VALUE = /^[a-zA-Z0-9._-]{0,63}$/;
/** Names the program gives pools of its own; a worker pool may not take them. */
const RESERVED_POOL_NAMES = new Set(["manager", "swarm"]);

export function validateManagers(m: unknown, fail: Fail): ManagersSettings | undefined {
  if (!isObject(m)) {
    fail("managers", m, 'use an object such as { "count": 3, "size": "s-1vcpu-2gb" }');
    return undefined;
  }
  const count = m.count ?? NODE_DEFAULTS.managers.count;
  if (!isCount(count) || count < 1 || count > 7 || count % 2 === 0) {
    fail(
      "managers.count",
      count,
      "use 1, 3, 5 or 7: a swarm of n managers keeps working while a majority is up, so it " +
        "tolerates (n-1)/2 lost managers (1:0, 3:1, 5:2, 7:3); an even count adds no tolerance " +
        "and Docker recommends at most seven",
    );
  }
  const size = m.size ?? NODE_DEFAULTS.managers.size;
  if (typeof size !== "string" || !SIZE_SLUG.test(size)) {
    fail(
      "managers.size",
      size,
      "use a droplet size slug such as s-1vcpu-2gb (doctl compute size list)",
    );
  }
  const resizeDisk = m.resizeDisk ?? false;
  if (typeof resizeDisk !== "boolean") fail("managers.resizeDisk", resizeDisk, "use true or false");
  return {
    count: count as number,
    size: size as string,
    resizeDisk: resizeDisk as boolean,
    ...groupData("managers", m, fail),
  };
}

export function validateWorkers(w: unknown, fail: Fail): WorkerPoolSettings[] | undefined {
  if (!Array.isArray(w)) {
    fail(
      "workers",
      w,
      'use a list of pools such as [{ "name": "worker", "count": 2, "size": "s-1vcpu-1gb" }]',
    );
    return undefined;
  }
  const seen = new Set<string>();
  return w.map((pool: unknown, i) => {
    const key = `workers[${i}]`;
    if (!isObject(pool)) {
      fail(key, pool, "each pool is an object with name, count and size");
      return { name: "", count: 0, size: "", labels: {}, resizeDisk: false };
    }
    const { name, count, size } = pool;
    if (typeof name !== "string" || !DNS_LABEL.test(name) || RESERVED_POOL_NAMES.has(name)) {
      fail(
        `${key}.name`,
        name,
        "use a lowercase DNS label (a-z, 0-9, '-', at most 32 characters) other than 'manager' and 'swarm'",
      );
    } else if (seen.has(name)) {
      fail(`${key}.name`, name, "pool names must be unique: rename one of the pools");
    }
    if (typeof name === "string") seen.add(name);
    if (!isCount(count)) fail(`${key}.count`, count, "use a whole number of workers, 0 or more");
    if (typeof size !== "string" || !SIZE_SLUG.test(size)) {
      fail(
        `${key}.size`,
        size,
        "use a droplet size slug such as s-1vcpu-1gb (doctl compute size list)",
      );
    }
    const labels = cliScalarsAsStrings(pool.labels ?? {});
    if (!isObject(labels)) {
      fail(`${key}.labels`, labels, 'use an object of KEY: VALUE strings, e.g. { "db": "true" }');
    } else {
      for (const [k, v] of Object.entries(labels)) {
        if (!LABEL_KEY.test(k) || k.startsWith("do-swarm.")) {
          fail(
            `${key}.labels`,
            k,
            "label keys use letters, digits, '.', '-', '_' and may not start with 'do-swarm.'",
          );
        }
        if (typeof v !== "string" || !LABEL_VALUE.test(v)) {
          fail(
            `${key}.labels.${k}`,
            v,
            "label values are strings of letters, digits, '.', '-', '_' (at most 63)",
          );
        }
      }
    }
    const resizeDisk = pool.resizeDisk ?? false;
    if (typeof resizeDisk !== "boolean") fail(`${key}.resizeDisk`, resizeDisk, "use true or false");
    const { maxUnavailable } = pool;
    const batchProblem =
      maxUnavailable === undefined ? undefined : maxUnavailableProblem(maxUnavailable);
    if (batchProblem !== undefined) fail(`${key}.maxUnavailable`, maxUnavailable, batchProblem);
    return {
      name: name as string,
      count: count as number,
      size: size as string,
      labels: labels as Record<string, string>,
      resizeDisk: resizeDisk as boolean,
      ...(maxUnavailable === undefined || batchProblem !== undefined
        ? {}
        : { maxUnavailable: maxUnavailable as MaxUnavailable }),
      ...groupData(key, pool, fail),
    };
  });
}

/** The group's `volume` and `backups`, each present only when set. */
function groupData(key: string, group: Record<string, unknown>, fail: Fail): GroupDataConfig {
  const volume = validateVolume(`${key}.volume`, group.volume, fail);
  const backups = validateBackups(`${key}.backups`, group.backups, fail);
  return { ...(volume ? { volume } : {}), ...(backups ? { backups } : {}) };
}
