/**
 * The whole program (index.ts) under mocks with do-swarm:alerts: a 3+2 cluster (the default
 * nodes) with two https domains served by the edge, alerting e-mail and a Slack channel whose
 * webhook URL is a secret config key. The exact alert resources, where they hang, what they
 * cost; a bad setting is refused with the others and creates nothing.
 */
import {
  fakeCloud,
  indexError,
  isSecret,
  recordProgram,
  Recording,
  reveal,
  TEST_KEYS,
} from "./harness";
import { SHOP } from "./fixtures/edge/cases";

const WEBHOOK = "https://hooks.slack.com/services/T0000/B0000/webhook-s3cr3t";
const CONFIG = {
  ...TEST_KEYS,
  "do-swarm:stacks": JSON.stringify([{ name: "shop", file: "tests/fixtures/edge/shop.yml" }]),
  "do-swarm:domains": JSON.stringify([
    { name: "app.example.com", zone: "example.com", https: true },
    { name: "api.example.com", zone: "example.com", https: true },
  ]),
  "do-swarm:edge": JSON.stringify(SHOP.edge),
  "do-swarm:alerts": JSON.stringify({
    emails: ["ops@example.com", "oncall@example.com"],
    slack: { channel: "#ops", urlKey: "slackWebhookUrl" },
    thresholds: { diskPercent: 80 },
  }),
  "do-swarm:slackWebhookUrl": WEBHOOK,
};

let rec: Recording;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the program's exports, read by name
let program: any;

beforeAll(async () => {
  rec = await recordProgram(fakeCloud(), CONFIG);
  program = await import("../index");
  await rec.settled();
});

/** The inputs with every secret replaced by a marker: what a reader of plain inputs sees. */
function plainOnly(v: unknown): unknown {
  if (isSecret(v)) return "[secret]";
  if (Array.isArray(v)) return v.map(plainOnly);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainOnly(x)]));
  }
  return v;
}

const ALERTS_TYPES = [
  "do-swarm:index:Alerts",
  "digitalocean:index/monitorAlert:MonitorAlert",
  "digitalocean:index/uptimeCheck:UptimeCheck",
  "digitalocean:index/uptimeAlert:UptimeAlert",
];
const destinations = {
  emails: ["ops@example.com", "oncall@example.com"],
  slacks: [{ channel: "#ops", url: WEBHOOK }],
};

test("one Alerts component holds every alert resource, named after the cluster", () => {
  const mine = rec.resources.filter((r) => ALERTS_TYPES.includes(r.type));
  expect(mine.map((r) => `${r.type}::${r.name}`).sort()).toEqual(
    [
      "do-swarm:index:Alerts::swarm-test-alerts",
      "digitalocean:index/monitorAlert:MonitorAlert::swarm-test-alert-cpu",
      "digitalocean:index/monitorAlert:MonitorAlert::swarm-test-alert-memory",
      "digitalocean:index/monitorAlert:MonitorAlert::swarm-test-alert-disk",
      ...["app.example.com", "api.example.com"].flatMap((host) => [
        `digitalocean:index/uptimeCheck:UptimeCheck::swarm-test-uptime-${host}`,
        ...["down", "latency", "ssl-expiry"].map(
          (a) => `digitalocean:index/uptimeAlert:UptimeAlert::swarm-test-uptime-${host}-${a}`,
        ),
      ]),
    ].sort(),
  );
  const component = rec.byName("swarm-test-alerts");
  for (const r of mine.filter((r) => r !== component)) expect(r.parent).toBe(component.urn);
});

test("CPU, memory and disk on every droplet with the cluster's tag (a new node is covered)", () => {
  const tag = rec.byName("swarm-test-tag-swarm-test");
  const monitors = rec.ofType("digitalocean:index/monitorAlert:MonitorAlert");
  expect(monitors.map((m) => reveal(m.rawInputs))).toEqual([
    {
      type: "v1/insights/droplet/cpu",
      compare: "GreaterThan",
      value: 90,
      window: "10m",
      description: "swarm-test: a node's CPU above 90% for 10 minutes",
      enabled: true,
      tags: ["swarm-test"],
      alerts: destinations,
    },
    {
      type: "v1/insights/droplet/memory_utilization_percent",
      compare: "GreaterThan",
      value: 90,
      window: "10m",
      description: "swarm-test: a node's memory above 90% for 10 minutes",
      enabled: true,
      tags: ["swarm-test"],
      alerts: destinations,
    },
    {
      type: "v1/insights/droplet/disk_utilization_percent",
      compare: "GreaterThan",
      value: 80,
      window: "5m",
      description: "swarm-test: a node's disk above 80% full",
      enabled: true,
      tags: ["swarm-test"],
      alerts: destinations,
    },
  ]);
  for (const m of monitors) {
    // The tag exists before the policy names it; no droplet id is named.
    expect(m.dependencies).toContain(tag.urn);
    expect(m.rawInputs.entities).toBeUndefined();
  }
});

test("an uptime check per URL, from every region, with down, latency and certificate alerts", () => {
  const checks = rec.ofType("digitalocean:index/uptimeCheck:UptimeCheck");
  expect(checks.map((c) => [c.name, reveal(c.rawInputs)])).toEqual(
    ["app.example.com", "api.example.com"].map((host) => [
      `swarm-test-uptime-${host}`,
      {
        name: `swarm-test https://${host}`,
        target: `https://${host}`,
        type: "https",
        regions: ["us_east", "us_west", "eu_west", "se_asia"],
        enabled: true,
      },
    ]),
  );
  const check = rec.byName("swarm-test-uptime-app.example.com");
  const checkId = rec.state("swarm-test-uptime-app.example.com").id;
  const alert = (a: string) => rec.byName(`swarm-test-uptime-app.example.com-${a}`);
  expect(reveal(alert("down").rawInputs)).toEqual({
    checkId,
    name: "swarm-test: app.example.com is down",
    type: "down_global",
    period: "2m",
    notifications: [destinations],
  });
  expect(reveal(alert("latency").rawInputs)).toEqual({
    checkId,
    name: "swarm-test: app.example.com answers slower than 2000 ms",
    type: "latency",
    comparison: "greater_than",
    threshold: 2000,
    period: "5m",
    notifications: [destinations],
  });
  expect(reveal(alert("ssl-expiry").rawInputs)).toEqual({
    checkId,
    name: "swarm-test: app.example.com's certificate expires in less than 14 days",
    type: "ssl_expiry",
    comparison: "less_than",
    threshold: 14,
    period: "5m",
    notifications: [destinations],
  });
  for (const a of ["down", "latency", "ssl-expiry"]) {
    expect(alert(a).dependencies).toContain(check.urn);
  }
});

test("the Slack webhook URL is a secret in every input and output, never plain", () => {
  const mine = rec.resources.filter((r) => ALERTS_TYPES.slice(1).includes(r.type));
  const withSlack = mine.filter((r) => r.type !== "digitalocean:index/uptimeCheck:UptimeCheck");
  expect(withSlack).toHaveLength(3 + 2 * 3);
  for (const r of mine) {
    expect(JSON.stringify(plainOnly(r.rawInputs))).not.toContain("s3cr3t");
  }
  for (const r of withSlack) {
    expect(JSON.stringify(r.rawInputs)).toContain("s3cr3t"); // there, but marked secret
    const field = r.type.endsWith("MonitorAlert") ? "alerts" : "notifications";
    // The provider echoes the destinations: its output is secret too.
    expect(r.additionalSecretOutputs).toEqual([field]);
  }
  // The SDK marks the whole destinations object secret (it holds a secret): e-mails included.
  expect(isSecret(rec.byName("swarm-test-alert-cpu").rawInputs.alerts)).toBe(true);
  expect(
    isSecret(rec.byName("swarm-test-uptime-app.example.com-down").rawInputs.notifications),
  ).toBe(true);
});

test("estimatedMonthlyCostUsd adds $1 a month per uptime check (monitor alerts are free)", async () => {
  const cost = await new Promise<number>((r) => program.estimatedMonthlyCostUsd.apply(r));
  // 3 managers at $12, 2 workers at $6 (tests/harness.ts FAKE_SIZES), two checks.
  expect(cost).toBe(48 + 2);
});

test("a bad setting is refused with the others (key, value, fix) and nothing more is created", async () => {
  const before = rec.resources.length;
  const message = indexError({
    ...CONFIG,
    "do-swarm:region": "Frankfurt",
    "do-swarm:alerts": JSON.stringify({
      emails: ["ops@example"],
      slack: { channel: "#ops", urlKey: "slackHook" },
      thresholds: { cpuPercent: 150 },
    }),
  });
  expect(message).toContain("do-swarm configuration has 5 problem(s)");
  for (const p of [
    'do-swarm:region = "Frankfurt"',
    'do-swarm:alerts.emails[0] = "ops@example": use an e-mail address such as ops@example.com',
    "do-swarm:alerts.thresholds.cpuPercent = 150: use a number of a percentage of CPU from 1 to 100 (default 90)",
    // The named key is not set; the key that is set is not the program's.
    "do-swarm:alerts.slack.urlKey = \"slackHook\" names config key 'slackHook', which is not set: pulumi config set --secret slackHook https://hooks.slack.com/services/...",
    "do-swarm:slackWebhookUrl is not a setting of this program",
  ]) {
    expect(message).toContain(p);
  }
  expect(message).not.toContain("s3cr3t");
  // A webhook key that holds no URL is refused without showing it.
  const notUrl = indexError({ ...CONFIG, "do-swarm:slackWebhookUrl": "T0000/s3cr3t" });
  expect(notUrl).toContain(
    "do-swarm:alerts.slack.urlKey = \"slackWebhookUrl\": the value of config key 'slackWebhookUrl' is not an https URL",
  );
  expect(notUrl).not.toContain("s3cr3t");
  await rec.settled();
  expect(rec.resources.length).toBe(before);
});

test("none without the setting: the recorded layouts (tests/layout.test.ts) have no alert", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const layout = require("./fixtures/layout.json") as Record<string, { resources: string[] }>;
  const all = Object.values(layout).flatMap((l) => l.resources);
  expect(all.length).toBeGreaterThan(0);
  expect(all.filter((r) => ALERTS_TYPES.some((t) => r.startsWith(`${t}::`)))).toEqual([]);
});
