/**
 * The whole program (index.ts) under mocks with do-swarm:alerts in load-balancer mode: the
 * load balancer's own alerts (by its id), e-mail only, load set, and the cost with the load
 * balancer's.
 */
import { fakeCloud, recordProgram, Recording, reveal, TEST_KEYS } from "./harness";
import { SHOP } from "./fixtures/edge/cases";

let rec: Recording;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the program's exports, read by name
let program: any;

beforeAll(async () => {
  rec = await recordProgram(fakeCloud(), {
    ...TEST_KEYS,
    "do-swarm:entryPoint": "loadBalancer",
    "do-swarm:stacks": JSON.stringify([
      { name: "shop", file: "tests/fixtures/edge/shop.yml" },
      { name: "coins", file: "stacks/dockercoins/stack.yml" },
    ]),
    "do-swarm:domains": JSON.stringify([
      { name: "app.example.com", zone: "example.com", https: true },
      { name: "api.example.com", zone: "example.com", https: true },
    ]),
    "do-swarm:edge": JSON.stringify(SHOP.edge),
    "do-swarm:alerts": JSON.stringify({
      emails: ["ops@example.com"],
      thresholds: { load5: 2.5, lb5xxPercent: 2 },
    }),
  });
  program = await import("../index");
  await rec.settled();
});

test("the nodes' alerts by tag, load included, and the load balancer's by its id", () => {
  const lb = rec.byName("swarm-test-lb");
  const lbId = rec.state("swarm-test-lb").id;
  const monitors = rec.ofType("digitalocean:index/monitorAlert:MonitorAlert");
  const summary = monitors.map((m) => {
    const i = reveal(m.rawInputs) as Record<string, unknown>;
    return [m.name, i.type, i.compare, i.value, i.window, i.tags ?? i.entities];
  });
  expect(summary).toEqual([
    ["swarm-test-alert-cpu", "v1/insights/droplet/cpu", "GreaterThan", 90, "10m", ["swarm-test"]],
    [
      "swarm-test-alert-memory",
      "v1/insights/droplet/memory_utilization_percent",
      "GreaterThan",
      90,
      "10m",
      ["swarm-test"],
    ],
    [
      "swarm-test-alert-disk",
      "v1/insights/droplet/disk_utilization_percent",
      "GreaterThan",
      85,
      "5m",
      ["swarm-test"],
    ],
    [
      "swarm-test-alert-load5",
      "v1/insights/droplet/load_5",
      "GreaterThan",
      2.5,
      "10m",
      ["swarm-test"],
    ],
    [
      "swarm-test-alert-lb-5xx",
      "v1/insights/lbaas/increase_in_http_error_rate_percentage_5xx",
      "GreaterThan",
      2,
      "5m",
      [lbId],
    ],
    [
      "swarm-test-alert-lb-connections",
      "v1/insights/lbaas/connection_utilization_percent",
      "GreaterThan",
      80,
      "5m",
      [lbId],
    ],
  ]);
  for (const m of monitors) {
    expect(reveal(m.rawInputs.alerts)).toEqual({ emails: ["ops@example.com"] });
    // No Slack: nothing secret to hide in the outputs.
    expect(m.additionalSecretOutputs).toEqual([]);
  }
  for (const name of ["swarm-test-alert-lb-5xx", "swarm-test-alert-lb-connections"]) {
    expect(rec.byName(name).dependencies).toContain(lb.urn);
    expect(rec.byName(name).rawInputs.tags).toBeUndefined();
  }
});

test("the URLs' uptime checks, and the cost: nodes, load balancer, two checks", async () => {
  expect(rec.ofType("digitalocean:index/uptimeCheck:UptimeCheck").map((c) => c.name)).toEqual([
    "swarm-test-uptime-app.example.com",
    "swarm-test-uptime-api.example.com",
  ]);
  expect(rec.ofType("digitalocean:index/uptimeAlert:UptimeAlert")).toHaveLength(6);
  const cost = await new Promise<number>((r) => program.estimatedMonthlyCostUsd.apply(r));
  expect(cost).toBe(48 + 12 + 2);
});
