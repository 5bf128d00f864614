/**
 * Config of the alerts (`do-swarm:alerts`): where DigitalOcean sends them (e-mails, a Slack
 * channel whose webhook URL is a secret config key), the thresholds, and whether each URL of
 * the cluster gets an uptime check. What is created from it is decided by ./plan.ts.
 */
import { Fail, isObject, show } from "../core/config";

/** `do-swarm:alerts.slack`: the webhook URL is never in this object, only the key holding it. */
export interface SlackDestination {
  /** The channel the webhook posts to, e.g. `#ops` (shown by DigitalOcean; the webhook decides). */
  channel: string;
  /**
   * The name of a secret config key of this project that holds the incoming-webhook URL
   * (`pulumi config set --secret slackWebhookUrl https://hooks.slack.com/services/...`).
   */
  urlKey: string;
}

/** Every threshold, with its default applied (see ALERT_DEFAULTS for why each). */
export interface AlertThresholds {
  cpuPercent: number;
  memoryPercent: number;
  diskPercent: number;
  /** The 5-minute load average per droplet; no alert when unset (it depends on the size). */
  load5?: number;
  /** An uptime check's response time, in milliseconds. */
  latencyMs: number;
  /** Days left on an https URL's certificate. */
  sslExpiryDays: number;
  /** Load-balancer mode: the share of responses that are 5xx, in percent. */
  lb5xxPercent: number;
  /** Load-balancer mode: the connections in use, in percent of what its size allows. */
  lbConnectionsPercent: number;
}

/** `do-swarm:alerts` with every default applied. */
export interface AlertsSettings {
  emails: string[];
  slack?: SlackDestination;
  thresholds: AlertThresholds;
  /** An uptime check (and its alerts) per URL of the cluster. @default true */
  uptime: boolean;
}

/**
 * The defaults, chosen to page for what needs a person, not for a busy minute:
 * - CPU 90% (over 10 minutes, plan.ts): a deploy, an image pull or a build spikes to 100% for a
 *   minute or two; ten minutes near full means the node is too small or something spins.
 * - memory 90%: DigitalOcean's memory metric leaves the page cache out, so 90% is memory in
 *   use; above it the kernel's OOM killer is close, and swarm tasks are killed.
 * - disk 85%: images, volumes of old tasks and logs grow a few percent a day; 15% of a 25 GB
 *   disk is still room for a day or two of pulls while someone prunes or resizes.
 * - load5: unset (no alert), as a load of 2 is saturation on 1 vCPU and idle on 8, and pools
 *   differ in size; the CPU alert covers saturation for every size.
 * - latency 2000 ms: the checks run from four regions, so a far one adds ~300 ms of round
 *   trips and a TLS handshake; two seconds for five minutes is slow for every visitor.
 * - certificate 14 days: Let's Encrypt certificates (the edge's and the load balancer's) live
 *   90 days and are renewed with 30 left; 14 left means renewal has failed for two weeks, with
 *   time left to fix it.
 * - 5xx 5%: a few errors during a rolling update are normal; one request in twenty failing for
 *   five minutes is not.
 * - connections 80%: the load balancer's size units cap its connections; at 80% it is time to
 *   add a unit (loadBalancer.sizeUnit) before new visitors are refused.
 */
export const ALERT_DEFAULTS: AlertThresholds = {
  cpuPercent: 90,
  memoryPercent: 90,
  diskPercent: 85,
  latencyMs: 2000,
  sslExpiryDays: 14,
  lb5xxPercent: 5,
  lbConnectionsPercent: 80,
};

/** Each threshold's range: [min, max, whole numbers only, what it is]. */
const RANGES: Record<keyof AlertThresholds, [number, number, boolean, string]> = {
  cpuPercent: [1, 100, false, "a percentage of CPU"],
  memoryPercent: [1, 100, false, "a percentage of memory"],
  diskPercent: [1, 100, false, "a percentage of the disk"],
  load5: [0.1, 1000, false, "a 5-minute load average"],
  latencyMs: [100, 60000, true, "milliseconds"],
  sslExpiryDays: [1, 60, true, "days"],
  lb5xxPercent: [1, 100, false, "a percentage of responses"],
  lbConnectionsPercent: [1, 100, false, "a percentage of connections"],
};

const KEYS = ["emails", "slack", "thresholds", "uptime"];
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** A config key of this project, as `pulumi config set` takes it (no namespace). */
const CONFIG_KEY = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const EXAMPLE =
  '{ "emails": ["ops@example.com"], "slack": { "channel": "#ops", "urlKey": "slackWebhookUrl" } }';

/**
 * Checks `do-swarm:alerts`; undefined when unset (no alert) or not valid (its problems are
 * reported). Whether the webhook's key is set is checked by program/validate.ts, which reads
 * config; a webhook URL written here in place of a key is refused without being shown.
 */
export function validateAlerts(
  raw: unknown,
  fail: Fail,
  problems: string[],
): AlertsSettings | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) {
    fail("alerts", raw, `use an object such as ${EXAMPLE}`);
    return undefined;
  }
  const before = problems.length;
  for (const k of Object.keys(raw)) {
    if (!KEYS.includes(k))
      fail(`alerts.${k}`, raw[k], `remove it: known keys are ${KEYS.join(", ")}`);
  }

  const emails: string[] = [];
  const rawEmails = raw.emails ?? [];
  if (!Array.isArray(rawEmails)) {
    fail("alerts.emails", rawEmails, 'use a list of e-mail addresses such as ["ops@example.com"]');
  } else {
    rawEmails.forEach((e: unknown, i) => {
      if (typeof e !== "string" || !EMAIL.test(e)) {
        fail(`alerts.emails[${i}]`, e, "use an e-mail address such as ops@example.com");
      } else if (emails.includes(e)) {
        fail(`alerts.emails[${i}]`, e, "it is listed twice: remove one");
      } else emails.push(e);
    });
  }

  const slack = validateSlack(raw.slack, fail, problems);
  if (raw.slack === undefined && Array.isArray(rawEmails) && rawEmails.length === 0) {
    fail(
      "alerts",
      raw,
      `give at least one destination: e-mails, a Slack channel, or both, such as ${EXAMPLE}`,
    );
  }

  const thresholds: AlertThresholds = { ...ALERT_DEFAULTS };
  const t = raw.thresholds ?? {};
  if (!isObject(t)) {
    fail("alerts.thresholds", t, 'use an object such as { "cpuPercent": 90, "diskPercent": 80 }');
  } else {
    for (const [k, v] of Object.entries(t)) {
      const range = RANGES[k as keyof AlertThresholds];
      if (range === undefined) {
        fail(
          `alerts.thresholds.${k}`,
          v,
          `remove it: known thresholds are ${Object.keys(RANGES).join(", ")}`,
        );
        continue;
      }
      const [min, max, whole, what] = range;
      if (
        typeof v !== "number" ||
        !Number.isFinite(v) ||
        v < min ||
        v > max ||
        (whole && !Number.isInteger(v))
      ) {
        fail(
          `alerts.thresholds.${k}`,
          v,
          `use ${whole ? "a whole number" : "a number"} of ${what} from ${min} to ${max}` +
            (k in ALERT_DEFAULTS
              ? ` (default ${ALERT_DEFAULTS[k as keyof AlertThresholds]})`
              : ", or leave it out for no alert"),
        );
      } else thresholds[k as keyof AlertThresholds] = v;
    }
  }

  const uptime = raw.uptime ?? true;
  if (typeof uptime !== "boolean") {
    fail(
      "alerts.uptime",
      uptime,
      "use true (an uptime check per URL of the cluster, billed per check) or false",
    );
  }

  if (problems.length > before) return undefined;
  return { emails, ...(slack ? { slack } : {}), thresholds, uptime: uptime as boolean };
}

function validateSlack(raw: unknown, fail: Fail, problems: string[]): SlackDestination | undefined {
  if (raw === undefined) return undefined;
  const example = '{ "channel": "#ops", "urlKey": "slackWebhookUrl" }';
  if (!isObject(raw)) {
    fail("alerts.slack", raw, `use an object such as ${example}`);
    return undefined;
  }
  let good = true;
  for (const k of Object.keys(raw)) {
    if (k === "url") {
      // The webhook URL is a secret: never in plain config, never in a message.
      problems.push(
        "do-swarm:alerts.slack.url is not a setting (its value is not shown: it may be a webhook URL, a secret): " +
          "put the webhook URL in a secret key, pulumi config set --secret slackWebhookUrl URL, " +
          'name that key in alerts.slack.urlKey ("urlKey": "slackWebhookUrl"), and remove alerts.slack.url',
      );
      good = false;
    } else if (!["channel", "urlKey"].includes(k)) {
      fail(`alerts.slack.${k}`, raw[k], "remove it: known keys are channel, urlKey");
      good = false;
    }
  }
  const { channel, urlKey } = raw;
  if (typeof channel !== "string" || channel.trim() === "") {
    fail("alerts.slack.channel", channel, 'name the channel the webhook posts to, such as "#ops"');
    good = false;
  }
  if (typeof urlKey === "string" && /^[a-z]+:\/\//i.test(urlKey)) {
    problems.push(
      "do-swarm:alerts.slack.urlKey holds a URL (not shown: a webhook URL is a secret), not the name of a config key: " +
        "pulumi config set --secret slackWebhookUrl URL, then set alerts.slack.urlKey to slackWebhookUrl",
    );
    good = false;
  } else if (urlKey === undefined && "url" in raw) {
    // Reported above, with the fix that names urlKey.
  } else if (typeof urlKey !== "string" || !CONFIG_KEY.test(urlKey)) {
    fail(
      "alerts.slack.urlKey",
      urlKey,
      "name the secret config key holding the webhook URL, such as slackWebhookUrl (pulumi config set --secret slackWebhookUrl https://hooks.slack.com/services/...)",
    );
    good = false;
  }
  return good ? { channel: channel as string, urlKey: urlKey as string } : undefined;
}

/**
 * The config key the alerts' Slack webhook is read from, read from the raw value so that a
 * setting with other problems still vouches for its key (it is not an unknown key).
 */
export function alertsSecretKeys(raw: unknown): string[] {
  const slack = isObject(raw) ? raw.slack : undefined;
  const key = isObject(slack) ? slack.urlKey : undefined;
  return typeof key === "string" && CONFIG_KEY.test(key) ? [key] : [];
}

/**
 * The Slack destination if it is well formed, whatever the rest of the setting (its problems
 * are reported by validateAlerts): so that whether its key is set is checked in the same run.
 */
export function wellFormedSlack(raw: unknown): SlackDestination | undefined {
  if (!isObject(raw)) return undefined;
  const scratch: string[] = [];
  return validateSlack(raw.slack, (key) => scratch.push(key), scratch);
}

/**
 * Whether the webhook's key is set and holds an https URL; the value never enters a message.
 * @param value the key's value (`config.get`), undefined when unset.
 */
export function webhookProblems(slack: SlackDestination, value: string | undefined): string[] {
  if (value === undefined) {
    return [
      `do-swarm:alerts.slack.urlKey = ${show(slack.urlKey)} names config key '${slack.urlKey}', which is not set: ` +
        `pulumi config set --secret ${slack.urlKey} https://hooks.slack.com/services/...`,
    ];
  }
  if (!/^https:\/\/\S+$/.test(value.trim())) {
    return [
      `do-swarm:alerts.slack.urlKey = ${show(slack.urlKey)}: the value of config key '${slack.urlKey}' is not an https URL (not shown: it is a secret): ` +
        `set it to the Slack incoming-webhook URL, pulumi config set --secret ${slack.urlKey} https://hooks.slack.com/services/...`,
    ];
  }
  return [];
}
