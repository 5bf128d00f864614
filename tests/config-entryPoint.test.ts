import { ConfigError, RawConfig, validateConfig } from "../components/swarm/config";
import { checkEntryPointPorts, isFqdn, recordName } from "../components/entryPoint/config";
import { TEST_PRIVATE_KEY, TEST_PUBLIC_KEY } from "./harness";

const valid: RawConfig = { sshPublicKey: TEST_PUBLIC_KEY, sshPrivateKey: TEST_PRIVATE_KEY };

function problems(raw: RawConfig): string[] {
  try {
    validateConfig({ ...valid, ...raw });
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems;
  }
}

describe("entryPoint, loadBalancer, domains, failoverToken", () => {
  test("accepts both entry points, domains with defaults applied", () => {
    const cfg = validateConfig({
      ...valid,
      entryPoint: "loadBalancer",
      loadBalancer: { healthCheckPath: "/healthz" },
      domains: [
        { name: "app.example.com", zone: "example.com", https: false },
        { name: "example.com", zone: "example.com" },
      ],
    });
    expect(cfg.entryPoint).toBe("loadBalancer");
    expect(cfg.loadBalancer).toEqual({ httpPort: 80, healthCheckPath: "/healthz", sizeUnit: 1 });
    expect(cfg.domains).toEqual([
      { name: "app.example.com", zone: "example.com", https: false },
      { name: "example.com", zone: "example.com", https: false },
    ]);
    const https = [
      { name: "app.example.com", zone: "example.com", https: true },
      { name: "example.com", zone: "example.com", https: true },
    ];
    expect(
      validateConfig({ ...valid, entryPoint: "loadBalancer", domains: https }).domains,
    ).toEqual(https);
    expect(validateConfig({ ...valid, failoverToken: "dop_v1_abc" }).entryPoint).toBe("reservedIp");
  });

  test("reports every problem at once, each naming key, value and fix", () => {
    const p = problems({
      entryPoint: "floatingIp",
      loadBalancer: { healthCheckPath: "healthz", httpPort: 0, sizeUnit: 0, tls: true },
      domains: [
        { name: "App.Example.com", zone: "example.com" },
        { name: "app.other.org", zone: "example.com" },
        { name: "app.example.com.", zone: "example" },
        { name: "www.example.com", zone: "example.com", https: "yes" },
        { name: "www.example.com", zone: "example.com", ttl: 30 },
        "api.example.com",
      ],
    });
    const expected = [
      'do-swarm:entryPoint = "floatingIp": use "reservedIp"',
      "do-swarm:loadBalancer.tls = true: remove it: known keys are httpPort, healthCheckPath, sizeUnit",
      "do-swarm:loadBalancer.httpPort = 0: use the TCP port (1-65535)",
      'do-swarm:loadBalancer.healthCheckPath = "healthz": use an absolute URL path',
      "do-swarm:loadBalancer.sizeUnit = 0: use a whole number of load balancer nodes from 1 to 100",
      'do-swarm:domains[0].name = "App.Example.com": use a lowercase fully qualified name',
      'do-swarm:domains[1].name = "app.other.org": it is not inside its zone "example.com"',
      'do-swarm:domains[2].name = "app.example.com.": use a lowercase fully qualified name without a trailing dot',
      'do-swarm:domains[2].zone = "example": use the domain as DigitalOcean DNS lists it',
      'do-swarm:domains[3].https = "yes": use true or false',
      "do-swarm:domains[4].ttl = 30: remove it: known keys are name, zone, https",
      'do-swarm:domains[4].name = "www.example.com": it is listed twice',
      'do-swarm:domains[5] = "api.example.com": give { name: "app.example.com", zone: "example.com", https: false }',
    ];
    expect(p).toHaveLength(expected.length);
    expected.forEach((e, i) => expect(p[i]).toContain(e));
  });

  test("https at the reserved IP needs the edge to route the name", () => {
    const domains = [{ name: "app.example.com", zone: "example.com", https: true }];
    expect(problems({ domains })).toEqual([
      'do-swarm:domains[0].https = true: at the reserved IP, HTTPS is served by the edge: route this name in do-swarm:edge.routes; or set entryPoint to "loadBalancer" (TLS at the load balancer), or leave https false',
    ]);
    const edge = { routes: [{ host: "app.example.com", stack: "web", service: "web", port: 80 }] };
    expect(problems({ domains, edge })).toEqual([]);
  });

  test("behind a load balancer, https and plain domains do not mix (its redirect is for every host)", () => {
    const domains = [
      { name: "app.example.com", zone: "example.com", https: true },
      { name: "old.example.com", zone: "example.com" },
      { name: "example.org", zone: "example.org", https: true },
      { name: "www.example.org", zone: "example.org", https: false },
    ];
    const fix =
      "behind the load balancer, HTTP is redirected to HTTPS for every host (DigitalOcean redirects the whole load balancer) because other domains are https (app.example.com, example.org): " +
      "set https true on this one too (its name joins the load balancer's Let's Encrypt certificate), or false on every domain; or use entryPoint \"reservedIp\", where the edge redirects per host";
    expect(problems({ entryPoint: "loadBalancer", domains })).toEqual([
      `do-swarm:domains[1].https = false: ${fix}`,
      `do-swarm:domains[3].https = false: ${fix}`,
    ]);
    // At the reserved IP the edge redirects per host: a mix is fine there.
    const edge = {
      routes: ["app.example.com", "example.org"].map((host) => ({
        host,
        stack: "web",
        service: "web",
        port: 80,
      })),
    };
    expect(problems({ domains, edge })).toEqual([]);
  });

  test("domains and loadBalancer must have the right shape", () => {
    expect(problems({ domains: "app.example.com" })[0]).toContain(
      'do-swarm:domains = "app.example.com": give a list',
    );
    expect(problems({ loadBalancer: [] })[0]).toContain(
      "do-swarm:loadBalancer = []: give an object",
    );
  });

  test("failoverToken: its form is checked without showing it", () => {
    const p = problems({ failoverToken: "two words" });
    expect(p).toEqual([
      expect.stringContaining("do-swarm:failoverToken is not a DigitalOcean API token"),
    ]);
    expect(p[0]).not.toContain("two words");
    // With a load balancer, the reserved IP is still the admin entry (SSH, pulumi up): it may follow.
    expect(problems({ failoverToken: "dop_v1_x", entryPoint: "loadBalancer" })).toEqual([]);
  });
});

describe("checkEntryPointPorts", () => {
  const lb = (domains: { name: string; zone: string; https: boolean }[] = [], httpPort = 80) => ({
    entryPoint: "loadBalancer" as const,
    loadBalancer: { httpPort, healthCheckPath: "/", sizeUnit: 1 },
    domains,
  });
  const web = { port: 80, protocol: "tcp" as const, source: "stack web, service web" };

  test("the reserved IP needs no published port", () => {
    expect(checkEntryPointPorts({ ...lb(), entryPoint: "reservedIp" }, [])).toEqual([]);
  });

  test("a load balancer with nothing to forward is refused", () => {
    expect(checkEntryPointPorts(lb(), [])).toEqual([
      expect.stringContaining('do-swarm:entryPoint = "loadBalancer": no stack publishes a port'),
    ]);
  });

  test("UDP only is refused: DigitalOcean health-checks over TCP, HTTP or HTTPS only", () => {
    const dns = { port: 53, protocol: "udp" as const, source: "stack dns, service dns" };
    expect(checkEntryPointPorts(lb(), [dns, { ...dns, port: 5353 }, dns])).toEqual([
      'do-swarm:entryPoint = "loadBalancer": the stacks publish only UDP (53/udp (stack dns, service dns), 5353/udp (stack dns, service dns)), ' +
        "but DigitalOcean's load balancer health-checks a node over TCP, HTTP or HTTPS only, and a node that fails the check gets no traffic: " +
        "also publish a TCP port that answers when the service is up (it is checked by a TCP connect, or over HTTP if it is loadBalancer.httpPort), " +
        'or route a domain through do-swarm:edge (its port 80 is then checked), or use entryPoint "reservedIp"',
    ]);
    // Any TCP port (the edge's 80 among them) can be checked.
    expect(checkEntryPointPorts(lb(), [dns, web])).toEqual([]);
    expect(checkEntryPointPorts(lb(), [dns, { port: 5432, protocol: "tcp" }])).toEqual([]);
    expect(checkEntryPointPorts({ ...lb(), entryPoint: "reservedIp" }, [dns])).toEqual([]);
  });

  test("https needs the HTTP port published, and 80/443 free for the load balancer", () => {
    const https = [{ name: "app.example.com", zone: "example.com", https: true }];
    expect(checkEntryPointPorts(lb(https), [web])).toEqual([]);
    expect(checkEntryPointPorts(lb(https, 8080), [web, { port: 443, protocol: "tcp" }])).toEqual([
      expect.stringContaining(
        "do-swarm:loadBalancer.httpPort = 8080: https domains (app.example.com) need the published port that serves HTTP",
      ),
      expect.stringContaining("a stack publishes 443/tcp, but the load balancer ends TLS on 443"),
    ]);
    expect(checkEntryPointPorts(lb([], 8080), [web, { port: 8080, protocol: "tcp" }])).toEqual([
      expect.stringContaining(
        "stack web, service web publishes 80/tcp, but the load balancer enters HTTP on 80 for loadBalancer.httpPort 8080",
      ),
    ]);
  });
});

test("FQDNs and record names", () => {
  expect(isFqdn("app.example.com")).toBe(true);
  expect(isFqdn("example")).toBe(false);
  expect(isFqdn("-a.example.com")).toBe(false);
  expect(isFqdn("a_b.example.com")).toBe(false);
  expect(recordName({ name: "app.example.com", zone: "example.com" })).toBe("app");
  expect(recordName({ name: "a.b.example.com", zone: "example.com" })).toBe("a.b");
  expect(recordName({ name: "example.com", zone: "example.com" })).toBe("@");
});
