import { isValidCidr } from "./cidr";
import type { UpdateDefaults } from "./compose";

/** The control plane: an odd number of managers, all one size. */
export interface ManagersConfig {
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
export interface WorkerPoolConfig {
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
}

/** Overrides of the rolling-update defaults the renderer merges into every service. */
export type StackUpdateConfig = UpdateDefaults;

/** One compose stack the program deploys. */
export interface StackConfig {
  /** Stack name (`docker stack deploy ... NAME`): DNS-safe. */
  name: string;
  /** Compose file, relative to the project directory. */
  file: string;
  /** Plain values for `${VAR}` interpolation. Put secrets in `secretEnv`. @default {} */
  env?: Record<string, string>;
  /**
   * Secret values for `${VAR}` interpolation: VAR -> name of a secret config key in this
   * project's namespace (`pulumi config set --secret KEY VALUE`). @default {}
   */
  secretEnv?: Record<string, string>;
  /** Per-service replica counts: the horizontal scaling knob. @default {} */
  replicas?: Record<string, number>;
  /** Overrides of the rolling-update defaults. @default {} */
  update?: StackUpdateConfig;
  /** Seconds the deploy waits for every changed service to converge. @default 600 */
  timeoutSeconds?: number;
  /**
   * Resolve every image tag to its current digest at `pulumi up`/`preview` time, so a moved tag
   * shows in the preview and rolls out. @default false
   */
  pinImages?: boolean;
}

/** The validated configuration of one cluster, with every default applied. */
export interface ClusterConfig {
  region: string;
  managers: Required<ManagersConfig>;
  workers: (Required<Omit<WorkerPoolConfig, "labels">> & { labels: Record<string, string> })[];
  image: string;
  dockerVersion: string;
  sshPublicKey: string;
  adminCidrs: string[];
  vpcIpRange: string;
  overlayAddressPool: string;
  stacks: StackConfig[];
  /** Name of an existing DigitalOcean Container Registry for build-only services. */
  registry?: string;
}

/** Raw values as read from Pulumi config: anything may be missing or of the wrong type. */
export type RawConfig = { [K in keyof ClusterConfig]?: unknown } & {
  /** Only checked for presence and form; the value itself never enters an error message. */
  sshPrivateKey?: string;
};

export const DEFAULTS = {
  region: "fra1",
  managers: { count: 3, size: "s-1vcpu-2gb", resizeDisk: false },
  workers: [{ name: "worker", count: 2, size: "s-1vcpu-1gb", labels: {}, resizeDisk: false }],
  image: "ubuntu-24-04-x64",
  dockerVersion: "28.5",
  adminCidrs: ["0.0.0.0/0", "::/0"],
  vpcIpRange: "10.110.0.0/20",
  overlayAddressPool: "10.200.0.0/16",
} as const;

/** Thrown with every problem found, one per line, so a user fixes them all in one go. */
export class ConfigError extends Error {
  /**
   * @param wellFormedStacks the stacks that passed their own checks, so a caller can still
   *   render them and report their problems in the same error.
   */
  constructor(
    readonly problems: string[],
    readonly wellFormedStacks: StackConfig[] = [],
  ) {
    super(
      `do-swarm configuration has ${problems.length} problem(s):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const SIZE_SLUG = /^[a-z0-9]+(-[a-z0-9]+)+$/;
const REGION_SLUG = /^[a-z]{3}[0-9]$/;
const IMAGE = /^([a-z0-9][a-z0-9.-]*[a-z0-9]|[0-9]+)$/;
const LABEL_KEY = /^[a-zA-Z0-9]([a-zA-Z0-9._-]*[a-zA-Z0-9])?$/;
const LABEL_VALUE = /^[a-zA-Z0-9._-]{0,63}$/;
const DOCKER_VERSION = /^[0-9]{2}\.[0-9]+(\.[0-9]+)?$/;
const SSH_PUBLIC_KEY =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( .*)?$/;
const SSH_PRIVATE_KEY =
  /^-----BEGIN (OPENSSH|RSA|EC) PRIVATE KEY-----[\s\S]+-----END \1 PRIVATE KEY-----\s*$/;
/** Names the program gives pools of its own; a worker pool may not take them. */
const RESERVED_POOL_NAMES = new Set(["manager", "swarm"]);

const show = (v: unknown) => JSON.stringify(v);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

/**
 * Validates raw config and applies defaults. Collects every problem before throwing one
 * ConfigError; each message names the config key, the bad value and the fix.
 */
export function validateConfig(raw: RawConfig): ClusterConfig {
  const problems: string[] = [];
  const fail = (key: string, value: unknown, fix: string) =>
    problems.push(`do-swarm:${key} = ${show(value)}: ${fix}`);

  const region = raw.region ?? DEFAULTS.region;
  if (typeof region !== "string" || !REGION_SLUG.test(region)) {
    fail("region", region, "use a DigitalOcean region slug such as fra1, nyc3, ams3 or sgp1");
  }

  const managers = validateManagers(raw.managers ?? DEFAULTS.managers, fail);
  const workers = validateWorkers(raw.workers ?? DEFAULTS.workers, fail);

  const image = raw.image ?? DEFAULTS.image;
  if (typeof image !== "string" || !IMAGE.test(image)) {
    fail("image", image, "use a DigitalOcean image slug such as ubuntu-24-04-x64, or an image ID");
  }
  const dockerVersion = raw.dockerVersion ?? DEFAULTS.dockerVersion;
  if (typeof dockerVersion !== "string" || !DOCKER_VERSION.test(dockerVersion)) {
    fail("dockerVersion", dockerVersion, 'use a Docker Engine version such as "28.5" or "28.5.2"');
  }

  const sshPublicKey = raw.sshPublicKey;
  if (typeof sshPublicKey !== "string" || !SSH_PUBLIC_KEY.test(sshPublicKey.trim())) {
    fail(
      "sshPublicKey",
      sshPublicKey,
      'set it to one OpenSSH public key line ("ssh-ed25519 AAAA... comment"): pulumi config set sshPublicKey "$(cat ~/.ssh/do-swarm.pub)"',
    );
  }
  // The private key is a secret: report that it is wrong, never what it is.
  if (typeof raw.sshPrivateKey !== "string" || !SSH_PRIVATE_KEY.test(raw.sshPrivateKey.trim())) {
    problems.push(
      `do-swarm:sshPrivateKey ${raw.sshPrivateKey === undefined ? "is not set" : "is not a PEM/OpenSSH private key"}: ` +
        "pulumi config set --secret sshPrivateKey < ~/.ssh/do-swarm (a key made for this cluster, no passphrase, matching sshPublicKey)",
    );
  }

  const adminCidrs = raw.adminCidrs ?? DEFAULTS.adminCidrs;
  if (!Array.isArray(adminCidrs) || adminCidrs.length === 0) {
    fail(
      "adminCidrs",
      adminCidrs,
      'give a non-empty list of CIDRs allowed to SSH, e.g. ["203.0.113.7/32"]',
    );
  } else {
    adminCidrs.forEach((c, i) => {
      if (typeof c !== "string" || !isValidCidr(c)) {
        fail(`adminCidrs[${i}]`, c, "use a CIDR such as 203.0.113.7/32 or 2001:db8::/32");
      }
    });
  }

  const vpcIpRange = raw.vpcIpRange ?? DEFAULTS.vpcIpRange;
  const overlayAddressPool = raw.overlayAddressPool ?? DEFAULTS.overlayAddressPool;
  for (const [key, value] of [
    ["vpcIpRange", vpcIpRange],
    ["overlayAddressPool", overlayAddressPool],
  ] as const) {
    if (typeof value !== "string" || !isValidCidr(value) || value.includes(":")) {
      fail(key, value, "use a private IPv4 CIDR such as 10.110.0.0/20");
    }
  }
  if (
    typeof vpcIpRange === "string" &&
    typeof overlayAddressPool === "string" &&
    isValidCidr(vpcIpRange) &&
    isValidCidr(overlayAddressPool) &&
    !`${vpcIpRange}${overlayAddressPool}`.includes(":") &&
    cidrsOverlap(vpcIpRange, overlayAddressPool)
  ) {
    fail(
      "overlayAddressPool",
      overlayAddressPool,
      `it overlaps vpcIpRange ${vpcIpRange}; overlay networks would shadow the droplets' private addresses: pick a disjoint range`,
    );
  }

  const stacks = validateStacks(raw.stacks ?? [], problems, fail);
  const registry = raw.registry;
  if (registry !== undefined && (typeof registry !== "string" || !DNS_LABEL.test(registry))) {
    fail(
      "registry",
      registry,
      "use the name of your DigitalOcean Container Registry (doctl registry get)",
    );
  }

  if (problems.length > 0) throw new ConfigError(problems, stacks ?? []);
  return {
    region: region as string,
    managers: managers!,
    workers: workers!,
    image: image as string,
    dockerVersion: dockerVersion as string,
    sshPublicKey: (sshPublicKey as string).trim(),
    adminCidrs: adminCidrs as string[],
    vpcIpRange: vpcIpRange as string,
    overlayAddressPool: overlayAddressPool as string,
    stacks: stacks!,
    ...(registry === undefined ? {} : { registry: registry as string }),
  };
}

type Fail = (key: string, value: unknown, fix: string) => void;

function validateManagers(m: unknown, fail: Fail): ClusterConfig["managers"] | undefined {
  if (!isObject(m)) {
    fail("managers", m, 'use an object such as { "count": 3, "size": "s-1vcpu-2gb" }');
    return undefined;
  }
  const count = m.count ?? DEFAULTS.managers.count;
  if (!isCount(count) || count < 1 || count > 7 || count % 2 === 0) {
    fail(
      "managers.count",
      count,
      "use 1, 3, 5 or 7: a swarm of n managers keeps working while a majority is up, so it " +
        "tolerates (n-1)/2 lost managers (1:0, 3:1, 5:2, 7:3); an even count adds no tolerance " +
        "and Docker recommends at most seven",
    );
  }
  const size = m.size ?? DEFAULTS.managers.size;
  if (typeof size !== "string" || !SIZE_SLUG.test(size)) {
    fail(
      "managers.size",
      size,
      "use a droplet size slug such as s-1vcpu-2gb (doctl compute size list)",
    );
  }
  const resizeDisk = m.resizeDisk ?? false;
  if (typeof resizeDisk !== "boolean") fail("managers.resizeDisk", resizeDisk, "use true or false");
  return { count: count as number, size: size as string, resizeDisk: resizeDisk as boolean };
}

function validateWorkers(w: unknown, fail: Fail): ClusterConfig["workers"] | undefined {
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
    return {
      name: name as string,
      count: count as number,
      size: size as string,
      labels: labels as Record<string, string>,
      resizeDisk: resizeDisk as boolean,
    };
  });
}

/**
 * `pulumi config set --path 'workers[0].labels.ssd' true` stores a boolean, and `... env.TAG 2`
 * an integer: for a nested path the CLI turns "true"/"false" into booleans and base-10 digits
 * (without a leading 0) into integers (pulumi/pulumi, sdk/go/common/resource/config: Map.Set
 * calls Value.coerceObject, which uses coerce in object.go). Label and env values are strings,
 * and compose accepts numbers and booleans in `environment` too, so such values are taken as
 * the string the user typed. Anything else is returned as it is, for validation to report.
 */
export function cliScalarsAsStrings(v: unknown): unknown {
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [
      k,
      typeof x === "boolean" || (typeof x === "number" && Number.isFinite(x)) ? String(x) : x,
    ]),
  );
}

/** The well-formed stacks (all of them when there is no problem). */
function validateStacks(
  s: unknown,
  problems: readonly string[],
  fail: Fail,
): StackConfig[] | undefined {
  if (!Array.isArray(s)) {
    fail("stacks", s, 'use a list such as [{ "name": "web", "file": "stacks/web/stack.yml" }]');
    return undefined;
  }
  const seen = new Set<string>();
  const good: StackConfig[] = [];
  const stringMap = (key: string, v: unknown) => {
    if (v === undefined) return;
    if (!isObject(v) || Object.values(v).some((x) => typeof x !== "string")) {
      fail(key, v, "use an object of NAME: string");
    }
  };
  s.forEach((stack: unknown, i) => {
    const key = `stacks[${i}]`;
    const before = problems.length;
    if (!isObject(stack)) {
      fail(key, stack, "each stack is an object with name and file");
      return;
    }
    if (typeof stack.name !== "string" || !DNS_LABEL.test(stack.name)) {
      fail(`${key}.name`, stack.name, "use a lowercase DNS label (a-z, 0-9, '-')");
    } else if (seen.has(stack.name)) {
      fail(`${key}.name`, stack.name, "stack names must be unique");
    } else seen.add(stack.name);
    if (typeof stack.file !== "string" || stack.file === "") {
      fail(
        `${key}.file`,
        stack.file,
        "give the compose file's path relative to the project, e.g. stacks/web/stack.yml",
      );
    }
    const env = cliScalarsAsStrings(stack.env);
    const secretEnv = cliScalarsAsStrings(stack.secretEnv);
    stringMap(`${key}.env`, env);
    stringMap(`${key}.secretEnv`, secretEnv);
    if (stack.replicas !== undefined) {
      if (!isObject(stack.replicas))
        fail(`${key}.replicas`, stack.replicas, "use an object of SERVICE: count");
      else
        for (const [svc, n] of Object.entries(stack.replicas)) {
          if (!isCount(n))
            fail(`${key}.replicas.${svc}`, n, "use a whole number of replicas, 0 or more");
        }
    }
    if (stack.update !== undefined) validateUpdate(`${key}.update`, stack.update, fail);
    if (stack.pinImages !== undefined && typeof stack.pinImages !== "boolean") {
      fail(`${key}.pinImages`, stack.pinImages, "use true or false");
    }
    const t = stack.timeoutSeconds;
    if (t !== undefined && (!isCount(t) || t < 30)) {
      fail(`${key}.timeoutSeconds`, t, "use a whole number of seconds, at least 30");
    }
    if (problems.length === before) {
      const ok = { ...stack } as unknown as StackConfig;
      if (env !== undefined) ok.env = env as Record<string, string>;
      if (secretEnv !== undefined) ok.secretEnv = secretEnv as Record<string, string>;
      good.push(ok);
    }
  });
  return good;
}

function validateUpdate(key: string, u: unknown, fail: Fail) {
  if (!isObject(u)) {
    fail(key, u, 'use an object such as { "parallelism": 2, "order": "start-first" }');
    return;
  }
  const known = [
    "parallelism",
    "delaySeconds",
    "monitorSeconds",
    "failureAction",
    "maxFailureRatio",
    "order",
  ];
  for (const [k, v] of Object.entries(u)) {
    if (!known.includes(k))
      fail(`${key}.${k}`, v, `unknown setting; use one of ${known.join(", ")}`);
  }
  if (u.parallelism !== undefined && !isCount(u.parallelism)) {
    fail(`${key}.parallelism`, u.parallelism, "use a whole number (0 means all at once)");
  }
  for (const k of ["delaySeconds", "monitorSeconds"]) {
    if (u[k] !== undefined && !(typeof u[k] === "number" && (u[k] as number) >= 0)) {
      fail(`${key}.${k}`, u[k], "use a number of seconds, 0 or more");
    }
  }
  if (
    u.failureAction !== undefined &&
    !["rollback", "pause", "continue"].includes(u.failureAction as string)
  ) {
    fail(`${key}.failureAction`, u.failureAction, "use rollback, pause or continue");
  }
  const r = u.maxFailureRatio;
  if (r !== undefined && !(typeof r === "number" && r >= 0 && r <= 1)) {
    fail(`${key}.maxFailureRatio`, r, "use a fraction between 0 and 1");
  }
  if (u.order !== undefined && !["start-first", "stop-first"].includes(u.order as string)) {
    fail(`${key}.order`, u.order, "use start-first or stop-first");
  }
}

/** Whether two IPv4 CIDRs share any address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const range = (c: string) => {
    const [ip, bits] = c.split("/");
    const n = ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
    const size = 2 ** (32 - Number(bits));
    const start = n - (n % size);
    return [start, start + size - 1];
  };
  const [a0, a1] = range(a);
  const [b0, b1] = range(b);
  return a0 <= b1 && b0 <= a1;
}
