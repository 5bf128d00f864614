import {
  cidrsOverlap,
  ConfigError,
  DEFAULTS,
  RawConfig,
  validateConfig,
} from "../components/swarm/config";
import { TEST_PRIVATE_KEY, TEST_PUBLIC_KEY } from "./harness";

const valid: RawConfig = { sshPublicKey: TEST_PUBLIC_KEY, sshPrivateKey: TEST_PRIVATE_KEY };

/** The problems validateConfig reports for `raw`, or [] when it accepts it. */
function problems(raw: RawConfig): string[] {
  try {
    validateConfig(raw);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems;
  }
}

describe("validateConfig", () => {
  test("applies every default", () => {
    const cfg = validateConfig(valid);
    expect(cfg).toEqual({
      region: "fra1",
      managers: { count: 3, size: "s-1vcpu-2gb", resizeDisk: false },
      workers: [{ name: "worker", count: 2, size: "s-1vcpu-1gb", labels: {}, resizeDisk: false }],
      image: "ubuntu-24-04-x64",
      dockerVersion: "28.5",
      sshPublicKey: TEST_PUBLIC_KEY,
      adminCidrs: ["0.0.0.0/0", "::/0"],
      vpcIpRange: "10.110.0.0/20",
      overlayAddressPool: "10.200.0.0/16",
      entryPoint: "reservedIp",
      loadBalancer: { httpPort: 80, healthCheckPath: "/", sizeUnit: 1 },
      domains: [],
      volumeDevicePrefix: "/dev/disk/by-id/scsi-0DO_Volume_",
      stacks: [],
      edge: { routes: [], image: "caddy:2.11.4-alpine" },
    });
    expect(cfg.region).toBe(DEFAULTS.region);
  });

  test.each([1, 3, 5, 7])("accepts %i managers", (count) => {
    expect(problems({ ...valid, managers: { count, size: "s-1vcpu-2gb" } })).toEqual([]);
  });

  test.each([0, 2, 4, 6, 8, 9, -1, 1.5, "3"])("refuses %p managers, explaining quorum", (count) => {
    const p = problems({ ...valid, managers: { count, size: "s-1vcpu-2gb" } });
    expect(p).toHaveLength(1);
    expect(p[0]).toContain(`do-swarm:managers.count = ${JSON.stringify(count)}`);
    expect(p[0]).toContain("tolerates (n-1)/2 lost managers (1:0, 3:1, 5:2, 7:3)");
  });

  test("reports every problem at once, each naming key, value and fix", () => {
    const p = problems({
      region: "Frankfurt",
      managers: { count: 2, size: "big" },
      workers: [
        { name: "Web", count: -1, size: "s-1vcpu-1gb" },
        { name: "db", count: 1, size: "s-1vcpu-1gb", labels: { "do-swarm.x": "1", ok: "a b" } },
        { name: "db", count: 1, size: "s-1vcpu-1gb" },
      ],
      image: "Ubuntu 24",
      dockerVersion: "latest",
      sshPublicKey: "not a key",
      sshPrivateKey: "hunter2",
      adminCidrs: ["10.0.0.0/33", "me"],
      vpcIpRange: "10.200.0.0/20",
      overlayAddressPool: "10.200.0.0/16",
      stacks: [
        { name: "Web", file: "" },
        {
          name: "x",
          file: "a.yml",
          replicas: { web: -2 },
          update: { order: "sideways", speed: 1 },
        },
      ],
    });
    const expected = [
      'do-swarm:region = "Frankfurt": use a DigitalOcean region slug',
      "do-swarm:managers.count = 2: use 1, 3, 5 or 7",
      'do-swarm:managers.size = "big": use a droplet size slug',
      'do-swarm:workers[0].name = "Web": use a lowercase DNS label',
      "do-swarm:workers[0].count = -1: use a whole number of workers",
      'do-swarm:workers[1].labels = "do-swarm.x": label keys use',
      'do-swarm:workers[1].labels.ok = "a b": label values are strings',
      'do-swarm:workers[2].name = "db": pool names must be unique',
      'do-swarm:image = "Ubuntu 24": use a DigitalOcean image slug',
      'do-swarm:dockerVersion = "latest": use a Docker Engine version',
      'do-swarm:sshPublicKey = "not a key": set it to one OpenSSH public key line',
      "do-swarm:sshPrivateKey is not a PEM/OpenSSH private key",
      'do-swarm:adminCidrs[0] = "10.0.0.0/33": use a CIDR',
      'do-swarm:adminCidrs[1] = "me": use a CIDR',
      'do-swarm:overlayAddressPool = "10.200.0.0/16": it overlaps vpcIpRange 10.200.0.0/20',
      'do-swarm:stacks[0].name = "Web": use a lowercase DNS label',
      'do-swarm:stacks[0].file = "": give the compose file',
      'do-swarm:stacks[1].file = "a.yml": no such compose file (looked for',
      "do-swarm:stacks[1].replicas.web = -2: use a whole number of replicas",
      "do-swarm:stacks[1].update.speed = 1: unknown setting",
      'do-swarm:stacks[1].update.order = "sideways": use start-first or stop-first',
    ];
    expect(p).toHaveLength(expected.length);
    expected.forEach((e, i) => expect(p[i]).toContain(e));
  });

  test("never prints the private key", () => {
    const secret = "-----BEGIN NOT A KEY----- s3cr3t";
    const p = problems({ ...valid, sshPrivateKey: secret });
    expect(p.join("\n")).not.toContain("s3cr3t");
    expect(problems({ sshPublicKey: TEST_PUBLIC_KEY })[0]).toContain(
      "do-swarm:sshPrivateKey is not set",
    );
  });

  test("registry is a registry name", () => {
    expect(validateConfig({ ...valid, registry: "my-reg" }).registry).toBe("my-reg");
    expect(problems({ ...valid, registry: "registry.digitalocean.com/my-reg" })[0]).toContain(
      'do-swarm:registry = "registry.digitalocean.com/my-reg": use the name of your DigitalOcean Container Registry',
    );
  });

  test("refuses the pool names the program uses itself", () => {
    expect(
      problems({ ...valid, workers: [{ name: "manager", count: 1, size: "s-1vcpu-1gb" }] })[0],
    ).toContain("other than 'manager'");
  });

  test("accepts zero workers and an empty pool list", () => {
    expect(problems({ ...valid, workers: [] })).toEqual([]);
    expect(
      problems({ ...valid, workers: [{ name: "spare", count: 0, size: "s-1vcpu-1gb" }] }),
    ).toEqual([]);
  });

  test("wrong shapes are reported, not crashed on", () => {
    const p = problems({
      ...valid,
      managers: 3,
      workers: { name: "w" },
      adminCidrs: "0.0.0.0/0",
      stacks: "web",
    });
    expect(p.map((x) => x.split(" = ")[0])).toEqual([
      "do-swarm:managers",
      "do-swarm:workers",
      "do-swarm:adminCidrs",
      "do-swarm:stacks",
    ]);
  });
});

test("a stack's file may be a list of compose files merged in order: each must exist, none empty", () => {
  const base = "stacks/web/stack.yml";
  expect(problems({ ...valid, stacks: [{ name: "web", file: [base, base] }] })).toEqual([]);
  expect(
    validateConfig({ ...valid, stacks: [{ name: "web", file: [base, base] }] }).stacks[0].file,
  ).toEqual([base, base]);
  const p = problems({
    ...valid,
    stacks: [
      { name: "a", file: [] },
      { name: "b", file: [base, 3] },
      { name: "c", file: [base, "stacks/web/missing.yml"] },
      { name: "d", file: "stacks/web" },
    ],
  });
  expect(p).toEqual([
    expect.stringContaining("do-swarm:stacks[0].file = []: give the compose file's path"),
    expect.stringContaining('do-swarm:stacks[1].file = ["stacks/web/stack.yml",3]: give the'),
    expect.stringMatching(
      /^do-swarm:stacks\[2\]\.file\[1\] = "stacks\/web\/missing\.yml": no such compose file \(looked for \/.*\/stacks\/web\/missing\.yml\)/,
    ),
    expect.stringContaining('do-swarm:stacks[3].file = "stacks/web": no such compose file'),
  ]);
});

test("cidrsOverlap", () => {
  expect(cidrsOverlap("10.110.0.0/20", "10.200.0.0/16")).toBe(false);
  expect(cidrsOverlap("10.0.0.0/8", "10.200.0.0/16")).toBe(true);
  expect(cidrsOverlap("10.200.15.0/24", "10.200.0.0/20")).toBe(true);
  expect(cidrsOverlap("10.200.16.0/24", "10.200.0.0/20")).toBe(false);
});
