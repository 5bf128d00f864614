/** index.ts reads the front door's config once and refuses bad values before creating anything. */
import {
  fakeCloud,
  indexError as run,
  recordProgram,
  Recording,
  TEST_KEYS as keys,
} from "./harness";

let rec: Recording;
beforeAll(async () => {
  rec = await recordProgram(fakeCloud());
});

test("every front-door problem at once, with the others, and nothing is created", async () => {
  const message = run({
    ...keys,
    "do-swarm:entryPoint": "loadBalancer",
    "do-swarm:stacks": JSON.stringify([]),
    "do-swarm:loadBalancer": JSON.stringify({ httpPort: 8080 }),
    "do-swarm:domains": JSON.stringify([
      { name: "app.example.com", zone: "example.org", https: true },
      { name: "www.example.com", zone: "example.com", https: true },
      { name: "www.example.com", zone: "example.com" },
    ]),
    "do-swarm:region": "Frankfurt",
  });
  const expected = [
    'do-swarm:region = "Frankfurt"',
    'do-swarm:domains[0].name = "app.example.com": it is not inside its zone "example.org"',
    'do-swarm:domains[2].name = "www.example.com": it is listed twice',
  ];
  for (const e of expected) expect(message).toContain(e);
  await rec.settled();
  expect(rec.resources).toEqual([]);
});

test("a load balancer with nothing to forward, and https without the HTTP port, are refused", async () => {
  const message = run({
    ...keys,
    "do-swarm:entryPoint": "loadBalancer",
    "do-swarm:stacks": JSON.stringify([]),
  });
  expect(message).toContain(
    'do-swarm:entryPoint = "loadBalancer": no stack publishes a port, so the load balancer would have nothing to forward',
  );
  const https = run({
    ...keys,
    "do-swarm:entryPoint": "loadBalancer",
    "do-swarm:loadBalancer": JSON.stringify({ httpPort: 8080 }),
    "do-swarm:domains": JSON.stringify([
      { name: "app.example.com", zone: "example.com", https: true },
    ]),
    "do-swarm:stacks": JSON.stringify([{ name: "web", file: "stacks/web/stack.yml" }]),
  });
  expect(https).toContain(
    "do-swarm:loadBalancer.httpPort = 8080: https domains (app.example.com) need the published port that serves HTTP",
  );
  await rec.settled();
  expect(rec.resources).toEqual([]);
});

test("a load balancer in front of stacks that publish only UDP is refused (nothing to health-check)", async () => {
  const message = run({
    ...keys,
    "do-swarm:entryPoint": "loadBalancer",
    "do-swarm:stacks": JSON.stringify([
      { name: "dns", file: "tests/fixtures/entry-point/udp-only.yml" },
    ]),
  });
  expect(message).toContain(
    'do-swarm:entryPoint = "loadBalancer": the stacks publish only UDP (53/udp (stack dns, service dns)), ' +
      "but DigitalOcean's load balancer health-checks a node over TCP, HTTP or HTTPS only",
  );
  await rec.settled();
  expect(rec.resources).toEqual([]);
});

test("https at the reserved IP without an edge route and a malformed token are refused; the token is never shown", () => {
  const message = run({
    ...keys,
    "do-swarm:failoverToken": "not one token",
    "do-swarm:domains": JSON.stringify([
      { name: "app.example.com", zone: "example.com", https: true },
    ]),
    "do-swarm:stacks": JSON.stringify([]),
  });
  expect(message).toContain(
    "do-swarm:domains[0].https = true: at the reserved IP, HTTPS is served by the edge: route this name in do-swarm:edge.routes",
  );
  expect(message).toContain("do-swarm:failoverToken is not a DigitalOcean API token");
  expect(message).not.toContain("not one token");
});
