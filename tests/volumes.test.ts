/**
 * The volumes capability (components/data/volumes.ts) under Pulumi mocks: a cluster with a
 * volume on the managers and on one of two pools, restoreFrom by name and by id, backups; and
 * two clusters that differ only in a volume's size, to show what a size change touches.
 */
import {
  FakeOutputs,
  fakeCloud,
  isSecret,
  recordProgram,
  Recorded,
  Recording,
  reveal,
  TEST_PRIVATE_KEY,
  TEST_PUBLIC_KEY,
} from "./harness";

const VOLUME = "digitalocean:index/volume:Volume";
const ATTACHMENT = "digitalocean:index/volumeAttachment:VolumeAttachment";
const DROPLET = "digitalocean:index/droplet:Droplet";
const LOCAL = "command:local:Command";
const SNAPSHOT_UUID = "8fa70202-873f-11e6-8b68-000f533176b1";
let rec: Recording;

/** Droplet addresses from the droplet's name without its cluster, so two clusters match. */
function fake(): FakeOutputs {
  const base = fakeCloud();
  return (type, name, inputs) => {
    if (type === DROPLET) {
      const key = name.replace(/^[^-]+-/, "");
      const n = [...key].reduce((a, c) => (a * 31 + c.charCodeAt(0)) % 200, 7) + 1;
      return { ipv4Address: `203.0.113.${n}`, ipv4AddressPrivate: `10.110.0.${n}` };
    }
    return base(type, name, inputs);
  };
}

beforeAll(async () => {
  rec = await recordProgram(fake(), {}, (token, inputs) =>
    token === "digitalocean:index/getVolume:getVolume"
      ? String(inputs.name).endsWith("db-1")
        ? {} // not found: a volume still to be created
        : // Existing volumes at their configured size (or smaller): nothing shrinks.
          { name: inputs.name, size: String(inputs.name).endsWith("db-0") ? 10 : 5 }
      : undefined,
  );
  const pulumi = await import("@pulumi/pulumi");
  const { SwarmCluster } = await import("../components/swarm/swarmCluster");
  const common = {
    region: "ams3",
    sshPublicKey: TEST_PUBLIC_KEY,
    sshPrivateKey: pulumi.secret(TEST_PRIVATE_KEY),
    adminCidrs: ["203.0.113.0/24"],
    digitaloceanToken: pulumi.secret("dop_v1_test_token"),
  };
  const cluster = (name: string, dbGb: number) =>
    new SwarmCluster(name, {
      ...common,
      managers: {
        count: 1,
        size: "s-1vcpu-2gb",
        volume: { sizeGb: 5, restoreFrom: SNAPSHOT_UUID },
      },
      workers: [
        {
          name: "db",
          count: 2,
          size: "s-2vcpu-4gb",
          volume: { sizeGb: dbGb, restoreFrom: "db-seed" },
          backups: { plan: "weekly", weekday: "SUN", hour: 4 },
        },
        { name: "web", count: 1, size: "s-1vcpu-1gb" },
      ],
    });
  cluster("vola", 10);
  // The same cluster with the db pool's volumes grown: compared with "vola" below.
  cluster("volb", 20);
  await rec.settled();
});

const inputs = (r: Recorded) => reveal(r.rawInputs) as Record<string, unknown>;
const urnOf = (name: string) => rec.byName(name).urn;
const idOf = (name: string) => rec.state(name).id as string;
const mine = (type: string, cluster = "vola") =>
  rec.ofType(type).filter((r) => r.name.startsWith(`${cluster}-`));
const withVolume = ["manager-0", "db-0", "db-1"];

test("one volume per node of a group with a volume, named after the node, in the region", () => {
  expect(mine(VOLUME).map((v) => v.name)).toEqual(withVolume.map((k) => `vola-${k}-volume`));
  for (const k of withVolume) {
    const v = rec.byName(`vola-${k}-volume`);
    expect(inputs(v)).toMatchObject({ name: `vola-${k}`, region: "ams3" });
    expect(v.parent).toBe(urnOf("vola"));
    // restoreFrom and the filesystem type would replace (delete) a volume holding data.
    expect([...v.ignoreChanges].sort()).toEqual(["initialFilesystemType", "snapshotId"]);
    expect(v.replaceOnChanges).toEqual([]);
    expect(v.deleteBeforeReplace).toBe(false);
  }
  expect(inputs(rec.byName("vola-db-0-volume")).size).toBe(10);
  expect(inputs(rec.byName("vola-manager-0-volume")).size).toBe(5);
  expect(rec.resources.some((r) => r.name === "vola-web-0-volume")).toBe(false);
});

test("restoreFrom reaches the volume: an id as it is, a name looked up only for a volume still to be created", () => {
  expect(inputs(rec.byName("vola-manager-0-volume")).snapshotId).toBe(SNAPSHOT_UUID);
  // db-1 does not exist yet (see the getVolume answer above): it starts from the snapshot.
  const created = inputs(rec.byName("vola-db-1-volume"));
  expect(created.snapshotId).toBe("snapshot-id-of-db-seed");
  // A restored volume keeps its snapshot's filesystem: no format requested.
  expect(created.initialFilesystemType).toBeUndefined();
  // db-0 exists: no look-up, no id (ignoreChanges keeps its old input: no diff, no replace).
  const existing = inputs(rec.byName("vola-db-0-volume"));
  expect(existing.snapshotId).toBeUndefined();
  expect(existing.initialFilesystemType).toBeUndefined();
});

test("volumes carry their node's tags, as its droplet does (the cluster's tag first)", () => {
  for (const k of withVolume) {
    const tags = inputs(rec.byName(`vola-${k}-volume`)).tags;
    expect(tags).toEqual(inputs(rec.byName(`vola-${k}`)).tags);
    expect((tags as string[])[0]).toBe("vola");
  }
  expect(inputs(rec.byName("vola-db-0-volume")).tags).toEqual([
    "vola",
    "vola-worker",
    "vola-pool-db",
  ]);
  // Tagged after the Tag resources exist, like the droplets.
  expect(rec.byName("vola-db-0-volume").dependencies).toContain(urnOf("vola-tag-vola"));
});

test("a new volume is formatted xfs (it grows online; see volumes.ts)", async () => {
  const { VOLUME_FILESYSTEM } = await import("../components/data/volumes");
  expect(VOLUME_FILESYSTEM).toBe("xfs");
});

test("each attachment joins the node's own droplet and volume, and frees the volume before re-attaching", () => {
  expect(mine(ATTACHMENT).map((a) => a.name)).toEqual(
    withVolume.map((k) => `vola-${k}-volume-attachment`),
  );
  for (const k of withVolume) {
    const a = rec.byName(`vola-${k}-volume-attachment`);
    expect(inputs(a)).toEqual({
      dropletId: Number(idOf(`vola-${k}`)),
      volumeId: idOf(`vola-${k}-volume`),
    });
    // Replaced with its droplet (both inputs force replacement): old detached, then attached.
    expect(a.deleteBeforeReplace).toBe(true);
    expect(a.parent).toBe(urnOf("vola"));
  }
});

test("the mount runs on the node after its attachment, again for a new attachment, and has no delete", () => {
  for (const k of withVolume) {
    const m = rec.byName(`vola-${k}-volume-mount`);
    const i = inputs(m) as {
      connection: { host: string };
      create: string;
      delete?: string;
      triggers: unknown[];
    };
    expect(i.connection.host).toBe(rec.state(`vola-${k}`).ipv4Address);
    expect(i.create).toContain("volume-mount[%s]: %s");
    expect(
      i.create.endsWith(
        `bash "$f" 'vola-${k}' '/mnt/do-swarm-data' '/dev/disk/by-id/scsi-0DO_Volume_'`,
      ),
    ).toBe(true);
    expect(i.triggers).toEqual([idOf(`vola-${k}-volume-attachment`)]);
    expect(i.delete).toBeUndefined();
    expect(m.dependencies).toEqual(
      expect.arrayContaining([urnOf(`vola-${k}-volume-attachment`), urnOf("vola-firewall")]),
    );
  }
});

test("a node is registered (and labelled do-swarm.volume=true) only after its volume is mounted", () => {
  for (const k of withVolume) {
    const register = rec.byName(`vola-${k}-register`);
    expect(register.dependencies).toEqual(
      expect.arrayContaining([urnOf(`vola-${k}-volume-mount`), urnOf(`vola-${k}-volume-snapshot`)]),
    );
    expect((inputs(register) as { create: string }).create).toContain("'do-swarm.volume=true'");
  }
  const web = rec.byName("vola-web-0-register");
  expect(web.dependencies.some((d) => d.includes("volume"))).toBe(false);
  expect((inputs(web) as { create: string }).create).not.toContain("do-swarm.volume");
});

test("the grow step: on the node, with the size, after the mount and the volume's own update", () => {
  for (const k of withVolume) {
    const g = rec.byName(`vola-${k}-volume-grow`);
    const i = inputs(g) as { create: string; delete?: string; triggers?: unknown };
    const size = k === "manager-0" ? 5 : 10;
    expect(
      i.create.endsWith(
        `bash "$f" 'vola-${k}' '/mnt/do-swarm-data' '${size}' '/dev/disk/by-id/scsi-0DO_Volume_'`,
      ),
    ).toBe(true);
    expect(i.triggers).toBeUndefined();
    expect(i.delete).toBeUndefined();
    expect(g.dependencies).toEqual(
      expect.arrayContaining([urnOf(`vola-${k}-volume-mount`), urnOf(`vola-${k}-volume`)]),
    );
  }
});

test("a size change changes the volume's size and the grow step's command, and nothing else", () => {
  // Ids and the cluster name differ between the two clusters by construction: normalise them.
  const norm = (cluster: string) => {
    const ids = new Map(
      rec.resources
        .filter((r) => r.name.startsWith(`${cluster}-`) && r.custom)
        .map((r) => [idOf(r.name), r.name.slice(cluster.length + 1)]),
    );
    return new Map(
      rec.resources
        .filter((r) => r.name === cluster || r.name.startsWith(`${cluster}-`))
        .map((r) => {
          let text = JSON.stringify({
            inputs: reveal(r.rawInputs),
            deps: r.dependencies.map((d) => d.split("::").pop()),
            opts: [r.ignoreChanges, r.replaceOnChanges, r.deleteBeforeReplace],
          });
          // Ids are numeric strings of one length (harness): replace whole numbers only.
          text = text.replace(/\d{6,}/g, (d) => (ids.has(d) ? `<${ids.get(d)}>` : d));
          return [
            r.name.slice(cluster.length).split(cluster).join("<cluster>"),
            text.split(cluster).join("<cluster>"),
          ];
        }),
    );
  };
  const a = norm("vola");
  const b = norm("volb");
  expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
  const changed = [...a.keys()].filter((k) => a.get(k) !== b.get(k)).sort();
  expect(changed).toEqual([
    "-db-0-volume",
    "-db-0-volume-grow",
    "-db-1-volume",
    "-db-1-volume-grow",
  ]);
  expect(inputs(rec.byName("volb-db-0-volume")).size).toBe(20);
  expect((inputs(rec.byName("volb-db-1-volume-grow")) as { create: string }).create).toContain(
    "'20'",
  );
});

test("the restore point: a local command whose delete snapshots the volume, token and key secret on stdin", () => {
  expect(
    mine(LOCAL)
      .map((c) => c.name)
      .filter((n) => n.endsWith("-snapshot")),
  ).toEqual(withVolume.map((k) => `vola-${k}-volume-snapshot`));
  for (const k of withVolume) {
    const c = rec.byName(`vola-${k}-volume-snapshot`);
    const i = inputs(c) as {
      create: string;
      delete: string;
      stdin: string;
      triggers: unknown[];
      addPreviousOutputInEnv: boolean;
    };
    const args = (op: string) =>
      `bash "$f" '${op}' '${idOf(`vola-${k}-volume`)}' 'vola-${k}' 'vola' 'https://api.digitalocean.com' '${rec.state(`vola-${k}`).ipv4Address}' '/mnt/do-swarm-data'`;
    expect(i.create.endsWith(args("check"))).toBe(true);
    expect(i.delete.endsWith(args("snapshot"))).toBe(true);
    expect(i.delete).toContain("volume-snapshot: %s");
    // The token and the key: on stdin only, secret, never in the commands.
    expect(isSecret(c.rawInputs.stdin)).toBe(true);
    expect(i.stdin).toBe(`dop_v1_test_token\n${TEST_PRIVATE_KEY}`);
    expect(c.additionalSecretOutputs).toEqual(["stdin"]);
    expect(`${i.create}${i.delete}`).not.toContain("dop_v1_test_token");
    expect(`${i.create}${i.delete}`).not.toContain(TEST_PRIVATE_KEY.split("\n")[1]);
    expect(i.addPreviousOutputInEnv).toBe(false);
    // Replaced together with its volume: the old one's delete then snapshots the old volume.
    // (Unlike the deploy and register commands, its delete undoes nothing.)
    expect(i.triggers).toEqual([idOf(`vola-${k}-volume`)]);
    expect(c.replaceOnChanges).toEqual(["triggers[*]"]);
    expect(c.parent).toBe(urnOf("vola"));
  }
});

test("the release (issue 21, item 9): a local command whose delete unmounts the volume on the droplet that holds it, replaced with the attachment", () => {
  expect(
    mine(LOCAL)
      .map((c) => c.name)
      .sort(),
  ).toEqual(
    withVolume.flatMap((k) => [`vola-${k}-volume-release`, `vola-${k}-volume-snapshot`]).sort(),
  );
  for (const k of withVolume) {
    const c = rec.byName(`vola-${k}-volume-release`);
    const i = inputs(c) as {
      create: string;
      delete: string;
      stdin: string;
      triggers: unknown[];
      addPreviousOutputInEnv: boolean;
    };
    // The old droplet's id and address are stored with it: its delete runs there.
    expect(
      i.delete.endsWith(
        `bash "$f" '${idOf(`vola-${k}-volume`)}' 'vola-${k}' '${idOf(`vola-${k}`)}' '${rec.state(`vola-${k}`).ipv4Address}' '/mnt/do-swarm-data' 'https://api.digitalocean.com'`,
      ),
    ).toBe(true);
    expect(i.delete).toContain("volume-release: %s");
    expect(i.create).toBe(
      `echo 'volume vola-${k}: unmounted on its droplet before it is ever detached'`,
    );
    expect(isSecret(c.rawInputs.stdin)).toBe(true);
    expect(i.stdin).toBe(`dop_v1_test_token\n${TEST_PRIVATE_KEY}`);
    expect(c.additionalSecretOutputs).toEqual(["stdin"]);
    expect(`${i.create}${i.delete}`).not.toContain("dop_v1_test_token");
    expect(i.addPreviousOutputInEnv).toBe(false);
    // Its triggers come FROM the attachment (a property dependency, not only dependsOn): the
    // engine deletes it before the attachment's delete-first replacement.
    expect(i.triggers).toEqual([idOf(`vola-${k}-volume-attachment`)]);
    expect(c.replaceOnChanges).toEqual(["triggers[*]"]);
    expect(c.propertyDependencies.triggers).toEqual([urnOf(`vola-${k}-volume-attachment`)]);
    expect(c.deleteBeforeReplace).toBe(false);
    expect(rec.byName(`vola-${k}-volume-attachment`).deleteBeforeReplace).toBe(true);
    expect([...c.dependencies].sort()).toEqual(
      [
        urnOf(`vola-${k}-volume-attachment`),
        urnOf(`vola-${k}-volume-mount`),
        urnOf(`vola-${k}-volume-snapshot`),
        urnOf(`vola-${k}-volume`),
        urnOf(`vola-${k}`),
      ].sort(),
    );
    expect(c.parent).toBe(urnOf("vola"));
    // The registration waits for it: its delete (the node drained) comes first.
    expect(rec.byName(`vola-${k}-register`).dependencies).toContain(
      urnOf(`vola-${k}-volume-release`),
    );
  }
  // No other resource takes an input from the release.
  for (const r of rec.resources) {
    for (const urns of Object.values(r.propertyDependencies)) {
      expect(urns).not.toContain(urnOf("vola-db-0-volume-release"));
    }
  }
});

test("destroy order: every volume's snapshot after its node is drained, before its detach and delete", () => {
  // Pulumi deletes a resource only after everything that depends on it.
  const byUrn = new Map(rec.resources.map((r) => [r.urn, r]));
  const ancestors = (urn: string, seen = new Set<string>()): Set<string> => {
    for (const d of byUrn.get(urn)?.dependencies ?? []) {
      if (!seen.has(d)) {
        seen.add(d);
        ancestors(d, seen);
      }
    }
    return seen;
  };
  for (const cluster of ["vola", "volb"]) {
    for (const k of withVolume) {
      const snapshot = urnOf(`${cluster}-${k}-volume-snapshot`);
      const before = ancestors(snapshot); // deleted after the snapshot
      for (const later of ["volume", "volume-attachment", "volume-mount"]) {
        expect(before.has(urnOf(`${cluster}-${k}-${later}`))).toBe(true);
      }
      expect(before.has(urnOf(`${cluster}-${k}`))).toBe(true); // the droplet
      // The registration (drain, leave, remove) is deleted before the snapshot is taken.
      expect(ancestors(urnOf(`${cluster}-${k}-register`)).has(snapshot)).toBe(true);
      // The release (the unmount) is deleted before the snapshot and after the registration.
      const release = urnOf(`${cluster}-${k}-volume-release`);
      expect(ancestors(release).has(snapshot)).toBe(true);
      expect(ancestors(urnOf(`${cluster}-${k}-register`)).has(release)).toBe(true);
      // Nothing the volume waits for is deleted after it: the snapshot cannot be skipped.
      expect(ancestors(urnOf(`${cluster}-${k}-volume`)).has(snapshot)).toBe(false);
    }
  }
});

test("backups: on the droplets of the group that asks, with its policy; none elsewhere", () => {
  for (const k of ["db-0", "db-1"]) {
    expect(inputs(rec.byName(`vola-${k}`))).toMatchObject({
      backups: true,
      backupPolicy: { plan: "weekly", weekday: "SUN", hour: 4 },
    });
  }
  for (const k of ["manager-0", "web-0"]) {
    const i = inputs(rec.byName(`vola-${k}`));
    expect(i.backups).toBeUndefined();
    expect(i.backupPolicy).toBeUndefined();
  }
});

test("the cost counts the volumes and the backups; an unset backups.hour is sent as 0, as the provider would", async () => {
  const pulumi = await import("@pulumi/pulumi");
  const { SwarmCluster } = await import("../components/swarm/swarmCluster");
  const cluster = rec.resources.find((r) => r.name === "vola");
  expect(cluster).toBeDefined();
  // Recompute from the fake price list: s-1vcpu-2gb 12, s-2vcpu-4gb 24, s-1vcpu-1gb 6.
  // manager 12 + 0.5 (5 GiB); db 2 x (24 + 1.0 + 4.8); web 6.
  const c = new SwarmCluster("cost", {
    region: "ams3",
    sshPublicKey: TEST_PUBLIC_KEY,
    sshPrivateKey: pulumi.secret(TEST_PRIVATE_KEY),
    managers: { count: 1, size: "s-1vcpu-2gb", volume: { sizeGb: 5 } },
    workers: [
      {
        name: "db",
        count: 2,
        size: "s-2vcpu-4gb",
        volume: { sizeGb: 10 },
        backups: { plan: "weekly" },
      },
      { name: "web", count: 1, size: "s-1vcpu-1gb" },
    ],
  });
  const cost = await new Promise<number>((r) => c.estimatedMonthlyCostUsd.apply(r));
  expect(cost).toBe(78.1);
  // No hour set: the provider would send 0 anyway (resource_droplet.go), so the input says 0.
  await rec.settled();
  expect(inputs(rec.byName("cost-db-0"))).toMatchObject({
    backups: true,
    backupPolicy: { plan: "weekly", hour: 0 },
  });
  expect(inputs(rec.byName("cost-db-0")).backupPolicy as object).not.toHaveProperty("weekday");
});
