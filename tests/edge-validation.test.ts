/** index.ts refuses a bad edge before creating anything, with every problem in one error. */
import {
  fakeCloud,
  indexError as run,
  recordProgram,
  Recording,
  TEST_PRIVATE_KEY,
  TEST_PUBLIC_KEY,
} from "./harness";

let rec: Recording;
beforeAll(async () => {
  rec = await recordProgram(fakeCloud());
});

test("routes naming what does not exist, a foreign host, a wrong port, a taken port: all at once", async () => {
  const message = run({
    "do-swarm:sshPublicKey": TEST_PUBLIC_KEY,
    "do-swarm:sshPrivateKey": TEST_PRIVATE_KEY,
    "do-swarm:stacks": JSON.stringify([
      { name: "shop", file: "tests/fixtures/edge/shop.yml" },
      { name: "web", file: "stacks/web/stack.yml" },
    ]),
    "do-swarm:domains": JSON.stringify([
      { name: "app.example.com", zone: "example.com", https: true },
      { name: "www.example.com", zone: "example.com", https: true },
    ]),
    "do-swarm:edge": JSON.stringify({
      email: "ops@example.com",
      routes: [
        { host: "app.example.com", stack: "shop", service: "web", port: 3000 },
        { host: "app.example.com", stack: "shopp", service: "web", port: 3000, path: "/a" },
        { host: "app.example.com", stack: "shop", service: "db", port: 5432, path: "/b" },
        { host: "api.example.com", stack: "shop", service: "api", port: 8080 },
        { host: "app.example.com", stack: "shop", service: "api", port: 9999, path: "/api" },
        { host: "app.example.com", stack: "shop", service: "api", port: 8081, path: "/api" },
      ],
    }),
  });
  for (const part of [
    'do-swarm:edge.routes[5] = {"host":"app.example.com","path":"/api"}: this host and path are already routed by edge.routes[4]',
    'do-swarm:edge.routes[1].stack = "shopp": no such stack in do-swarm:stacks (shop, web)',
    'do-swarm:edge.routes[2].service = "db": stack shop (tests/fixtures/edge/shop.yml) has no such service (services: api, web, worker)',
    'do-swarm:edge.routes[3].host = "api.example.com": not one of do-swarm:domains (app.example.com)',
    "do-swarm:edge.routes[4].port = 9999: service api of tests/fixtures/edge/shop.yml listens on 8080, 8081",
    // www is https at the reserved IP but the edge does not route it (so it is not listed above).
    "do-swarm:domains[1].https = true: at the reserved IP, HTTPS is served by the edge: route this name in do-swarm:edge.routes",
    "stack web, service web publishes 80/tcp, which the edge publishes on the entry nodes",
  ]) {
    expect(message).toContain(part);
  }
  await rec.settled();
  expect(rec.resources).toEqual([]);
});
