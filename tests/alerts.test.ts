/** do-swarm:alerts on its own: what is refused (key, value, fix) and what is planned (pure). */
import {
  ALERT_DEFAULTS,
  alertsSecretKeys,
  AlertsSettings,
  validateAlerts,
  webhookProblems,
} from "../components/alerts/config";
import { planAlerts, UPTIME_REGIONS } from "../components/alerts/plan";

function check(raw: unknown): { settings?: AlertsSettings; problems: string[] } {
  const problems: string[] = [];
  const settings = validateAlerts(
    raw,
    (key, value, fix) => problems.push(`do-swarm:${key} = ${JSON.stringify(value)}: ${fix}`),
    problems,
  );
  return { settings, problems };
}

describe("validateAlerts", () => {
  test("unset: no alerts, no problem", () => {
    expect(check(undefined)).toEqual({ settings: undefined, problems: [] });
  });

  test("e-mails alone: every default applied, uptime on", () => {
    expect(check({ emails: ["ops@example.com"] })).toEqual({
      settings: { emails: ["ops@example.com"], thresholds: ALERT_DEFAULTS, uptime: true },
      problems: [],
    });
  });

  test("a Slack channel alone, thresholds overridden, uptime off", () => {
    const { settings, problems } = check({
      slack: { channel: "#ops", urlKey: "slackWebhookUrl" },
      thresholds: { cpuPercent: 95, load5: 4, sslExpiryDays: 21 },
      uptime: false,
    });
    expect(problems).toEqual([]);
    expect(settings).toEqual({
      emails: [],
      slack: { channel: "#ops", urlKey: "slackWebhookUrl" },
      thresholds: { ...ALERT_DEFAULTS, cpuPercent: 95, load5: 4, sslExpiryDays: 21 },
      uptime: false,
    });
  });

  test("every problem at once, each with its key, value and fix", () => {
    const { settings, problems } = check({
      emails: ["ops@example.com", "not-an-address", "ops@example.com"],
      slack: { channel: "", urlKey: "has space", colour: "red" },
      thresholds: { cpuPercent: 120, diskPercent: 0, latencyMs: 1.5, memory: 90 },
      uptime: "yes",
      pager: true,
    });
    expect(settings).toBeUndefined();
    expect(problems).toEqual([
      "do-swarm:alerts.pager = true: remove it: known keys are emails, slack, thresholds, uptime",
      'do-swarm:alerts.emails[1] = "not-an-address": use an e-mail address such as ops@example.com',
      'do-swarm:alerts.emails[2] = "ops@example.com": it is listed twice: remove one',
      'do-swarm:alerts.slack.colour = "red": remove it: known keys are channel, urlKey',
      'do-swarm:alerts.slack.channel = "": name the channel the webhook posts to, such as "#ops"',
      'do-swarm:alerts.slack.urlKey = "has space": name the secret config key holding the webhook URL, such as slackWebhookUrl (pulumi config set --secret slackWebhookUrl https://hooks.slack.com/services/...)',
      "do-swarm:alerts.thresholds.cpuPercent = 120: use a number of a percentage of CPU from 1 to 100 (default 90)",
      "do-swarm:alerts.thresholds.diskPercent = 0: use a number of a percentage of the disk from 1 to 100 (default 85)",
      "do-swarm:alerts.thresholds.latencyMs = 1.5: use a whole number of milliseconds from 100 to 60000 (default 2000)",
      "do-swarm:alerts.thresholds.memory = 90: remove it: known thresholds are cpuPercent, memoryPercent, diskPercent, load5, latencyMs, sslExpiryDays, lb5xxPercent, lbConnectionsPercent",
      'do-swarm:alerts.uptime = "yes": use true (an uptime check per URL of the cluster, billed per check) or false',
    ]);
  });

  test("no destination, and not an object", () => {
    expect(check({ emails: [] }).problems).toEqual([
      'do-swarm:alerts = {"emails":[]}: give at least one destination: e-mails, a Slack channel, or both, such as { "emails": ["ops@example.com"], "slack": { "channel": "#ops", "urlKey": "slackWebhookUrl" } }',
    ]);
    expect(check({ thresholds: { cpuPercent: 80 } }).problems[0]).toMatch(
      /^do-swarm:alerts = \{"thresholds":\{"cpuPercent":80\}\}: give at least one destination/,
    );
    expect(check("ops@example.com").problems).toEqual([
      'do-swarm:alerts = "ops@example.com": use an object such as { "emails": ["ops@example.com"], "slack": { "channel": "#ops", "urlKey": "slackWebhookUrl" } }',
    ]);
    expect(check({ emails: "ops@example.com" }).problems).toEqual([
      'do-swarm:alerts.emails = "ops@example.com": use a list of e-mail addresses such as ["ops@example.com"]',
    ]);
  });

  test("a webhook URL written into the setting is refused, and never shown", () => {
    const url = "https://hooks.slack.com/services/T000/B000/s3cr3t";
    for (const slack of [
      { channel: "#ops", url },
      { channel: "#ops", urlKey: url },
    ]) {
      const { settings, problems } = check({ slack });
      expect(settings).toBeUndefined();
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^do-swarm:alerts\.slack\.url(Key)? /);
      expect(problems[0]).toContain("pulumi config set --secret slackWebhookUrl URL");
      expect(problems[0]).not.toContain("s3cr3t");
    }
  });

  test("the webhook's key: known to the unknown-key check, set, an https URL, never shown", () => {
    expect(alertsSecretKeys({ slack: { urlKey: "slackWebhookUrl" } })).toEqual(["slackWebhookUrl"]);
    expect(alertsSecretKeys({ slack: { urlKey: "https://x" } })).toEqual([]);
    expect(alertsSecretKeys(undefined)).toEqual([]);
    const slack = { channel: "#ops", urlKey: "slackWebhookUrl" };
    expect(webhookProblems(slack, undefined)).toEqual([
      "do-swarm:alerts.slack.urlKey = \"slackWebhookUrl\" names config key 'slackWebhookUrl', which is not set: pulumi config set --secret slackWebhookUrl https://hooks.slack.com/services/...",
    ]);
    const [bad] = webhookProblems(slack, "hooks.slack.com/services/T000/s3cr3t");
    expect(bad).toContain("the value of config key 'slackWebhookUrl' is not an https URL");
    expect(bad).not.toContain("s3cr3t");
    expect(webhookProblems(slack, "https://hooks.slack.com/services/T/B/x")).toEqual([]);
  });
});

describe("planAlerts", () => {
  const settings = check({ emails: ["ops@example.com"] }).settings!;
  const urls = ["https://app.example.com", "http://www.example.org"];

  test("the nodes' alerts by the cluster's tag, each uptime check with its alerts, the cost", () => {
    const plan = planAlerts("prod", settings, urls, false);
    expect(plan.monitors.map((m) => [m.key, m.type, m.compare, m.value, m.window, m.on])).toEqual([
      ["cpu", "v1/insights/droplet/cpu", "GreaterThan", 90, "10m", "nodes"],
      [
        "memory",
        "v1/insights/droplet/memory_utilization_percent",
        "GreaterThan",
        90,
        "10m",
        "nodes",
      ],
      ["disk", "v1/insights/droplet/disk_utilization_percent", "GreaterThan", 85, "5m", "nodes"],
    ]);
    expect(plan.checks.map((c) => [c.key, c.target, c.type, c.regions])).toEqual([
      ["app.example.com", "https://app.example.com", "https", UPTIME_REGIONS],
      ["www.example.org", "http://www.example.org", "http", UPTIME_REGIONS],
    ]);
    // No certificate to watch on a plain-HTTP URL.
    expect(plan.checks.map((c) => c.alerts.map((a) => a.key))).toEqual([
      ["down", "latency", "ssl-expiry"],
      ["down", "latency"],
    ]);
    expect(plan.checks[0].alerts).toEqual([
      { key: "down", name: "prod: app.example.com is down", type: "down_global", period: "2m" },
      {
        key: "latency",
        name: "prod: app.example.com answers slower than 2000 ms",
        type: "latency",
        comparison: "greater_than",
        threshold: 2000,
        period: "5m",
      },
      {
        key: "ssl-expiry",
        name: "prod: app.example.com's certificate expires in less than 14 days",
        type: "ssl_expiry",
        comparison: "less_than",
        threshold: 14,
        period: "5m",
      },
    ]);
    expect(plan.monthlyCostUsd).toBe(2);
  });

  test("load, when set; the load balancer's alerts in its mode; no check with uptime off", () => {
    const plan = planAlerts(
      "prod",
      { ...settings, thresholds: { ...settings.thresholds, load5: 3 }, uptime: false },
      urls,
      true,
    );
    expect(plan.monitors.map((m) => [m.key, m.type, m.value, m.window, m.on])).toEqual([
      ["cpu", "v1/insights/droplet/cpu", 90, "10m", "nodes"],
      ["memory", "v1/insights/droplet/memory_utilization_percent", 90, "10m", "nodes"],
      ["disk", "v1/insights/droplet/disk_utilization_percent", 85, "5m", "nodes"],
      ["load5", "v1/insights/droplet/load_5", 3, "10m", "nodes"],
      [
        "lb-5xx",
        "v1/insights/lbaas/increase_in_http_error_rate_percentage_5xx",
        5,
        "5m",
        "loadBalancer",
      ],
      [
        "lb-connections",
        "v1/insights/lbaas/connection_utilization_percent",
        80,
        "5m",
        "loadBalancer",
      ],
    ]);
    expect(plan.checks).toEqual([]);
    expect(plan.monthlyCostUsd).toBe(0);
  });
});
