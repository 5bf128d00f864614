/**
 * The nodes' data volumes (issue 12): for every node of a group with `volume`, a DigitalOcean
 * block storage volume named after the node, its attachment to the node's droplet, and three
 * steps (scripts in ../scripts):
 * - mount (volume-mount.sh, on the node): the volume at /mnt/do-swarm-data by its stable device
 *   id, in fstab with nofail, the data directory created ON the volume; ordered before the
 *   node's registration, so a node is in the swarm with its volume label only once it is there;
 * - grow (volume-grow.sh, on the node): the filesystem to the volume's size, online; its
 *   inputs change only when `sizeGb` does, and it runs after the volume's in-place resize;
 * - restore point (volume-snapshot.sh, where Pulumi runs): its `delete` flushes the node's
 *   filesystem, takes a DigitalOcean snapshot of the volume (the POST answers with it), BEFORE
 *   the volume can be deleted (the volume depends on nothing of it; it depends on the volume, so Pulumi
 *   deletes it first: on scale-in, on a group's volume removed, on `pulumi destroy`);
 * - release (volume-release.sh, where Pulumi runs): its `delete` stops the containers that use
 *   the mount on the droplet that holds the volume and unmounts it, cleanly, BEFORE the volume is
 *   detached from that droplet (issue 21, item 9): DigitalOcean says to unmount before a detach,
 *   and a detach leaves the droplet's filesystem mounted and dead. Replaced with the attachment
 *   (see below), deleted before the restore point (a scale-in snapshots an unmounted volume).
 *
 * Why xfs: DigitalOcean formats a new volume as ext4 or xfs; both grow online on a droplet, but
 * xfs grows online wherever the filesystem is mounted (xfs_growfs needs no extra capability),
 * which is what the lab can prove; ext4's online resize2fs needs CAP_SYS_RESOURCE there.
 */
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import * as command from "@pulumi/command";
import { checkVolumeShrinks, DATA_MOUNT, isSnapshotId, VOLUME_DEFAULTS } from "./config";
import { NodePlan } from "../core/nodes";
import { scriptCommand, sshConnection, withFinalNewline } from "../core/remote";
import * as path from "path";

/** The scripts this capability sends to the nodes (the lab runs the very same files). */
export const DATA_SCRIPTS = path.join(__dirname, "scripts");

/** The filesystem new volumes get (see the module comment). */
export const VOLUME_FILESYSTEM = "xfs";

export interface ClusterVolumesArgs {
  region: string;
  /** The key the steps log in with (the restore point's flush too). */
  sshPrivateKey: pulumi.Input<string>;
  /** @default 60 */
  sshDialAttempts?: number;
  /** What must exist before a node's first command (the final firewall). */
  firewall: pulumi.Resource;
  /** DigitalOcean's API, for the restore point. @default "https://api.digitalocean.com" */
  digitaloceanApiUrl?: string;
  /** Where a volume's device appears on its droplet, before its name. @default "/dev/disk/by-id/scsi-0DO_Volume_" */
  volumeDevicePrefix?: string;
  /**
   * The API token the restore point snapshots with, kept secret (stdin, encrypted state).
   * @default none: DIGITALOCEAN_TOKEN in the environment `pulumi` runs in at delete time
   */
  digitaloceanToken?: pulumi.Input<string | undefined>;
  /**
   * The sizes existing volumes have now, by name, for the only-grow check before anything is
   * changed. @default asks DigitalOcean (a volume it does not find is a new one)
   */
  currentSizes?: (names: string[]) => pulumi.Input<Record<string, number | undefined>>;
  /** The cluster's Tag resources by name (network.ts), so volumes are tagged after they exist. @default the names alone */
  tags?: ReadonlyMap<string, digitalocean.Tag>;
}

/** One node's volume and its steps. */
export interface NodeVolumeResources {
  volume: digitalocean.Volume;
  attachment: digitalocean.VolumeAttachment;
  mount: command.remote.Command;
  grow: command.remote.Command;
  restorePoint: command.local.Command;
  release: command.local.Command;
}

export interface ClusterVolumes {
  /** By node index: the node's volume resources, or undefined for a node without a volume. */
  byNode: (NodeVolumeResources | undefined)[];
  /** By node index: what the node's registration must wait for (empty without a volume). */
  beforeRegister: pulumi.Resource[][];
}

/** Asks DigitalOcean for each volume's size; one it cannot find counts as new. */
function sizesFromDigitalOcean(region: string, parent: pulumi.Resource) {
  return (names: string[]) =>
    pulumi.all(
      Object.fromEntries(
        names.map((name) => [
          name,
          digitalocean
            .getVolume({ name, region }, { parent })
            .then((v) => (typeof v.size === "number" ? v.size : undefined))
            // Not found (a volume still to be created) or unreadable: the provider's own check
            // (it refuses to plan a smaller size) still stands behind this one.
            .catch(() => undefined),
        ]),
      ),
    );
}

/**
 * Resolves once no volume would shrink; otherwise fails with one error naming every config key
 * (every volume's `size` input waits for it, so nothing is registered with a smaller size).
 */
export function onlyGrowing(
  volumes: readonly { name: string; sizeGb: number; key: string }[],
  current: pulumi.Input<Record<string, number | undefined>>,
): pulumi.Output<true> {
  return pulumi.output(current).apply((sizes) => {
    const problems = checkVolumeShrinks(volumes, sizes);
    if (problems.length > 0) {
      throw new Error(
        `do-swarm configuration has ${problems.length} problem(s):\n` +
          problems.map((p) => `  - ${p}`).join("\n"),
      );
    }
    return true as const;
  });
}

export function createVolumes(
  name: string,
  nodes: readonly NodePlan[],
  droplets: readonly digitalocean.Droplet[],
  args: ClusterVolumesArgs,
  parent: pulumi.Resource,
): ClusterVolumes {
  const withVolume = nodes.flatMap((n) => (n.volume ? [n.volume] : []));
  const prefix = args.volumeDevicePrefix ?? VOLUME_DEFAULTS.volumeDevicePrefix;
  const apiUrl = args.digitaloceanApiUrl ?? "https://api.digitalocean.com";
  const dial = args.sshDialAttempts ?? 60;

  // What exists now, by name (a size; undefined: no such volume yet). Read once, before any
  // volume is touched: for the only-grow check and for restoreFrom below.
  const current = pulumi.output(
    withVolume.length === 0
      ? {}
      : (args.currentSizes ?? sizesFromDigitalOcean(args.region, parent))(
          withVolume.map((v) => v.name),
        ),
  );
  // Volumes only grow: checked against what exists before any volume is touched.
  const grown = withVolume.length === 0 ? pulumi.output(true) : onlyGrowing(withVolume, current);

  // restoreFrom seeds only volumes not yet created (issue 21, item 10). The snapshot id matters
  // to the provider only when it creates a volume: `snapshot_id` is Optional+ForceNew and its
  // Read never sets it (terraform-provider-digitalocean, digitalocean/volume/resource_volume.go),
  // and `ignoreChanges: ["snapshotId"]` below hands the provider the old input for an existing
  // volume, so a different or absent id never diffs, let alone replaces it. So:
  // - an id is passed as it is: it needs no look-up, so it can fail no preview;
  // - a name is looked up (getVolumeSnapshot, which fails when no snapshot has the name) only
  //   when the group has a volume that DigitalOcean does not have yet (`current` above). A kept
  //   snapshot deleted after its restore (as the README advises) then fails nothing while every
  //   volume exists; a scale-out that needs it fails its preview, naming it, as it should.
  // (The volume's id in the stack's state would say the same, but a program cannot read it.)
  const snapshots = new Map<string, pulumi.Output<{ id: string; minDiskSize: number }>>();
  const lookup = (from: string) => {
    if (!snapshots.has(from)) {
      snapshots.set(
        from,
        digitalocean
          .getVolumeSnapshotOutput(
            { name: from, region: args.region, mostRecent: true },
            { parent },
          )
          .apply((s) => ({ id: s.id, minDiskSize: s.minDiskSize })),
      );
    }
    return snapshots.get(from)!;
  };
  const snapshotId = (
    v: NonNullable<NodePlan["volume"]>,
  ): pulumi.Input<string | undefined> | undefined => {
    const from = v.restoreFrom;
    if (from === undefined) return undefined;
    if (isSnapshotId(from)) return from;
    return current.apply<string | undefined>((sizes) => {
      // Exists: no look-up; the provider is handed the old input (see above).
      if (sizes[v.name] !== undefined) return pulumi.output<string | undefined>(undefined);
      return lookup(from).apply<string | undefined>((s) => {
        if (s.minDiskSize > v.sizeGb) {
          throw new Error(
            `do-swarm:${v.key}.sizeGb = ${v.sizeGb}: snapshot ${from} needs volumes of at least ${s.minDiskSize} GiB: set sizeGb to ${s.minDiskSize} or more`,
          );
        }
        return s.id;
      });
    });
  };

  const token = pulumi.secret(
    pulumi
      .all([args.digitaloceanToken, pulumi.output(args.sshPrivateKey)])
      // Line 1: the token (empty: the script uses DIGITALOCEAN_TOKEN); then the SSH key.
      .apply(([t, key]) => `${t ?? ""}\n${withFinalNewline(key)}`),
  );

  const byNode = nodes.map((n, i): NodeVolumeResources | undefined => {
    const v = n.volume;
    if (!v) return undefined;
    const droplet = droplets[i];
    const restore = snapshotId(v);
    const volume = new digitalocean.Volume(
      `${name}-${n.key}-volume`,
      {
        name: v.name,
        region: args.region,
        size: grown.apply(() => v.sizeGb),
        // A restored volume has the snapshot's filesystem; DigitalOcean formats only new ones.
        ...(restore === undefined
          ? { initialFilesystemType: VOLUME_FILESYSTEM }
          : { snapshotId: restore }),
        // The node's tags, as its droplet has them (cluster, role, pool, labels): a volume is
        // found and billed by the cluster's tag like the droplets. Tags update in place.
        tags: n.tags.map((t) => args.tags?.get(t)?.name ?? t),
      },
      {
        parent,
        // Both force a new volume, which would delete this one: restoreFrom seeds volumes
        // created from then on and never replaces one that holds data.
        ignoreChanges: ["snapshotId", "initialFilesystemType"],
      },
    );
    const attachment = new digitalocean.VolumeAttachment(
      `${name}-${n.key}-volume-attachment`,
      { dropletId: droplet.id.apply(Number), volumeId: volume.id },
      {
        parent,
        // Keyed by the droplet: a replaced droplet replaces it, and a volume attaches to one
        // droplet at a time, so the old attachment must go before the new one is made.
        deleteBeforeReplace: true,
      },
    );
    const connection = sshConnection(droplet.ipv4Address, args.sshPrivateKey, dial);
    const mount = new command.remote.Command(
      `${name}-${n.key}-volume-mount`,
      {
        connection,
        create: scriptCommand("volume-mount.sh", [v.name, DATA_MOUNT, prefix], DATA_SCRIPTS),
        // A new attachment (a replaced droplet or volume) mounts again; no delete, so a
        // replacement never reaches a droplet that is gone.
        triggers: [attachment.id],
        logging: "stderr",
      },
      { parent, dependsOn: [attachment, args.firewall] },
    );
    const grow = new command.remote.Command(
      `${name}-${n.key}-volume-grow`,
      {
        connection,
        create: scriptCommand(
          "volume-grow.sh",
          [v.name, DATA_MOUNT, String(v.sizeGb), prefix],
          DATA_SCRIPTS,
        ),
        logging: "stderr",
      },
      // After the mount, and after the volume's own update (DigitalOcean's resize) on a change.
      { parent, dependsOn: [mount, volume] },
    );
    const snapshotArgs = (op: "check" | "snapshot") =>
      pulumi
        .all([volume.id, droplet.ipv4Address])
        .apply(([volumeId, host]) =>
          scriptCommand(
            "volume-snapshot.sh",
            [op, volumeId, v.name, name, apiUrl, host, DATA_MOUNT],
            DATA_SCRIPTS,
          ),
        );
    const restorePoint = new command.local.Command(
      `${name}-${n.key}-volume-snapshot`,
      {
        // Proves now that the restore point can be taken later (token, API, tools).
        create: snapshotArgs("check"),
        delete: snapshotArgs("snapshot"),
        stdin: token,
        // Replaced with its volume: the old one's delete then snapshots the old volume.
        triggers: [volume.id],
        logging: "stdoutAndStderr",
        addPreviousOutputInEnv: false,
      },
      {
        parent,
        additionalSecretOutputs: ["stdin"],
        // Deleted before the attachment and after the registration (so the node is drained
        // first: see beforeRegister) and the release (so it snapshots an unmounted volume).
        dependsOn: [attachment, mount],
      },
    );
    // The unmount before any detach (issue 21, item 9). Why a command whose `delete` does it:
    // - a replaced droplet (`pulumi up --replace`) replaces the attachment delete-first, and the
    //   engine then first deletes every resource that depends on the attachment THROUGH AN INPUT
    //   and would be replaced by its change (step_generator.go calculateDependentReplacements,
    //   in reverse dependency order): `triggers: [attachment.id]` makes this one of them, so its
    //   delete runs with the inputs stored with it (the OLD droplet's id and address) before the
    //   old attachment's delete, while the old droplet still runs (the engine deletes a
    //   create-first replaced droplet after every other step). The node's drain (its
    //   registration's delete) comes only after the new attachment, too late;
    // - a scale-in, a group's volume removed, `pulumi destroy`: deleted in reverse dependency
    //   order, after the registration (the node drained) and before the restore point and the
    //   attachment;
    // - a lost droplet (`pulumi refresh`, then `up`): the volume is attached to no droplet or the
    //   new one, which the script asks DigitalOcean before anything, so the old droplet's address
    //   is never dialled (a remote command's delete would fail the `up` dialling a gone droplet).
    // A local command (like the restore point): it asks DigitalOcean where the volume is, then
    // unmounts over SSH (the key on stdin with the token).
    const release = new command.local.Command(
      `${name}-${n.key}-volume-release`,
      {
        create: `echo 'volume ${v.name}: unmounted on its droplet before it is ever detached'`,
        delete: pulumi
          .all([volume.id, droplet.id, droplet.ipv4Address])
          .apply(([volumeId, dropletId, host]) =>
            scriptCommand(
              "volume-release.sh",
              [volumeId, v.name, String(dropletId), host, DATA_MOUNT, apiUrl],
              DATA_SCRIPTS,
            ),
          ),
        stdin: token,
        triggers: [attachment.id],
        logging: "stdoutAndStderr",
        addPreviousOutputInEnv: false,
      },
      {
        parent,
        additionalSecretOutputs: ["stdin"],
        // Created after the restore point's check, so deleted before its snapshot.
        dependsOn: [attachment, mount, restorePoint],
      },
    );
    return { volume, attachment, mount, grow, restorePoint, release };
  });

  return {
    byNode,
    // The registration waits for them, so its delete (the node drained) comes before theirs.
    beforeRegister: byNode.map((r) => (r ? [r.mount, r.restorePoint, r.release] : [])),
  };
}
