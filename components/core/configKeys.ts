/**
 * The `do-swarm:` config keys the program reads. Pulumi ignores a key nobody reads, so a typo
 * (`manager` for `managers`) would silently deploy the defaults: every key set on the stack in
 * the project's namespace must be one of these, or a key a stack's `secretEnv` (or the alerts'
 * `slack.urlKey`) names.
 */

/**
 * Every top-level key the program reads, in the project's namespace. A capability that reads a
 * new key appends it here (and documents it in docs/configuration.md's table).
 */
export const KNOWN_CONFIG_KEYS: string[] = [
  "clusterName",
  "region",
  "managers",
  "workers",
  "image",
  "dockerVersion",
  "sshPublicKey",
  "sshPrivateKey",
  "adminCidrs",
  "vpcIpRange",
  "overlayAddressPool",
  "stacks",
  "registry",
  // The front door (components/entryPoint/config.ts) and the edge (components/edge/config.ts).
  "entryPoint",
  "loadBalancer",
  "domains",
  "failoverToken",
  "edge",
  // Volumes (components/data/config.ts): where a volume appears on a droplet.
  "volumeDevicePrefix",
  // Alerts and uptime checks (components/alerts/config.ts).
  "alerts",
];

/** Levenshtein distance, case-insensitive (`clustername` is one slip from `clusterName`). */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (s[i - 1] === t[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[t.length];
}

/**
 * The known key closest to `key`, if it is close enough to be a slip: within a third of the
 * key's length (at least 2 edits), or one key containing the other (`stack` / `stacks`,
 * `workerPools` / `workers`). Ties go to the earlier key in `known`.
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const contains = (k: string) =>
    lower.length >= 4 && (lower.includes(k.toLowerCase()) || k.toLowerCase().includes(lower));
  let best: { key: string; distance: number } | undefined;
  for (const k of known) {
    const distance = editDistance(key, k);
    if (best === undefined || distance < best.distance) best = { key: k, distance };
  }
  if (best !== undefined && best.distance <= Math.max(2, Math.floor(key.length / 3))) {
    return best.key;
  }
  return known.find(contains);
}

/**
 * One problem per key set in `namespace` that the program does not read. `allConfig` is every
 * config value of the stack (`pulumi.runtime.allConfig()`: `namespace:key` -> value); values
 * never enter a message (they may be secrets). `extraKnown` are keys read by name from other
 * config (a stack's `secretEnv`, the alerts' Slack webhook).
 */
export function unknownConfigKeyProblems(
  allConfig: Record<string, unknown>,
  namespace: string,
  extraKnown: readonly string[] = [],
  known: readonly string[] = KNOWN_CONFIG_KEYS,
): string[] {
  const accepted = new Set([...known, ...extraKnown]);
  const prefix = `${namespace}:`;
  return Object.keys(allConfig)
    .filter((k) => k.startsWith(prefix))
    .map((k) => k.slice(prefix.length))
    .filter((k) => !accepted.has(k))
    .sort()
    .map((k) => {
      const near = closestKey(k, known);
      return (
        `${prefix}${k} is not a setting of this program and would be ignored: ` +
        (near !== undefined
          ? `did you mean ${prefix}${near}? Rename it in Pulumi.<stack>.yaml (or pulumi config rm ${k} and set ${near})`
          : `no known key is close; the keys are ${known.join(", ")} (docs/configuration.md). Remove it: pulumi config rm ${k}`)
      );
    });
}

/**
 * The config keys the stacks' `secretEnv` maps name (values of `{VARIABLE: key}`), read from
 * the raw `stacks` value so that a stack with other problems still vouches for its keys.
 */
export function secretEnvKeys(rawStacks: unknown): string[] {
  if (!Array.isArray(rawStacks)) return [];
  return rawStacks.flatMap((s: unknown) => {
    const env = (s as { secretEnv?: unknown } | null)?.secretEnv;
    if (typeof env !== "object" || env === null) return [];
    return Object.values(env).filter((k): k is string => typeof k === "string");
  });
}
