import {
  certificateName,
  dnsRecords,
  forwardingRules,
  healthCheck,
  loadBalancerMonthlyCost,
  missingZones,
  urls,
} from "../components/entryPoint/entryPointPlan";

const settings = { httpPort: 80, healthCheckPath: "/", sizeUnit: 1 };
const tcp = (port: number) => ({ port, protocol: "tcp" as const });

describe("forwardingRules", () => {
  test("the HTTP port enters on 80 (and 443 with a certificate); others on themselves; distinct, sorted", () => {
    expect(
      forwardingRules({ ...settings, httpPort: 8080 }, [tcp(9000), tcp(8080), tcp(9000)], "c"),
    ).toEqual([
      { entryPort: 80, entryProtocol: "http", targetPort: 8080, targetProtocol: "http" },
      {
        entryPort: 443,
        entryProtocol: "https",
        targetPort: 8080,
        targetProtocol: "http",
        certificateName: "c",
      },
      { entryPort: 9000, entryProtocol: "tcp", targetPort: 9000, targetProtocol: "tcp" },
    ]);
  });

  test("no HTTP port published: everything as TCP/UDP, no HTTPS rule", () => {
    expect(forwardingRules(settings, [tcp(5432), { port: 53, protocol: "udp" }], "c")).toEqual([
      { entryPort: 53, entryProtocol: "udp", targetPort: 53, targetProtocol: "udp" },
      { entryPort: 5432, entryProtocol: "tcp", targetPort: 5432, targetProtocol: "tcp" },
    ]);
  });
});

describe("healthCheck", () => {
  test("HTTP on the HTTP port at the configured path", () => {
    expect(healthCheck({ ...settings, healthCheckPath: "/healthz" }, [tcp(80)])).toMatchObject({
      protocol: "http",
      port: 80,
      path: "/healthz",
    });
  });
  test("otherwise TCP on the lowest published TCP port", () => {
    const h = healthCheck(settings, [{ port: 53, protocol: "udp" }, tcp(9000), tcp(5432)]);
    expect(h).toMatchObject({ protocol: "tcp", port: 5432 });
    expect(h.path).toBeUndefined();
  });
});

test("price: 12 USD a month per load balancer node", () => {
  expect(loadBalancerMonthlyCost(1)).toBe(12);
  expect(loadBalancerMonthlyCost(3)).toBe(36);
});

test("certificate names: stable for a set of names, new for another", () => {
  expect(certificateName("c", ["a.example.com", "b.example.com"])).toBe(
    certificateName("c", ["b.example.com", "a.example.com"]),
  );
  expect(certificateName("c", ["a.example.com"])).not.toBe(
    certificateName("c", ["a.example.com", "b.example.com"]),
  );
  expect(certificateName("c", ["a.example.com"])).toMatch(/^c-[0-9a-f]{12}$/);
});

test("DNS records, URLs, missing zones", () => {
  const domains = [
    { name: "app.example.com", zone: "example.com", https: true },
    { name: "example.org", zone: "example.org", https: false },
  ];
  expect(dnsRecords(domains)).toEqual([
    { key: "app.example.com", zone: "example.com", name: "app", ttl: 60 },
    { key: "example.org", zone: "example.org", name: "@", ttl: 60 },
  ]);
  expect(urls(domains)).toEqual(["https://app.example.com", "http://example.org"]);
  expect(missingZones(domains, ["Example.com", "example.org"])).toEqual([]);
  expect(missingZones(domains, ["example.com"])).toEqual([
    expect.stringContaining(
      'do-swarm:domains: zone "example.org" is not in this account\'s DigitalOcean DNS',
    ),
  ]);
});
