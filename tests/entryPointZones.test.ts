/**
 * A zone missing from the account's DigitalOcean DNS stops the program before any droplet,
 * certificate, load balancer or DNS record: the lookup (checkZones) fails with the fix, and each
 * of them waits for it.
 */
import type * as pulumiType from "@pulumi/pulumi";
import { fakeCloud, recordProgram, Recording, TEST_PRIVATE_KEY, TEST_PUBLIC_KEY } from "./harness";

let rec: Recording;
let pulumi: typeof pulumiType;
let entry: typeof import("../components/entryPoint/entryPoint");

const settle = <T>(p: Promise<T>) => p;

beforeAll(async () => {
  rec = await recordProgram(fakeCloud());
  pulumi = await import("@pulumi/pulumi");
  jest.spyOn(pulumi.log, "warn").mockImplementation(async () => undefined);
  entry = await import("../components/entryPoint/entryPoint");
});

const dom = (name: string, zone: string) => ({ name, zone, https: false });

test("every droplet waits for the zone check", async () => {
  // Stand the check in by a resource, so the dependency is visible in the registrations.
  class Gate extends pulumi.CustomResource {
    constructor(name: string) {
      super("test:index:ZoneCheck", name, {});
    }
  }
  const gate = new Gate("zone-check");
  const spy = jest.spyOn(entry, "checkZones").mockReturnValue(Promise.resolve([gate]));
  const { SwarmCluster } = await import("../components/swarm/swarmCluster");
  new SwarmCluster("z", {
    region: "fra1",
    sshPublicKey: TEST_PUBLIC_KEY,
    sshPrivateKey: pulumi.secret(TEST_PRIVATE_KEY),
    managers: { count: 3, size: "s-1vcpu-2gb" },
    workers: [{ name: "worker", count: 1, size: "s-1vcpu-1gb" }],
    domains: [dom("app.example.com", "example.com")],
  });
  await rec.settled();
  expect(spy).toHaveBeenCalledWith([dom("app.example.com", "example.com")], expect.anything());
  const droplets = rec.ofType("digitalocean:index/droplet:Droplet");
  expect(droplets).toHaveLength(4);
  const gateUrn = rec.byName("zone-check").urn;
  for (const d of droplets) expect(d.dependencies).toContain(gateUrn);
  spy.mockRestore();
});

test("behind a load balancer the certificate, the load balancer and the DNS records wait for it too; one lookup", async () => {
  // A Let's Encrypt certificate started before the zone exists stays pending until the
  // provider's 10-minute create timeout: nothing that needs the zone may start before the check.
  class Gate extends pulumi.CustomResource {
    constructor(name: string) {
      super("test:index:ZoneCheck", name, {});
    }
  }
  const gate = new Gate("zone-check-lb");
  const spy = jest.spyOn(entry, "checkZones").mockReturnValue(Promise.resolve([gate]));
  const domains = [
    { name: "app.example.com", zone: "example.com", https: true },
    { name: "example.org", zone: "example.org", https: true },
  ];
  try {
    const { SwarmCluster } = await import("../components/swarm/swarmCluster");
    new SwarmCluster("zl", {
      region: "fra1",
      sshPublicKey: TEST_PUBLIC_KEY,
      sshPrivateKey: pulumi.secret(TEST_PRIVATE_KEY),
      managers: { count: 1, size: "s-1vcpu-2gb" },
      workers: [],
      entryPoint: "loadBalancer",
      publicPorts: [{ port: 80, protocol: "tcp" }],
      domains,
    });
    await rec.settled();
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy).toHaveBeenCalledWith(domains, expect.anything());
  } finally {
    spy.mockRestore(); // a failure here must not leave the stand-in for the tests below
  }
  const gateUrn = rec.byName("zone-check-lb").urn;
  const waiting = [
    "zl-certificate",
    "zl-lb",
    "zl-dns-app.example.com",
    "zl-dns-example.org",
    "zl-manager-0",
  ];
  for (const name of waiting) {
    expect([name, rec.byName(name).dependencies]).toEqual([
      name,
      expect.arrayContaining([gateUrn]),
    ]);
  }
  // The load balancer still waits for the cluster tag it targets; the firewall for it.
  expect(rec.byName("zl-lb").dependencies).toContain(rec.byName("zl-tag-zl").urn);
  expect(rec.byName("zl-firewall").dependencies).toContain(rec.byName("zl-lb").urn);
});

test("a missing zone fails the lookup, naming the zone and the fix, once per zone", async () => {
  const parent = new pulumi.ComponentResource("test:index:Parent", "p1");
  const err = await settle(
    entry.checkZones(
      [
        dom("app.example.com", "example.com"),
        dom("www.missing.net", "missing.net"),
        dom("api.missing.net", "missing.net"),
      ],
      parent,
    ),
  ).then(
    () => undefined,
    (e: Error) => e.message,
  );
  expect(err).toBe(
    "do-swarm configuration has 1 problem(s):\n" +
      '  - do-swarm:domains: zone "missing.net" is not in this account\'s DigitalOcean DNS: add it ' +
      "(doctl compute domain create missing.net, or Networking > Domains in the control panel) and " +
      "point the registrar's NS records at ns1.digitalocean.com, ns2.digitalocean.com and ns3.digitalocean.com",
  );
});

test("zones that exist pass; no domains, no lookup", async () => {
  const parent = new pulumi.ComponentResource("test:index:Parent", "p2");
  expect(
    await settle(
      entry.checkZones(
        [dom("example.org", "example.org"), dom("a.example.com", "example.com")],
        parent,
      ),
    ),
  ).toEqual([]);
  expect(await settle(entry.checkZones([], parent))).toEqual([]);
});
