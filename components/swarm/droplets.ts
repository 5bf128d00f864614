/**
 * The droplets, one per planned node, each carrying the rolling-resize hooks (maintenance.ts).
 * The hooks' context holds only what is known before any step runs (see maintenance.ts): the
 * node plan, the managers' tag, the key and the token from config; the rest they ask
 * DigitalOcean and the swarm when they run.
 */
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import { renderUserData } from "./cloudInit";
import { DEFAULTS } from "./config";
import {
  maintenanceBinding,
  MaintenanceContext,
  MaintenanceLock,
} from "../maintenance/maintenance";
import { realMaintenanceOps } from "../maintenance/maintenanceOps";
import { MaxUnavailable, poolLimits } from "../maintenance/batches";
import { NodePlan, roleTag } from "../core/nodes";
import { ClusterNetwork } from "./network";

/**
 * Resolves an Output that a hook reads. Only for Outputs that depend on no resource (config):
 * one that waits on a droplet would wait on the very steps the hooks run in. The deadline turns
 * such a mistake into an error naming the value instead of a `pulumi up` that hangs.
 */
export function knownWithin<T>(o: pulumi.Output<T>, what: string, seconds: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `${what} was not known ${seconds} s into a droplet update: a maintenance hook must not wait on a resource being updated`,
          ),
        ),
      seconds * 1000,
    );
    o.apply((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

export interface ClusterDropletsArgs {
  region: string;
  /** @default "ubuntu-24-04-x64" */
  image?: string;
  /** @default "28.5" */
  dockerVersion?: string;
  /** The key the maintenance steps log in with. */
  sshPrivateKey: pulumi.Input<string>;
  /** @default 600 */
  maintenanceTimeoutSeconds?: number;
  /** The worker pools, for their maxUnavailable (batched maintenance). @default [] (one at a time) */
  workers?: readonly { name: string; count: number; maxUnavailable?: MaxUnavailable }[];
  /** What must succeed before any droplet is created (the domains' zone check). @default [] */
  dependsOn?: Promise<pulumi.Resource[]>;
}

export function createDroplets(
  name: string,
  nodes: readonly NodePlan[],
  args: ClusterDropletsArgs,
  network: ClusterNetwork,
  parent: pulumi.Resource,
): digitalocean.Droplet[] {
  // Rolling resize (see maintenance.ts): hooks on every droplet, one lock for the whole program
  // (its slots: a manager alone, each pool up to its maxUnavailable; batches.ts).
  // What the context may hold, checked against the engine (pulumi/pulumi pkg/resource/deploy):
  // - the droplets' ids and addresses: no. They resolve when each droplet's RegisterResource is
  //   answered, after its step, hooks included (step_executor.go: stepComplete after Apply), so
  //   a hook waiting on them waits on its own step (issue 14). The hooks get their own id as an
  //   argument and ask DigitalOcean for the other managers.
  // - the reserved IP's address: not either, though today's ReservedIp depends on no droplet.
  //   Its answer comes from a step of its own, which needs a free worker of the engine's pool
  //   (`--parallel`), and every resized droplet's step holds one while its hook waits for the
  //   lock; nor would it stay independent if the IP were ever created with `dropletId`. The
  //   hooks ask DigitalOcean which reserved IPs are on their droplet instead.
  // - the key and the token: yes. Config and environment, known before any step runs.
  const maintenance: MaintenanceContext = {
    nodes,
    // Each pool's maxUnavailable, resolved against its count: plain config, known before any step.
    lock: new MaintenanceLock(poolLimits(args.workers ?? [])),
    timeoutSeconds: args.maintenanceTimeoutSeconds,
    ops: realMaintenanceOps({
      managerTag: roleTag(name, "manager"),
      // index.ts passes the key from config (requireSecret): an Output of no resource, known
      // before any step. The token is config or environment, a plain value.
      privateKey: () => knownWithin(pulumi.output(args.sshPrivateKey), "the SSH private key", 60),
      token: () => process.env.DIGITALOCEAN_TOKEN ?? new pulumi.Config("digitalocean").get("token"),
      // The provider's own setting (digitalocean:apiEndpoint, else DIGITALOCEAN_API_URL).
      apiUrl: digitalocean.config.apiEndpoint,
      log: (m) => pulumi.log.info(m, parent),
      warn: (m) => pulumi.log.warn(m, parent),
    }),
  };

  const userData = renderUserData({ dockerVersion: args.dockerVersion ?? DEFAULTS.dockerVersion });
  const droplets = nodes.map(
    (n) =>
      new digitalocean.Droplet(
        `${name}-${n.key}`,
        {
          name: n.name,
          region: args.region,
          size: n.size,
          image: args.image ?? DEFAULTS.image,
          vpcUuid: network.vpc.id,
          sshKeys: [network.sshKey.fingerprint],
          tags: n.tags.map((t) => network.tags.get(t)!.name),
          userData,
          monitoring: true,
          resizeDisk: n.resizeDisk,
          // Set only for a group with backups, so other droplets' inputs stay as they were.
          ...(n.backups
            ? {
                backups: true,
                backupPolicy: {
                  plan: n.backups.plan,
                  // Unset, the provider sends 0 anyway (backup_policy.hour is Optional, not
                  // Computed, and expandBackupPolicy sends &hour, terraform-provider-digitalocean
                  // digitalocean/droplet/resource_droplet.go; godo's Hour is *int, omitempty):
                  // say so in the inputs, so the preview shows the window DigitalOcean gets.
                  hour: n.backups.hour ?? 0,
                  ...(n.backups.weekday === undefined ? {} : { weekday: n.backups.weekday }),
                },
              }
            : {}),
        },
        {
          parent,
          dependsOn: args.dependsOn ?? [],
          // These only matter at first boot, and changing any of them REPLACES the droplet:
          // a Docker version bump or key rotation must not rebuild every node at once. They
          // apply to droplets created from then on (see README, "What applies to new nodes").
          ignoreChanges: ["userData", "image", "sshKeys"],
          hooks: maintenanceBinding(n, maintenance),
        },
      ),
  );
  return droplets;
}
