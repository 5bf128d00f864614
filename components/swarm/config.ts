/**
 * The program's configuration: what each key means, its default, and validation. Split by area
 * (nodes, network, stacks, ...); this module composes them, so `validateConfig` reports every
 * problem of every area in one error.
 */
import { DNS_LABEL, show } from "../core/config";
import { ENTRY_POINT_DEFAULTS, EntryPointSettings, validateEntryPoint } from "../entryPoint/config";
import { NETWORK_DEFAULTS, validateNetwork } from "./networkConfig";
import {
  ManagersSettings,
  NODE_DEFAULTS,
  validateManagers,
  validateWorkers,
  WorkerPoolSettings,
} from "./nodesConfig";
import { StackConfig, validateStacks } from "../stacks/config";
import { EdgeSettings, validateEdge } from "../edge/config";
import { DataEndpoints, validateDataEndpoints, VOLUME_DEFAULTS } from "../data/config";
import { AlertsSettings, validateAlerts } from "../alerts/config";

export { cliScalarsAsStrings } from "../core/config";
export type { Fail } from "../core/config";
export { cidrsOverlap } from "./networkConfig";
export type { ManagersConfig, WorkerPoolConfig } from "./nodesConfig";
export type { StackConfig, StackUpdateConfig } from "../stacks/config";
export type { EdgeConfig, EdgeRouteConfig, EdgeSettings } from "../edge/config";
export { checkEntryPointPorts, recordName } from "../entryPoint/config";
export type {
  DomainConfig,
  EntryPointKind,
  EntryPointSettings,
  LoadBalancerSettings,
} from "../entryPoint/config";

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

export type { BackupsConfig, DataEndpoints, VolumeConfig } from "../data/config";
export {
  checkVolumeNames,
  checkVolumeShrinks,
  DATA_DIR,
  DATA_MOUNT,
  volumeGroupsOf,
} from "../data/config";

/** The validated configuration of one cluster, with every default applied. */
export interface ClusterConfig extends EntryPointSettings, DataEndpoints {
  region: string;
  managers: ManagersSettings;
  workers: WorkerPoolSettings[];
  image: string;
  dockerVersion: string;
  sshPublicKey: string;
  adminCidrs: string[];
  vpcIpRange: string;
  overlayAddressPool: string;
  stacks: StackConfig[];
  /** Name of an existing DigitalOcean Container Registry for build-only services. */
  registry?: string;
  /** The edge: the user's domains routed to stack services (components/edge). */
  edge: EdgeSettings;
  /** Alerts and uptime checks (components/alerts); none when unset. */
  alerts?: AlertsSettings;
}

/** Raw values as read from Pulumi config: anything may be missing or of the wrong type. */
export type RawConfig = { [K in keyof ClusterConfig]?: unknown } & {
  /** Only checked for presence and form; the value itself never enters an error message. */
  sshPrivateKey?: string;
  /** Likewise: the failover agent's DigitalOcean token. */
  failoverToken?: string;
};

export const DEFAULTS = {
  region: "fra1",
  ...NODE_DEFAULTS,
  image: "ubuntu-24-04-x64",
  dockerVersion: "28.5",
  ...NETWORK_DEFAULTS,
  ...ENTRY_POINT_DEFAULTS,
  ...VOLUME_DEFAULTS,
} as const;

const REGION_SLUG = /^[a-z]{3}[0-9]$/;
const IMAGE = /^([a-z0-9][a-z0-9.-]*[a-z0-9]|[0-9]+)$/;
const DOCKER_VERSION = /^[0-9]{2}\.[0-9]+(\.[0-9]+)?$/;
const SSH_PUBLIC_KEY =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( .*)?$/;
const SSH_PRIVATE_KEY =
  /^-----BEGIN (OPENSSH|RSA|EC) PRIVATE KEY-----[\s\S]+-----END \1 PRIVATE KEY-----\s*$/;

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

  const network = validateNetwork(raw, fail);
  // The token is a secret too: only whether it is set and looks like one token.
  const token = raw.failoverToken;
  const entry = validateEntryPoint(
    raw,
    token === undefined ? "unset" : /^\S+$/.test(token.trim()) ? "ok" : "malformed",
    fail,
    problems,
  );
  const dataEndpoints = validateDataEndpoints(raw, fail);

  const stacks = validateStacks(raw.stacks ?? [], problems, fail);
  const registry = raw.registry;
  if (registry !== undefined && (typeof registry !== "string" || !DNS_LABEL.test(registry))) {
    fail(
      "registry",
      registry,
      "use the name of your DigitalOcean Container Registry (doctl registry get)",
    );
  }

  const edge = validateEdge(raw.edge, fail);
  const alerts = validateAlerts(raw.alerts, fail, problems);

  if (problems.length > 0) throw new ConfigError(problems, stacks ?? []);
  return {
    region: region as string,
    managers: managers!,
    workers: workers!,
    image: image as string,
    dockerVersion: dockerVersion as string,
    sshPublicKey: (sshPublicKey as string).trim(),
    ...network,
    ...entry,
    ...dataEndpoints,
    stacks: stacks!,
    ...(registry === undefined ? {} : { registry: registry as string }),
    edge: edge!,
    ...(alerts === undefined ? {} : { alerts }),
  };
}
