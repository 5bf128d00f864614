/**
 * What every area's validation shares: the problem collector, small checks. (The error type,
 * ConfigError, is in swarm/config.ts, which composes the areas: it carries their stacks.)
 */

/** Records one problem: the config key (without the namespace), the bad value and the fix. */
export type Fail = (key: string, value: unknown, fix: string) => void;

export const show = (v: unknown) => JSON.stringify(v);
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
export const isCount = (v: unknown): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= 0;

export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

/**
 * `pulumi config set --path 'workers[0].labels.ssd' true` stores a boolean, and `... env.TAG 2`
 * an integer: for a nested path the CLI turns "true"/"false" into booleans and base-10 digits
 * (without a leading 0) into integers (pulumi/pulumi, sdk/go/common/resource/config: Map.Set
 * calls Value.coerceObject, which uses coerce in object.go). Label and env values are strings,
 * and compose accepts numbers and booleans in `environment` too, so such values are taken as
 * the string the user typed. Anything else is returned as it is, for validation to report.
 */
export function cliScalarsAsStrings(v: unknown): unknown {
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [
      k,
      typeof x === "boolean" || (typeof x === "number" && Number.isFinite(x)) ? String(x) : x,
    ]),
  );
}
