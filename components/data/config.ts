/**
 * Config of a group's data: `volume` (a DigitalOcean block storage volume per node) and
 * `backups` (DigitalOcean's droplet backups), on `managers` and on each worker pool.
 */
import { Fail, isObject } from "../core/config";

/** One block storage volume per node of the group, mounted at {@link DATA_MOUNT}. */
export interface VolumeConfig {
  /** Size of each node's volume in GiB, 1..16384. Volumes only grow: raising it grows online. */
  sizeGb: number;
  /**
   * A volume snapshot (its id, or its name in the cluster's region) that the group's volumes
   * are created from. Only volumes created from then on start from it (a new group, nodes added
   * by a scale-out, a volume deleted and created again); existing volumes are never replaced by
   * setting or clearing it. @default none (empty volumes)
   */
  restoreFrom?: string;
}

/** DigitalOcean droplet backups of the group's droplets (their disks; never their volumes). */
export interface BackupsConfig {
  /** `weekly` (+20% of the droplet price) or `daily` (+30%). */
  plan: "daily" | "weekly";
  /**
   * Hour (UTC) the 4-hour backup window starts: 0, 4, 8, 12, 16 or 20. @default 0 (00:00 UTC:
   * the provider sends 0 for an unset hour, so DigitalOcean never chooses it)
   */
  hour?: number;
  /** Day of a weekly backup: SUN..SAT. @default chosen by DigitalOcean (the provider omits it) */
  weekday?: string;
}

/** Where every node with a volume mounts it. */
export const DATA_MOUNT = "/mnt/do-swarm-data";
/**
 * The directory services bind to. It exists only on the mounted volume (created there after the
 * mount), so a volume that failed to mount makes a bind of it fail instead of writing to the
 * droplet's own disk.
 */
export const DATA_DIR = `${DATA_MOUNT}/data`;

export const VOLUME_LIMITS = { minSizeGb: 1, maxSizeGb: 16384, maxNameLength: 64 } as const;
export const BACKUP_HOURS = [0, 4, 8, 12, 16, 20] as const;
export const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] as const;

const SNAPSHOT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SNAPSHOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
/** DigitalOcean volume names: lowercase letters, digits and '-', starting with a letter. */
const VOLUME_NAME = /^[a-z][a-z0-9-]*$/;

/** Whether `restoreFrom` names a snapshot by id (a UUID) rather than by name. */
export const isSnapshotId = (s: string) => SNAPSHOT_ID.test(s);

export function validateVolume(key: string, v: unknown, fail: Fail): VolumeConfig | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) {
    fail(key, v, 'use an object such as { "sizeGb": 10 }');
    return undefined;
  }
  for (const k of Object.keys(v)) {
    if (k !== "sizeGb" && k !== "restoreFrom") {
      fail(`${key}.${k}`, v[k], "unknown setting; a volume has sizeGb and restoreFrom");
    }
  }
  const { sizeGb, restoreFrom } = v;
  if (
    typeof sizeGb !== "number" ||
    !Number.isInteger(sizeGb) ||
    sizeGb < VOLUME_LIMITS.minSizeGb ||
    sizeGb > VOLUME_LIMITS.maxSizeGb
  ) {
    fail(
      `${key}.sizeGb`,
      sizeGb,
      `use a whole number of GiB from ${VOLUME_LIMITS.minSizeGb} to ${VOLUME_LIMITS.maxSizeGb} (DigitalOcean's volume sizes)`,
    );
  }
  if (
    restoreFrom !== undefined &&
    (typeof restoreFrom !== "string" ||
      !(SNAPSHOT_ID.test(restoreFrom) || SNAPSHOT_NAME.test(restoreFrom)))
  ) {
    fail(
      `${key}.restoreFrom`,
      restoreFrom,
      "use a volume snapshot's id (a UUID, doctl compute snapshot list --resource volume) or its name",
    );
  }
  return {
    sizeGb: sizeGb as number,
    ...(restoreFrom === undefined ? {} : { restoreFrom: restoreFrom as string }),
  };
}

export function validateBackups(key: string, b: unknown, fail: Fail): BackupsConfig | undefined {
  if (b === undefined) return undefined;
  if (!isObject(b)) {
    fail(key, b, 'use an object such as { "plan": "weekly", "weekday": "SUN", "hour": 4 }');
    return undefined;
  }
  for (const k of Object.keys(b)) {
    if (!["plan", "hour", "weekday"].includes(k)) {
      fail(`${key}.${k}`, b[k], "unknown setting; backups have plan, hour and weekday");
    }
  }
  const { plan, hour, weekday } = b;
  if (plan !== "daily" && plan !== "weekly") {
    fail(`${key}.plan`, plan, "use daily (+30% of the droplet price) or weekly (+20%)");
  }
  if (hour !== undefined && !(BACKUP_HOURS as readonly unknown[]).includes(hour)) {
    fail(
      `${key}.hour`,
      hour,
      `use the UTC hour the backup window starts: ${BACKUP_HOURS.join(", ")}`,
    );
  }
  if (weekday !== undefined) {
    if (!(WEEKDAYS as readonly unknown[]).includes(weekday)) {
      fail(`${key}.weekday`, weekday, `use one of ${WEEKDAYS.join(", ")}`);
    } else if (plan === "daily") {
      fail(
        `${key}.weekday`,
        weekday,
        "a weekday applies to weekly backups only: remove it or use plan weekly",
      );
    }
  }
  return {
    plan: plan as BackupsConfig["plan"],
    ...(hour === undefined ? {} : { hour: hour as number }),
    ...(weekday === undefined ? {} : { weekday: weekday as string }),
  };
}

/**
 * Checks the volume names the groups' nodes would get (`<cluster>-<pool>-<i>`, the droplet's
 * name) against DigitalOcean's rules: lowercase letters, digits and '-', starting with a letter,
 * at most 64 characters.
 */
export function checkVolumeNames(
  clusterName: string,
  groups: readonly { key: string; pool: string; count: number; volume?: VolumeConfig }[],
): string[] {
  const problems: string[] = [];
  for (const g of groups) {
    if (!g.volume || g.count === 0) continue;
    const longest = `${clusterName}-${g.pool}-${g.count - 1}`;
    if (!VOLUME_NAME.test(longest)) {
      problems.push(
        `do-swarm:clusterName = ${JSON.stringify(clusterName)}: ${g.key}.volume names each volume after its node (${longest}), and DigitalOcean volume names start with a letter: use a cluster name that starts with a letter`,
      );
    } else if (longest.length > VOLUME_LIMITS.maxNameLength) {
      problems.push(
        `do-swarm:${g.key}.volume = ${JSON.stringify(g.volume)}: its volumes are named after their nodes (${longest}, ${longest.length} characters), longer than DigitalOcean's ${VOLUME_LIMITS.maxNameLength}: shorten clusterName or the pool name`,
      );
    }
  }
  return problems;
}

/**
 * Volumes only grow (DigitalOcean cannot shrink one). Given the sizes the existing volumes have
 * now, by name, lists each one the config would shrink, naming its config key.
 */
export function checkVolumeShrinks(
  volumes: readonly { name: string; sizeGb: number; key: string }[],
  currentGbByName: Record<string, number | undefined>,
): string[] {
  return volumes.flatMap((v) => {
    const current = currentGbByName[v.name];
    return current !== undefined && v.sizeGb < current
      ? [
          `do-swarm:${v.key}.sizeGb = ${v.sizeGb}: volume ${v.name} is already ${current} GiB and volumes only grow: set ${current} or more`,
        ]
      : [];
  });
}

export const VOLUME_DEFAULTS = {
  volumeDevicePrefix: "/dev/disk/by-id/scsi-0DO_Volume_",
} as const;

/**
 * Where a volume appears on a droplet. The API's address is the provider's own setting
 * (digitalocean:apiEndpoint), as for every other DigitalOcean call the program makes.
 */
export interface DataEndpoints {
  volumeDevicePrefix: string;
}

const DEVICE_PREFIX = /^\/[A-Za-z0-9._/-]+$/;

/**
 * Checks volumeDevicePrefix: DigitalOcean's by default; it exists so that the data steps can be
 * pointed at a stand-in (the lab) unchanged otherwise.
 */
export function validateDataEndpoints(
  raw: { volumeDevicePrefix?: unknown },
  fail: Fail,
): DataEndpoints {
  const volumeDevicePrefix = raw.volumeDevicePrefix ?? VOLUME_DEFAULTS.volumeDevicePrefix;
  if (typeof volumeDevicePrefix !== "string" || !DEVICE_PREFIX.test(volumeDevicePrefix)) {
    fail(
      "volumeDevicePrefix",
      volumeDevicePrefix,
      `leave it unset (${VOLUME_DEFAULTS.volumeDevicePrefix}); a stand-in is an absolute path prefix`,
    );
  }
  return { volumeDevicePrefix: volumeDevicePrefix as string };
}

/**
 * The groups that ask for a volume, read from raw config (whatever else is wrong with it), for
 * {@link checkVolumeNames}: so that a bad volume name is reported with every other problem.
 */
export function volumeGroupsOf(raw: {
  managers?: unknown;
  workers?: unknown;
}): { key: string; pool: string; count: number; volume?: VolumeConfig }[] {
  const group = (key: string, pool: unknown, g: unknown, defaultCount: number) => {
    if (!isObject(g) || !isObject(g.volume) || typeof pool !== "string") return [];
    const count = g.count ?? defaultCount;
    return typeof count === "number" && Number.isInteger(count) && count > 0
      ? [{ key, pool, count, volume: g.volume as unknown as VolumeConfig }]
      : [];
  };
  return [
    ...group("managers", "manager", raw.managers, 3),
    ...(Array.isArray(raw.workers)
      ? raw.workers.flatMap((w, i) =>
          group(`workers[${i}]`, isObject(w) ? w.name : undefined, w, 0),
        )
      : []),
  ];
}
