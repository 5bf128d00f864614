/**
 * The droplets, one per planned node, each carrying the rolling-resize hooks (maintenance.ts).
 * The hooks' context is filled lazily: hooks run during an update.
 */
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import { renderUserData } from "../cloudInit";
import { DEFAULTS } from "../config";
import { maintenanceBinding, MaintenanceContext, MaintenanceLock } from "../maintenance";
import { realMaintenanceOps } from "../maintenanceOps";
import { NodePlan } from "../nodes";
import { ClusterNetwork } from "./network";

/** Resolves an output inside a hook, where the program's values are all known. */
const valueOf = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

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
}

export function createDroplets(
  name: string,
  nodes: readonly NodePlan[],
  args: ClusterDropletsArgs,
  network: ClusterNetwork,
  /** The entry point's address, created after the droplets (it needs manager-0's id). */
  entryAddress: () => pulumi.Output<string>,
  parent: pulumi.Resource,
): digitalocean.Droplet[] {
  // Rolling resize (see maintenance.ts): hooks on every droplet, one lock for the whole program.
  const maintenance: MaintenanceContext = {
    nodes,
    managerDropletIds: () =>
      valueOf(
        pulumi.all(
          droplets.filter((_, i) => nodes[i].role === "manager").map((d) => d.id.apply(Number)),
        ),
      ),
    lock: new MaintenanceLock(),
    timeoutSeconds: args.maintenanceTimeoutSeconds,
    ops: realMaintenanceOps({
      target: () =>
        valueOf(
          pulumi
            .all([entryAddress(), pulumi.output(args.sshPrivateKey)])
            .apply(([host, privateKey]) => ({ host, user: "root", privateKey })),
        ),
      reservedIp: () => valueOf(entryAddress()),
      token: () => process.env.DIGITALOCEAN_TOKEN ?? new pulumi.Config("digitalocean").get("token"),
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
                  ...(n.backups.hour === undefined ? {} : { hour: n.backups.hour }),
                  ...(n.backups.weekday === undefined ? {} : { weekday: n.backups.weekday }),
                },
              }
            : {}),
        },
        {
          parent,
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
