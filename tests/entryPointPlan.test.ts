import {
  certificateName,
  dnsRecords,
  forwardingRules,
  healthCheck,
  loadBalancerMonthlyCost,
  missingZones,
  redirectsHttpToHttps,
  urls,
} from "../components/entryPoint/entryPointPlan";
import { checkEntryPointPorts } from "../components/entryPoint/config";
import { inboundRules, PublicPort } from "../components/core/firewall";

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

  test("UDP only: no check is possible (DigitalOcean checks over TCP/HTTP/HTTPS), none is made up", () => {
    expect(() => healthCheck(settings, [{ port: 53, protocol: "udp" }])).toThrow(
      "the load balancer needs a published TCP port to health-check",
    );
  });

  // The firewall admits each published port from the load balancer with its own protocol only:
  // a check the firewall drops marks every node unhealthy. For every shape of published ports,
  // either the check's port and protocol are admitted from the load balancer, or validation
  // refuses the config (and no check is made).
  const udp = (port: number) => ({ port, protocol: "udp" as const });
  const EDGE = [tcp(80)]; // what the edge publishes behind a load balancer (components/edge)
  const cases: [string, number, PublicPort[]][] = [
    ["the HTTP port", 80, [tcp(80), tcp(9000)]],
    ["another HTTP port", 8080, [tcp(8080), udp(53)]],
    ["TCP only, no HTTP port", 80, [tcp(9000), tcp(5432)]],
    ["UDP below the lowest TCP port", 80, [udp(53), tcp(5432), udp(9999)]],
    ["the same port over UDP and TCP", 80, [udp(5000), tcp(5000)]],
    ["UDP only, with the edge", 80, [udp(53), ...EDGE]],
    ["UDP only", 80, [udp(53), udp(5353)]],
    ["UDP only, on the HTTP port", 80, [udp(80)]],
  ];
  test.each(cases)(
    "the health check is admitted by the firewall from the load balancer, or refused: %s",
    (_, httpPort, ports) => {
      const lb = { ...settings, httpPort };
      const refused = checkEntryPointPorts(
        { entryPoint: "loadBalancer", loadBalancer: lb, domains: [] },
        ports,
      );
      const fromLb = inboundRules({
        clusterTag: "c",
        adminCidrs: ["203.0.113.0/24"],
        publicPorts: ports,
        loadBalancerUid: "lb-uid",
      }).filter((r) => r.sourceLoadBalancerUids?.includes("lb-uid"));
      if (!ports.some((p) => p.protocol === "tcp")) {
        expect(refused).toEqual([
          expect.stringContaining(
            'do-swarm:entryPoint = "loadBalancer": the stacks publish only UDP',
          ),
        ]);
        expect(() => healthCheck(lb, ports)).toThrow();
        return;
      }
      expect(refused).toEqual([]);
      const h = healthCheck(lb, ports);
      // An HTTP check is a TCP connection too.
      expect(fromLb).toContainEqual({
        protocol: "tcp",
        portRange: String(h.port),
        sourceLoadBalancerUids: ["lb-uid"],
      });
    },
  );
});

describe("the load balancer's HTTP-to-HTTPS redirect (it applies to every host)", () => {
  const dom = (name: string, https: boolean) => ({ name, zone: "example.com", https });
  test("only when every domain is https", () => {
    expect(redirectsHttpToHttps([dom("a.example.com", true), dom("b.example.com", true)])).toBe(
      true,
    );
    expect(redirectsHttpToHttps([dom("a.example.com", true), dom("b.example.com", false)])).toBe(
      false,
    );
    expect(redirectsHttpToHttps([dom("a.example.com", false)])).toBe(false);
    expect(redirectsHttpToHttps([])).toBe(false);
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
