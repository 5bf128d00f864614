/**
 * SwarmCluster under Pulumi mocks: three clusters in one program (1+0, 3+2, 5 managers with two
 * pools), asserting exact resources, inputs, parents, dependencies and secrets.
 */
import {
  fakeCloud,
  isSecret,
  recordProgram,
  Recorded,
  Recording,
  reveal,
  TEST_PRIVATE_KEY,
  TEST_PUBLIC_KEY,
} from "./harness";

const DROPLET = "digitalocean:index/droplet:Droplet";
const COMMAND = "command:remote:Command";
let rec: Recording;

beforeAll(async () => {
  rec = await recordProgram(fakeCloud());
  const pulumi = await import("@pulumi/pulumi");
  const { SwarmCluster } = await import("../components/swarm/swarmCluster");
  const common = {
    region: "fra1",
    sshPublicKey: TEST_PUBLIC_KEY,
    sshPrivateKey: pulumi.secret(TEST_PRIVATE_KEY),
    adminCidrs: ["203.0.113.0/24"],
  };
  new SwarmCluster("solo", { ...common, managers: { count: 1, size: "s-1vcpu-2gb" }, workers: [] });
  new SwarmCluster("std", {
    ...common,
    managers: { count: 3, size: "s-1vcpu-2gb" },
    workers: [{ name: "worker", count: 2, size: "s-1vcpu-1gb" }],
    publicPorts: [
      { port: 80, protocol: "tcp" },
      { port: 443, protocol: "tcp" },
      { port: 80, protocol: "tcp" },
    ],
  });
  new SwarmCluster("big", {
    ...common,
    region: "nyc3",
    managers: { count: 5, size: "s-2vcpu-4gb" },
    workers: [
      { name: "web", count: 3, size: "s-1vcpu-1gb", labels: { tier: "web" } },
      { name: "db", count: 1, size: "c-2", labels: { db: "true" }, resizeDisk: true },
    ],
  });
  await rec.settled();
});

/** A line of the private key's body: what must never leak. */
const KEY_MATERIAL = TEST_PRIVATE_KEY.split("\n")[1];

const children = (cluster: string, type: string) =>
  rec.ofType(type).filter((r) => r.name.startsWith(`${cluster}-`));
const inputs = (r: Recorded) => reveal(r.rawInputs) as Record<string, unknown>;
const urnOf = (name: string) => rec.byName(name).urn;
const cmd = (name: string) =>
  inputs(rec.byName(name)) as { create: string; delete?: string; stdin?: string };

describe.each([
  ["solo", 1, 0, "fra1"],
  ["std", 3, 2, "fra1"],
  ["big", 5, 4, "nyc3"],
])("cluster %s", (cluster, managers, workers, region) => {
  test("droplets: count, names, sizes, region, VPC, tags, resizeDisk, monitoring", () => {
    const droplets = children(cluster, DROPLET);
    expect(droplets).toHaveLength(managers + workers);
    const vpc = rec.byName(`${cluster}-vpc`);
    for (const d of droplets) {
      const i = inputs(d);
      expect(i.name).toBe(d.name);
      expect(i.region).toBe(region);
      expect(i.vpcUuid).toBe(rec.state(vpc.name).id);
      expect(i.monitoring).toBe(true);
      expect(i.image).toBe("ubuntu-24-04-x64");
      expect(i.tags).toEqual(expect.arrayContaining([cluster]));
      expect(i.userData).toMatch(/^#cloud-config\n/);
      expect(d.parent).toBe(urnOf(cluster));
      // Changing these would replace (rebuild) every node at once; they apply to new nodes only.
      expect(d.ignoreChanges.sort()).toEqual(["image", "sshKeys", "userData"]);
    }
    const managerNames = droplets.filter((d) => /-manager-\d+$/.test(d.name)).map((d) => d.name);
    expect(managerNames.sort()).toEqual(
      Array.from({ length: managers }, (_, i) => `${cluster}-manager-${i}`),
    );
  });

  test("reserved IP is created on manager-0, by the ReservedIp itself (no assignment resource)", () => {
    const ip = rec.byName(`${cluster}-reserved-ip`);
    expect(inputs(ip)).toEqual({
      region,
      dropletId: Number(rec.state(`${cluster}-manager-0`).id),
    });
    expect(ip.parent).toBe(urnOf(cluster));
    // No failover agent here: the IP follows manager-0 (a replaced one gets it back).
    expect(ip.ignoreChanges).toEqual([]);
    expect(rec.ofType("digitalocean:index/reservedIpAssignment:ReservedIpAssignment")).toEqual([]);
  });

  test("swarm init on manager-0, advertising its private address, tokens secret", () => {
    const init = rec.byName(`${cluster}-swarm-init`);
    const m0 = rec.state(`${cluster}-manager-0`);
    const i = inputs(init) as {
      create: string;
      connection: Record<string, unknown>;
      logging: string;
    };
    expect(i.connection.host).toBe(m0.ipv4Address);
    expect(i.connection.user).toBe("root");
    expect(
      isSecret((init.rawInputs.connection as Record<string, unknown>).privateKey) ||
        isSecret(init.rawInputs.connection),
    ).toBe(true);
    expect(i.create).toContain(`bash "$f" '${m0.ipv4AddressPrivate}' '10.200.0.0/16'`);
    expect(i.logging).toBe("stderr");
    expect(init.additionalSecretOutputs).toContain("stdout");
    expect(init.dependencies).toContain(urnOf(`${cluster}-manager-0-ready`));
  });

  test("init gets the SSH key on stdin only, secret: a replaced manager-0 fetches a token with it", () => {
    const init = rec.byName(`${cluster}-swarm-init`);
    expect(isSecret(init.rawInputs.stdin)).toBe(true);
    expect(cmd(init.name).stdin).toBe(TEST_PRIVATE_KEY.replace(/\n*$/, "\n"));
    // stderr is logged (scripts mask tokens) and kept secret in the state all the same.
    expect(init.additionalSecretOutputs).toEqual(
      expect.arrayContaining(["stdout", "stderr", "stdin"]),
    );
    // Nor do the previous tokens travel again as an environment variable on a re-run.
    expect(inputs(init).addPreviousOutputInEnv).toBe(false);
    expect(cmd(init.name).create).not.toContain(KEY_MATERIAL);
    // The peers it may join instead of initialising: every other manager's private address.
    const peers = Array.from(
      { length: managers - 1 },
      (_, m) => `'${rec.state(`${cluster}-manager-${m + 1}`).ipv4AddressPrivate}'`,
    );
    expect(
      cmd(init.name).create.endsWith(`'10.200.0.0/16'${peers.map((p) => " " + p).join("")}`),
    ).toBe(true);
  });

  test("the swarm's IDs are read by a command of their own on manager-0, after init", () => {
    const id = rec.byName(`${cluster}-swarm-id`);
    const m0 = rec.state(`${cluster}-manager-0`);
    expect((inputs(id) as { connection: { host: string } }).connection.host).toBe(m0.ipv4Address);
    expect(cmd(id.name).create).toContain("swarm-id: ");
    expect(id.dependencies).toContain(urnOf(`${cluster}-swarm-init`));
    expect(cmd(id.name).stdin).toBeUndefined();
  });

  test("manager joins are chained one at a time; worker joins depend on the swarm only", () => {
    const joins = children(cluster, COMMAND).filter((c) => c.name.endsWith("-join"));
    expect(joins).toHaveLength(managers - 1 + workers);
    for (let m = 1; m < managers; m++) {
      const join = rec.byName(`${cluster}-manager-${m}-join`);
      const previous = m === 1 ? `${cluster}-swarm-id` : `${cluster}-manager-${m - 1}-join`;
      expect(join.dependencies).toContain(urnOf(previous));
      expect(join.dependencies).toContain(urnOf(`${cluster}-manager-${m}-ready`));
      expect(cmd(join.name).create).toContain("bash \"$f\" 'manager'");
      // No token at all: the script fetches one with the key, which travels on secret stdin.
      expect(isSecret(join.rawInputs.stdin)).toBe(true);
      expect(cmd(join.name).stdin).toBe(TEST_PRIVATE_KEY.replace(/\n*$/, "\n"));
      // The swarm it joins heads the command: a swarm created anew makes it run again.
      expect(cmd(join.name).create.split("\n")[0]).toBe("# do-swarm: join swarm cluster");
      expect(join.additionalSecretOutputs).toEqual(expect.arrayContaining(["stderr", "stdin"]));
    }
    const workerJoins = joins.filter((j) => !j.name.includes("-manager-"));
    for (const join of workerJoins) {
      expect(join.dependencies).toContain(urnOf(`${cluster}-swarm-id`));
      expect(join.dependencies.some((d) => /-join$/.test(d))).toBe(false);
      expect(cmd(join.name).create).toContain("bash \"$f\" 'worker'");
      expect(isSecret(join.rawInputs.stdin)).toBe(true);
      expect(cmd(join.name).stdin).toBe(TEST_PRIVATE_KEY.replace(/\n*$/, "\n"));
      expect(join.additionalSecretOutputs).toEqual(expect.arrayContaining(["stderr", "stdin"]));
    }
  });

  test("every node is registered from a manager through the reserved IP, and removed the same way", () => {
    const registers = children(cluster, COMMAND).filter((c) => c.name.endsWith("-register"));
    expect(registers).toHaveLength(managers + workers);
    for (const r of registers) {
      const i = inputs(r) as { connection: { host: string }; create: string; delete: string };
      expect(i.connection.host).toBe("198.51.100.7");
      expect(r.dependencies).toContain(urnOf(`${cluster}-reserved-ip`));
      const node = r.name.replace(/-register$/, "");
      const nodeId = node.endsWith("manager-0") ? `node-${cluster}-swarm-id` : `node-${node}`;
      expect(i.create).toContain(`bash "$f" '${nodeId}'`);
      expect(i.delete).toContain(`bash "$f" '${nodeId}'`);
      expect(i.delete).toContain("node-remove");
      // The delete runs with the stdin stored with it: the key the node's leave needs.
      expect(isSecret(r.rawInputs.stdin)).toBe(true);
      expect(cmd(r.name).stdin).toBe(TEST_PRIVATE_KEY.replace(/\n*$/, "\n"));
      // A replaced droplet replaces its registration, the old one deleted first (its delete
      // removes the OLD node from the swarm): see bootstrap.ts.
      const droplet = rec.byName(node);
      expect(reveal(r.rawInputs.triggers)).toEqual([rec.state(node).id ?? expect.any(String)]);
      expect(r.replaceOnChanges).toContain("triggers[*]");
      expect(r.deleteBeforeReplace).toBe(true);
      expect(r.dependencies).toContain(droplet.urn);
      expect(r.additionalSecretOutputs).toEqual(expect.arrayContaining(["stderr", "stdin"]));
    }
  });

  test("the private key goes only to init, the joins and the registrations, and only on secret stdin", () => {
    const carriers: string[] = [];
    for (const c of children(cluster, COMMAND)) {
      const { create, delete: del, stdin } = cmd(c.name);
      expect(`${create}${del ?? ""}`).not.toContain(KEY_MATERIAL);
      if (stdin?.includes(KEY_MATERIAL)) {
        expect(isSecret(c.rawInputs.stdin)).toBe(true);
        carriers.push(c.name);
      }
    }
    const registers = children(cluster, COMMAND)
      .map((c) => c.name)
      .filter((n) => n.endsWith("-register"));
    const joins = children(cluster, COMMAND)
      .map((c) => c.name)
      .filter((n) => n.endsWith("-join"));
    expect(carriers.sort()).toEqual([`${cluster}-swarm-init`, ...joins, ...registers].sort());
  });

  test("no command sends a join token anywhere but stdin", () => {
    for (const c of children(cluster, COMMAND)) {
      const { create, delete: del } = cmd(c.name);
      expect(`${create}${del ?? ""}`).not.toMatch(/SWMTKN-1-(manager|worker)-secret/);
    }
  });

  test("all children are parented to the component", () => {
    const mine = rec.resources.filter(
      (r) => r.name.startsWith(`${cluster}-`) && r.type !== "do-swarm:index:SwarmCluster",
    );
    expect(mine.length).toBeGreaterThan(0);
    for (const r of mine) expect(r.parent).toBe(urnOf(cluster));
  });
});

describe("firewall", () => {
  const rules = (cluster: string) =>
    inputs(rec.byName(`${cluster}-firewall`)) as {
      tags: string[];
      inboundRules: Record<string, unknown>[];
      outboundRules: Record<string, unknown>[];
    };

  test("exact inbound rule set for std (ports de-duplicated and sorted)", () => {
    expect(rules("std").tags).toEqual(["std"]);
    expect(rules("std").inboundRules).toEqual([
      {
        protocol: "tcp",
        portRange: "22",
        sourceAddresses: ["203.0.113.0/24"],
        sourceTags: ["std"],
      },
      { protocol: "tcp", portRange: "2377", sourceTags: ["std"] },
      { protocol: "tcp", portRange: "7946", sourceTags: ["std"] },
      { protocol: "udp", portRange: "7946", sourceTags: ["std"] },
      { protocol: "udp", portRange: "4789", sourceTags: ["std"] },
      { protocol: "icmp", sourceAddresses: ["0.0.0.0/0", "::/0"] },
      { protocol: "tcp", portRange: "80", sourceAddresses: ["0.0.0.0/0", "::/0"] },
      { protocol: "tcp", portRange: "443", sourceAddresses: ["0.0.0.0/0", "::/0"] },
    ]);
  });

  test.each(["solo", "std", "big"])(
    "%s: no swarm or Docker API port is reachable from the internet",
    (cluster) => {
      for (const r of rules(cluster).inboundRules) {
        const open = ((r.sourceAddresses as string[] | undefined) ?? []).some((a) =>
          a.endsWith("/0"),
        );
        if (open && r.portRange)
          expect(["2375", "2376", "2377", "7946", "4789", "22"]).not.toContain(r.portRange);
      }
    },
  );

  test("outbound is open", () => {
    expect(rules("solo").outboundRules).toEqual([
      { protocol: "tcp", portRange: "1-65535", destinationAddresses: ["0.0.0.0/0", "::/0"] },
      { protocol: "udp", portRange: "1-65535", destinationAddresses: ["0.0.0.0/0", "::/0"] },
      { protocol: "icmp", destinationAddresses: ["0.0.0.0/0", "::/0"] },
    ]);
  });
});

describe("big cluster specifics", () => {
  test("pools get their sizes, labels, tags and resizeDisk", () => {
    const db = inputs(rec.byName("big-db-0"));
    expect(db.size).toBe("c-2");
    expect(db.resizeDisk).toBe(true);
    expect(db.tags).toEqual(["big", "big-worker", "big-pool-db", "big:db:true"]);
    const web = inputs(rec.byName("big-web-2"));
    expect(web.size).toBe("s-1vcpu-1gb");
    expect(web.resizeDisk).toBe(false);
    expect(inputs(rec.byName("big-manager-4")).size).toBe("s-2vcpu-4gb");
    expect(cmd("big-db-0-register").create).toContain("'db=true' 'do-swarm.pool=db'");
    expect(cmd("big-web-1-register").create).toContain("'do-swarm.pool=web' 'tier=web'");
  });

  test("each tag exists once as a resource, and droplets wait for theirs", () => {
    const tags = children("big", "digitalocean:index/tag:Tag").map((t) => inputs(t).name);
    expect(tags.sort()).toEqual(
      [
        "big",
        "big-manager",
        "big-worker",
        "big-pool-manager",
        "big-pool-web",
        "big-pool-db",
        "big:tier:web",
        "big:db:true",
      ].sort(),
    );
    expect(rec.byName("big-db-0").dependencies).toContain(urnOf("big-tag-big:db:true"));
  });

  test("manager registrations are chained so scale-downs demote one manager at a time", () => {
    for (let m = 1; m < 5; m++) {
      expect(rec.byName(`big-manager-${m}-register`).dependencies).toContain(
        urnOf(`big-manager-${m - 1}-register`),
      );
    }
    expect(rec.byName("big-web-0-register").dependencies.some((d) => d.includes("register"))).toBe(
      false,
    );
  });

  test("ssh key and VPC", () => {
    expect(inputs(rec.byName("big-ssh-key")).publicKey).toBe(TEST_PUBLIC_KEY);
    expect(inputs(rec.byName("big-vpc"))).toMatchObject({
      name: "big-vpc",
      region: "nyc3",
      ipRange: "10.110.0.0/20",
    });
    expect(inputs(rec.byName("big-manager-0")).sshKeys).toEqual(["aa:bb:cc"]);
  });
});

describe("rolling resize hooks", () => {
  test("every droplet, and nothing else, carries the resize hooks", () => {
    for (const r of rec.resources) {
      if (r.type === DROPLET) {
        // Update hooks only: no onError and no delete hook, which the engine stores in the
        // state and runs on delete, where the program may not run (see maintenance.ts).
        expect(r.hookNames).toEqual({
          beforeUpdate: [`${r.name}-before-resize`],
          afterUpdate: [`${r.name}-after-resize`],
        });
      } else {
        expect(r.hookNames).toEqual({});
      }
    }
  });

  test("creation graph unchanged: no droplet depends on a command, so creation stays parallel", () => {
    const commands = new Set(rec.ofType(COMMAND).map((c) => c.urn));
    for (const d of rec.ofType(DROPLET))
      expect(d.dependencies.filter((u) => commands.has(u))).toEqual([]);
  });
});
