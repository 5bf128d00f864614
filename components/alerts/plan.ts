/**
 * Which alerts a cluster gets, decided from validated config alone (pure: tested without
 * Pulumi). The values DigitalOcean accepts are the provider's (terraform-provider-digitalocean,
 * which @pulumi/digitalocean wraps):
 * - monitor alerts (digitalocean/monitoring/resource_monitor_alert.go): `type` one of godo's
 *   constants (vendor/github.com/digitalocean/godo/monitoring.go: `v1/insights/droplet/cpu`,
 *   `.../memory_utilization_percent`, `.../disk_utilization_percent`, `.../load_5`,
 *   `v1/insights/lbaas/...`), `compare` `GreaterThan` or `LessThan`, `window` 5m, 10m, 30m or 1h;
 * - uptime alerts (digitalocean/uptime/resource_uptime_alert.go): `type` latency, down,
 *   down_global or ssl_expiry, `comparison` greater_than or less_than, `period` 2m, 3m, 5m,
 *   10m, 15m, 30m or 1h;
 * - uptime checks (digitalocean/uptime/resource_uptime_check.go): `type` ping, http or https;
 *   regions us_east, us_west, eu_west, se_asia (docs/resources/uptime_check.md; the Pulumi
 *   SDK's doc comment spells them in camelCase, the API does not).
 */
import type { AlertsSettings } from "./config";

export type MonitorWindow = "5m" | "10m" | "30m" | "1h";
export type UptimePeriod = "2m" | "3m" | "5m" | "10m" | "15m" | "30m" | "1h";

/** One DigitalOcean monitor alert policy. */
export interface MonitorAlertPlan {
  /** The logical name's suffix (a contract: renaming replaces the alert). */
  key: string;
  type: string;
  compare: "GreaterThan" | "LessThan";
  value: number;
  window: MonitorWindow;
  description: string;
  /** Whose metric: every droplet with the cluster's tag, or the load balancer (by its id). */
  on: "nodes" | "loadBalancer";
}

export interface UptimeAlertPlan {
  /** The logical name's suffix under its check. */
  key: "down" | "latency" | "ssl-expiry";
  name: string;
  type: "down" | "down_global" | "latency" | "ssl_expiry";
  comparison?: "greater_than" | "less_than";
  threshold?: number;
  period: UptimePeriod;
}

export interface UptimeCheckPlan {
  /** The logical name's suffix: the URL's host name (its scheme may change, its name stays). */
  key: string;
  name: string;
  target: string;
  type: "http" | "https";
  regions: string[];
  alerts: UptimeAlertPlan[];
}

export interface AlertsPlan {
  monitors: MonitorAlertPlan[];
  checks: UptimeCheckPlan[];
  monthlyCostUsd: number;
}

/**
 * DigitalOcean's list price of an uptime check, USD a month (monitor alerts are free). The API
 * has no price for it; the figure is DigitalOcean's pricing page's at the time of writing.
 */
export const UPTIME_CHECK_USD_PER_MONTH = 1;

/** Every region DigitalOcean checks from: a site down from all of them is down for everyone. */
export const UPTIME_REGIONS = ["us_east", "us_west", "eu_west", "se_asia"];

/**
 * The alerts of a cluster: CPU, memory and disk (and load, when its threshold is set) on every
 * droplet with the cluster's tag, so a node added later is covered with no change; in
 * load-balancer mode, its 5xx share and connections; per URL, an uptime check with alerts on
 * down, latency and (https) the certificate's expiry.
 * @param urls the cluster's `urls` output (entryPoint/entryPointPlan.ts `urls`).
 */
export function planAlerts(
  cluster: string,
  settings: AlertsSettings,
  urls: readonly string[],
  loadBalancer: boolean,
): AlertsPlan {
  const t = settings.thresholds;
  const monitors: MonitorAlertPlan[] = [
    {
      key: "cpu",
      type: "v1/insights/droplet/cpu",
      compare: "GreaterThan",
      value: t.cpuPercent,
      window: "10m",
      description: `${cluster}: a node's CPU above ${t.cpuPercent}% for 10 minutes`,
      on: "nodes",
    },
    {
      key: "memory",
      type: "v1/insights/droplet/memory_utilization_percent",
      compare: "GreaterThan",
      value: t.memoryPercent,
      window: "10m",
      description: `${cluster}: a node's memory above ${t.memoryPercent}% for 10 minutes`,
      on: "nodes",
    },
    {
      // The disk fills slowly and does not spike: the shortest window tells soonest.
      key: "disk",
      type: "v1/insights/droplet/disk_utilization_percent",
      compare: "GreaterThan",
      value: t.diskPercent,
      window: "5m",
      description: `${cluster}: a node's disk above ${t.diskPercent}% full`,
      on: "nodes",
    },
  ];
  if (t.load5 !== undefined) {
    monitors.push({
      key: "load5",
      type: "v1/insights/droplet/load_5",
      compare: "GreaterThan",
      value: t.load5,
      window: "10m",
      description: `${cluster}: a node's 5-minute load above ${t.load5} for 10 minutes`,
      on: "nodes",
    });
  }
  if (loadBalancer) {
    monitors.push(
      {
        key: "lb-5xx",
        type: "v1/insights/lbaas/increase_in_http_error_rate_percentage_5xx",
        compare: "GreaterThan",
        value: t.lb5xxPercent,
        window: "5m",
        description: `${cluster}: over ${t.lb5xxPercent}% of the load balancer's responses are 5xx for 5 minutes`,
        on: "loadBalancer",
      },
      {
        key: "lb-connections",
        type: "v1/insights/lbaas/connection_utilization_percent",
        compare: "GreaterThan",
        value: t.lbConnectionsPercent,
        window: "5m",
        description: `${cluster}: the load balancer's connections above ${t.lbConnectionsPercent}% of its size for 5 minutes (add a sizeUnit)`,
        on: "loadBalancer",
      },
    );
  }

  const checks: UptimeCheckPlan[] = settings.uptime
    ? urls.map((url) => {
        const https = url.startsWith("https://");
        const host = url.replace(/^https?:\/\//, "");
        const alerts: UptimeAlertPlan[] = [
          {
            // Down from every region for 2 minutes: the site is down for everyone, not one
            // probe's network (down_global; `down` fires on any one region).
            key: "down",
            name: `${cluster}: ${host} is down`,
            type: "down_global",
            period: "2m",
          },
          {
            key: "latency",
            name: `${cluster}: ${host} answers slower than ${t.latencyMs} ms`,
            type: "latency",
            comparison: "greater_than",
            threshold: t.latencyMs,
            period: "5m",
          },
        ];
        if (https) {
          alerts.push({
            key: "ssl-expiry",
            name: `${cluster}: ${host}'s certificate expires in less than ${t.sslExpiryDays} days`,
            type: "ssl_expiry",
            comparison: "less_than",
            threshold: t.sslExpiryDays,
            period: "5m",
          });
        }
        return {
          key: host,
          name: `${cluster} ${url}`,
          target: url,
          type: https ? "https" : "http",
          regions: UPTIME_REGIONS,
          alerts,
        };
      })
    : [];

  return { monitors, checks, monthlyCostUsd: checks.length * UPTIME_CHECK_USD_PER_MONTH };
}
