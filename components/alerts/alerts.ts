/**
 * The alerts' resources: DigitalOcean monitor alert policies on the cluster's droplets (by its
 * tag) and load balancer, and an uptime check with its alerts per URL, all under one `Alerts`
 * component. What to create is ./plan.ts's; this only creates it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import type { AlertsSettings } from "./config";
import { AlertsPlan, planAlerts } from "./plan";

export interface AlertsArgs {
  settings: AlertsSettings;
  /** The tag every droplet of the cluster carries (an output of its Tag: created first). */
  clusterTag: pulumi.Input<string>;
  /** The cluster's `urls` output. */
  urls: readonly string[];
  /** The load balancer's id in load-balancer mode. */
  loadBalancerId?: pulumi.Input<string>;
  /** The Slack webhook URL (a secret, `config.requireSecret`), when settings.slack is set. */
  slackWebhookUrl?: pulumi.Output<string>;
}

export class Alerts extends pulumi.ComponentResource {
  readonly plan: AlertsPlan;
  /** What the uptime checks cost, USD a month (monitor alerts are free). */
  readonly monthlyCostUsd: number;
  readonly monitors: digitalocean.MonitorAlert[];
  readonly checks: digitalocean.UptimeCheck[];

  /** @param cluster the cluster's name: every logical name starts with it. */
  constructor(cluster: string, args: AlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("do-swarm:index:Alerts", `${cluster}-alerts`, {}, opts);
    const { settings } = args;
    const plan = planAlerts(cluster, settings, args.urls, args.loadBalancerId !== undefined);
    this.plan = plan;
    this.monthlyCostUsd = plan.monthlyCostUsd;

    if (settings.slack !== undefined && args.slackWebhookUrl === undefined) {
      throw new Error("alerts.slack is set, but no webhook URL was given");
    }
    // Secret all the way: the URL is a bearer credential for the channel.
    const slack = settings.slack && {
      channel: settings.slack.channel,
      url: pulumi.secret(args.slackWebhookUrl!),
    };
    const emails = settings.emails.length > 0 ? { emails: settings.emails } : {};
    const slacks = slack ? { slacks: [slack] } : {};
    // The provider echoes the destinations in its outputs: keep them secret there too.
    const secretOutputs = (name: string) => (slack ? { additionalSecretOutputs: [name] } : {});

    this.monitors = plan.monitors.map(
      (m) =>
        new digitalocean.MonitorAlert(
          `${cluster}-alert-${m.key}`,
          {
            type: m.type,
            compare: m.compare,
            value: m.value,
            window: m.window,
            description: m.description,
            enabled: true,
            ...(m.on === "nodes"
              ? { tags: [args.clusterTag] }
              : { entities: [args.loadBalancerId!] }),
            alerts: { ...emails, ...slacks },
          },
          { parent: this, ...secretOutputs("alerts") },
        ),
    );

    this.checks = plan.checks.map((c) => {
      const check = new digitalocean.UptimeCheck(
        `${cluster}-uptime-${c.key}`,
        { name: c.name, target: c.target, type: c.type, regions: c.regions, enabled: true },
        { parent: this },
      );
      for (const a of c.alerts) {
        new digitalocean.UptimeAlert(
          `${cluster}-uptime-${c.key}-${a.key}`,
          {
            checkId: check.id,
            name: a.name,
            type: a.type,
            period: a.period,
            ...(a.comparison === undefined ? {} : { comparison: a.comparison }),
            ...(a.threshold === undefined ? {} : { threshold: a.threshold }),
            notifications: [{ ...emails, ...slacks }],
          },
          { parent: this, ...secretOutputs("notifications") },
        );
      }
      return check;
    });

    this.registerOutputs({
      monitors: this.monitors.map((m) => m.uuid),
      checks: this.checks.map((c) => c.id),
      monthlyCostUsd: this.monthlyCostUsd,
    });
  }
}
