/**
 * The front door under Pulumi mocks: a cluster whose reserved IP follows a healthy manager
 * ("fo"), one behind a load balancer with https domains ("lb") and one with neither ("plain").
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

const COMMAND = "command:remote:Command";
const TOKEN = "dop_v1_failover-token-for-tests";
let rec: Recording;
let warnings: string[];
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- component instances, read by field
let clusters: Record<string, any>;

beforeAll(async () => {
  rec = await recordProgram(fakeCloud());
  const pulumi = await import("@pulumi/pulumi");
  warnings = [];
  jest.spyOn(pulumi.log, "warn").mockImplementation(async (m: string) => {
    warnings.push(m);
  });
  const { SwarmCluster } = await import("../components/swarm/swarmCluster");
  const common = {
    region: "fra1",
    sshPublicKey: TEST_PUBLIC_KEY,
    sshPrivateKey: pulumi.secret(TEST_PRIVATE_KEY),
    adminCidrs: ["203.0.113.0/24"],
    managers: { count: 3, size: "s-1vcpu-2gb" },
    workers: [{ name: "worker", count: 2, size: "s-1vcpu-1gb" }],
    publicPorts: [
      { port: 80, protocol: "tcp" as const },
      { port: 8000, protocol: "tcp" as const },
      { port: 5353, protocol: "udp" as const },
    ],
  };
  clusters = {
    fo: new SwarmCluster("fo", {
      ...common,
      failover: { token: pulumi.secret(TOKEN), apiUrl: "http://10.77.0.1:8089" },
      domains: [{ name: "app.example.com", zone: "example.com", https: false }],
    }),
    lb: new SwarmCluster("lb", {
      ...common,
      entryPoint: "loadBalancer",
      loadBalancer: { httpPort: 80, healthCheckPath: "/healthz", sizeUnit: 2 },
      domains: [
        { name: "shop.example.com", zone: "example.com", https: true },
        { name: "example.org", zone: "example.org", https: true },
        { name: "plain.example.com", zone: "example.com", https: true },
      ],
    }),
    // https and plain domains mixed (validation refuses it; the component must not lie either).
    mix: new SwarmCluster("mix", {
      ...common,
      workers: [],
      entryPoint: "loadBalancer",
      domains: [
        { name: "a.example.org", zone: "example.org", https: true },
        { name: "b.example.org", zone: "example.org", https: false },
      ],
    }),
    plain: new SwarmCluster("plain", { ...common, workers: [] }),
  };
  await rec.settled();
});

const inputs = (r: Recorded) => reveal(r.rawInputs) as Record<string, unknown>;
const urnOf = (name: string) => rec.byName(name).urn;
const idOf = (name: string) => rec.state(name).id as string;
const value = <T>(o: { apply: (f: (v: T) => void) => unknown }) =>
  new Promise<T>((resolve) => o.apply(resolve));

describe("nothing pulls the reserved IP back after a failover", () => {
  test("no ReservedIpAssignment anywhere; the IP is created on manager-0", () => {
    expect(rec.ofType("digitalocean:index/reservedIpAssignment:ReservedIpAssignment")).toEqual([]);
    for (const c of ["fo", "lb", "plain"]) {
      const ip = rec.byName(`${c}-reserved-ip`);
      expect(inputs(ip)).toEqual({ region: "fra1", dropletId: Number(idOf(`${c}-manager-0`)) });
      expect(ip.dependencies).toContain(urnOf(`${c}-manager-0`));
    }
  });

  test("with the agent, the program's dropletId counts only at creation", () => {
    // A refresh records where the agent put the IP; an up then sees no diff on dropletId.
    expect(rec.byName("fo-reserved-ip").ignoreChanges).toEqual(["dropletId"]);
    expect(rec.byName("fo-reserved-ip").replaceOnChanges).toEqual([]);
    // Without it, the IP follows manager-0 (a replaced manager-0 gets it on its new droplet).
    expect(rec.byName("plain-reserved-ip").ignoreChanges).toEqual([]);
  });

  test("no resource but the ReservedIp names the reserved IP's droplet", () => {
    for (const r of rec.resources.filter((x) => x.name.startsWith("fo-"))) {
      if (r.name === "fo-reserved-ip") continue;
      expect(Object.keys(r.rawInputs)).not.toContain("dropletId");
    }
  });
});

describe("failover agent", () => {
  const agents = () => rec.ofType(COMMAND).filter((c) => c.name.endsWith("-failover-agent"));

  test("one on every manager of the cluster with a token, none on workers or elsewhere", () => {
    expect(
      agents()
        .map((a) => a.name)
        .sort(),
    ).toEqual([
      "fo-manager-0-failover-agent",
      "fo-manager-1-failover-agent",
      "fo-manager-2-failover-agent",
    ]);
  });

  test.each([0, 1, 2])("manager-%i: installed over SSH to itself once it is in the swarm", (i) => {
    const a = rec.byName(`fo-manager-${i}-failover-agent`);
    const inp = inputs(a) as {
      connection: { host: string; user: string };
      create: string;
      delete?: string;
      update?: string;
      stdin: string;
      logging: string;
      addPreviousOutputInEnv: boolean;
    };
    expect(a.parent).toBe(urnOf("fo"));
    expect(inp.connection.host).toBe(rec.state(`fo-manager-${i}`).ipv4Address);
    expect(inp.connection.user).toBe("root");
    const conn = a.rawInputs.connection as Record<string, unknown>;
    expect(isSecret(conn) || isSecret(conn.privateKey)).toBe(true);
    expect(a.dependencies).toContain(urnOf(`fo-manager-${i}-register`));
    // The product's script, with the IP, the API it is told to use and the managers' tag.
    expect(inp.create).toContain("failover-agent[");
    expect(inp.create).toContain(
      `bash "$f" 'install' '198.51.100.7' 'http://10.77.0.1:8089' 'fo-manager' '1' '30' '3' '2377'`,
    );
    // Changes re-run the install in place: no triggers (they would replace), no delete step
    // (it would need a droplet that may be gone; the agent removes itself when its node leaves).
    expect(inp.delete).toBeUndefined();
    expect(inp.update).toBeUndefined();
    // (The SDK marks every Command's triggers replace-on-change; these have none.)
    expect(a.rawInputs.triggers).toBeUndefined();
    expect(inp.logging).toBe("stderr");
    expect(inp.addPreviousOutputInEnv).toBe(false);
  });

  test("the token travels only on secret stdin, never in a command line", () => {
    for (const a of agents()) {
      expect(isSecret(a.rawInputs.stdin)).toBe(true);
      expect(reveal(a.rawInputs.stdin)).toBe(`${TOKEN}\n`);
      expect(a.additionalSecretOutputs).toContain("stdin");
    }
    for (const r of rec.resources) {
      const { stdin: _stdin, ...rest } = reveal(r.rawInputs) as Record<string, unknown>;
      void _stdin;
      expect(JSON.stringify(rest)).not.toContain(TOKEN);
      if (!r.name.endsWith("-failover-agent"))
        expect(JSON.stringify(r.rawInputs)).not.toContain(TOKEN);
    }
  });

  test("the default API is DigitalOcean's", async () => {
    const { agentInstallArgs, DIGITALOCEAN_API_URL } =
      await import("../components/entryPoint/entryPointPlan");
    expect(DIGITALOCEAN_API_URL).toBe("https://api.digitalocean.com");
    expect(
      agentInstallArgs("1.2.3.4", DIGITALOCEAN_API_URL, "c-manager", { cooldownSeconds: 60 }),
    ).toEqual([
      "install",
      "1.2.3.4",
      "https://api.digitalocean.com",
      "c-manager",
      "1",
      "60",
      "3",
      "2377",
    ]);
  });

  test("without a token, one warning naming both ways out (and none with one or with a load balancer)", () => {
    const single = warnings.filter((w) => w.includes("enters through one droplet"));
    expect(single).toHaveLength(1);
    expect(single[0]).toContain("failoverToken");
    expect(single[0]).toContain("entryPoint loadBalancer");
  });
});

describe("load balancer entry point", () => {
  test("in the VPC, in front of every node by the cluster tag, sized, HTTPS redirect", () => {
    const lb = rec.byName("lb-lb");
    expect(lb.parent).toBe(urnOf("lb"));
    const i = inputs(lb);
    expect(i).toMatchObject({
      name: "lb-lb",
      region: "fra1",
      vpcUuid: idOf("lb-vpc"),
      dropletTag: "lb",
      sizeUnit: 2,
      redirectHttpToHttps: true,
      disableLetsEncryptDnsRecords: true,
    });
    expect(lb.dependencies).toContain(urnOf("lb-tag-lb"));
    expect(
      rec
        .ofType("digitalocean:index/loadBalancer:LoadBalancer")
        .map((r) => r.name)
        .sort(),
    ).toEqual(["lb-lb", "mix-lb"]);
  });

  test("with https and plain domains mixed, nothing is redirected: each answers at its URL", () => {
    // DigitalOcean's redirect applies to every host on port 80; it would send the plain one to a
    // certificate that does not cover it.
    expect(inputs(rec.byName("mix-lb")).redirectHttpToHttps).toBe(false);
    expect(inputs(rec.byName("mix-certificate")).domains).toEqual(["a.example.org"]);
    expect(clusters.mix.urls).toEqual(["https://a.example.org", "http://b.example.org"]);
  });

  test("the health check's port is admitted by the firewall from the load balancer", () => {
    const h = inputs(rec.byName("lb-lb")).healthcheck as { protocol: string; port: number };
    const fw = inputs(rec.byName("lb-firewall")).inboundRules as Record<string, unknown>[];
    expect(["http", "tcp"]).toContain(h.protocol);
    expect(fw).toContainEqual({
      protocol: "tcp",
      portRange: String(h.port),
      sourceLoadBalancerUids: [idOf("lb-lb")],
    });
  });

  test("a rule per published port; 443 ends TLS with the certificate, to the HTTP port", () => {
    const cert = inputs(rec.byName("lb-certificate"));
    expect(inputs(rec.byName("lb-lb")).forwardingRules).toEqual([
      { entryPort: 80, entryProtocol: "http", targetPort: 80, targetProtocol: "http" },
      {
        entryPort: 443,
        entryProtocol: "https",
        targetPort: 80,
        targetProtocol: "http",
        certificateName: cert.name,
      },
      { entryPort: 5353, entryProtocol: "udp", targetPort: 5353, targetProtocol: "udp" },
      { entryPort: 8000, entryProtocol: "tcp", targetPort: 8000, targetProtocol: "tcp" },
    ]);
    expect(inputs(rec.byName("lb-lb")).healthcheck).toEqual({
      protocol: "http",
      port: 80,
      path: "/healthz",
      checkIntervalSeconds: 10,
      responseTimeoutSeconds: 5,
      unhealthyThreshold: 3,
      healthyThreshold: 3,
    });
  });

  test("a Let's Encrypt certificate for the https names only, replaced create-first under a new name", () => {
    const cert = rec.byName("lb-certificate");
    const i = inputs(cert);
    expect(i.type).toBe("lets_encrypt");
    expect(i.domains).toEqual(["shop.example.com", "example.org", "plain.example.com"]);
    expect(i.name).toMatch(/^lb-[0-9a-f]{12}$/);
    expect(cert.parent).toBe(urnOf("lb"));
    // The load balancer names it (a renewal changes its id, never its name).
    expect(rec.byName("lb-lb").dependencies).toContain(cert.urn);
  });

  test("the firewall admits published ports only from the load balancer; SSH and swarm unchanged", () => {
    const fw = inputs(rec.byName("lb-firewall")) as {
      inboundRules: {
        protocol: string;
        portRange?: string;
        sourceAddresses?: string[];
        sourceTags?: string[];
        sourceLoadBalancerUids?: string[];
      }[];
    };
    const lbId = idOf("lb-lb");
    const published = fw.inboundRules.filter((r) =>
      ["80", "8000", "5353"].includes(r.portRange ?? ""),
    );
    expect(published).toEqual([
      { protocol: "tcp", portRange: "80", sourceLoadBalancerUids: [lbId] },
      { protocol: "udp", portRange: "5353", sourceLoadBalancerUids: [lbId] },
      { protocol: "tcp", portRange: "8000", sourceLoadBalancerUids: [lbId] },
    ]);
    for (const r of fw.inboundRules.filter((x) => x.protocol !== "icmp")) {
      expect(r.sourceAddresses ?? []).not.toContain("0.0.0.0/0");
      expect(r.sourceAddresses ?? []).not.toContain("::/0");
    }
    expect(fw.inboundRules[0]).toEqual({
      protocol: "tcp",
      portRange: "22",
      sourceAddresses: ["203.0.113.0/24"],
      sourceTags: ["lb"],
    });
    expect(rec.byName("lb-firewall").dependencies).toContain(urnOf("lb-lb"));
    // In reserved-IP mode the same ports are open to the internet, as before.
    const plain = inputs(rec.byName("plain-firewall")) as typeof fw;
    expect(plain.inboundRules.find((r) => r.portRange === "8000")).toEqual({
      protocol: "tcp",
      portRange: "8000",
      sourceAddresses: ["0.0.0.0/0", "::/0"],
    });
  });

  test("its price is in the estimate: droplets plus 12 USD per load balancer node", async () => {
    // 3 x s-1vcpu-2gb (12) + 2 x s-1vcpu-1gb (6) = 48; + 2 nodes x 12.
    expect(await value(clusters.lb.estimatedMonthlyCostUsd)).toBe(48 + 24);
    expect(await value(clusters.fo.estimatedMonthlyCostUsd)).toBe(48);
  });

  test("no load balancer, certificate or DNS record where none is configured", () => {
    expect(
      rec.resources.filter(
        (r) => r.name.startsWith("plain-") && /-lb$|-certificate$|-dns-/.test(r.name),
      ),
    ).toEqual([]);
    expect(
      rec.resources.filter((r) => r.name.startsWith("fo-") && /-lb$|-certificate$/.test(r.name)),
    ).toEqual([]);
  });
});

describe("domains", () => {
  test("an A record per domain in its zone, to the entry point visitors use, short TTL", () => {
    const records = rec
      .ofType("digitalocean:index/dnsRecord:DnsRecord")
      .filter((r) => !r.name.startsWith("mix-"))
      .map((r) => ({ logical: r.name, parent: r.parent, ...inputs(r) }))
      .sort((a, b) => a.logical.localeCompare(b.logical));
    expect(records).toEqual([
      {
        logical: "fo-dns-app.example.com",
        parent: urnOf("fo"),
        domain: "example.com",
        type: "A",
        name: "app",
        value: "198.51.100.7",
        ttl: 60,
      },
      {
        logical: "lb-dns-example.org",
        parent: urnOf("lb"),
        domain: "example.org",
        type: "A",
        name: "@",
        value: "192.0.2.80",
        ttl: 60,
      },
      {
        logical: "lb-dns-plain.example.com",
        parent: urnOf("lb"),
        domain: "example.com",
        type: "A",
        name: "plain",
        value: "192.0.2.80",
        ttl: 60,
      },
      {
        logical: "lb-dns-shop.example.com",
        parent: urnOf("lb"),
        domain: "example.com",
        type: "A",
        name: "shop",
        value: "192.0.2.80",
        ttl: 60,
      },
    ]);
  });

  test("urls, and the entry point address", async () => {
    expect(clusters.fo.urls).toEqual(["http://app.example.com"]);
    expect(clusters.lb.urls).toEqual([
      "https://shop.example.com",
      "https://example.org",
      "https://plain.example.com",
    ]);
    expect(await value(clusters.lb.entryAddress)).toBe("192.0.2.80");
    expect(await value(clusters.fo.entryAddress)).toBe("198.51.100.7");
    // The admin path stays the reserved IP in both modes.
    expect(await value(clusters.lb.reservedIp)).toBe("198.51.100.7");
  });
});
