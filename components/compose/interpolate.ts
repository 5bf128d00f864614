// Variable interpolation, bug-for-bug like docker/cli's cli/compose/template (what
// `docker stack deploy` runs). Differences from a shell are deliberate, because the rendered
// stack must mean what `docker stack deploy` would have made of the original file:
//  - `${X:-default}` inserts the default literally: `$` inside it is not expanded or unescaped.
//  - there is no nesting: `${A:-${B}}` yields A's value or the literal `${B`, then a `}`.
//  - the operators are tried in docker's order (`:-`, `-`, `:?`, `?`) anywhere in the braces, so
//    `${X:?must-be-set}` is read as X with default "be-set". Surprising, but it is docker's.
//  - unbraced `$X-y` also takes the operator suffix up to the end of the string.
import { Report, Yaml, YamlMap, isMap } from "./types";

// docker: `\$(?i:(?P<escaped>\$)|(?P<named>SUBST)|{(?P<braced>SUBST)}|(?P<invalid>))`
const SUBST = "[_a-z][_a-z0-9]*(?::?[-?][^}]*)?";
const PATTERN = new RegExp(`\\$(?:(\\$)|(${SUBST})|\\{(${SUBST})\\}|())`, "gi");

export interface Substitution {
  value: string;
  /** Variables referenced plainly (no default, no `?`) that were unset. */
  unset: string[];
  /** docker's error texts: required variables missing, or an invalid template (docker stops at
   * the first; all are kept so one render reports every variable to set). */
  errors: Array<{ variable?: string; message: string }>;
}

function cut(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + sep.length)];
}

/** Substitute one string. `env` is the only source of values. */
export function substitute(template: string, env: Record<string, string>): Substitution {
  const unset: string[] = [];
  const errors: Substitution["errors"] = [];
  const lookup = (name: string): string | undefined =>
    Object.prototype.hasOwnProperty.call(env, name) ? env[name] : undefined;

  const value = template.replace(
    PATTERN,
    (_m, escaped: string | undefined, named: string | undefined, braced: string | undefined) => {
      if (escaped) return escaped;
      const sub = named ?? braced;
      if (sub === undefined) {
        errors.push({ message: `invalid interpolation format ${JSON.stringify(template)}` });
        return "";
      }
      if (sub.includes(":-")) {
        const [name, dflt] = cut(sub, ":-");
        const v = lookup(name);
        return v === undefined || v === "" ? dflt : v;
      }
      if (sub.includes("-")) {
        const [name, dflt] = cut(sub, "-");
        return lookup(name) ?? dflt;
      }
      for (const [sep, nonEmpty] of [
        [":?", true],
        ["?", false],
      ] as const) {
        if (!sub.includes(sep)) continue;
        const [name, msg] = cut(sub, sep);
        const v = lookup(name);
        if (v === undefined || (nonEmpty && v === "")) {
          errors.push({
            variable: name,
            message: `required variable ${name} is missing a value: ${msg}`,
          });
          return "";
        }
        return v;
      }
      const v = lookup(sub);
      if (v === undefined) unset.push(sub);
      return v ?? "";
    },
  );
  return { value, unset, errors };
}

// docker casts some interpolated values back to numbers/booleans (loader/interpolate.go), but
// only when the string changed, i.e. contained a variable.
type Cast = (s: string) => Yaml | undefined;
const toInt: Cast = (s) => (/^[+-]?\d+$/.test(s) ? Number(s) : undefined);
const toFloat: Cast = (s) =>
  s.trim() !== "" && Number.isFinite(Number(s)) ? Number(s) : undefined;
const toBool: Cast = (s) => {
  const l = s.toLowerCase();
  if (["y", "yes", "true", "on"].includes(l)) return true;
  if (["n", "no", "false", "off"].includes(l)) return false;
  return undefined;
};
const CASTS: Array<[string, Cast]> = [
  ["services.*.configs.[].mode", toInt],
  ["services.*.secrets.[].mode", toInt],
  ["services.*.healthcheck.retries", toInt],
  ["services.*.healthcheck.disable", toBool],
  ["services.*.deploy.replicas", toInt],
  ["services.*.deploy.update_config.parallelism", toInt],
  ["services.*.deploy.update_config.max_failure_ratio", toFloat],
  ["services.*.deploy.rollback_config.parallelism", toInt],
  ["services.*.deploy.rollback_config.max_failure_ratio", toFloat],
  ["services.*.deploy.restart_policy.max_attempts", toInt],
  ["services.*.deploy.placement.max_replicas_per_node", toInt],
  ["services.*.ports.[].target", toInt],
  ["services.*.ports.[].published", toInt],
  ["services.*.ulimits.*", toInt],
  ["services.*.ulimits.*.hard", toInt],
  ["services.*.ulimits.*.soft", toInt],
  ["services.*.privileged", toBool],
  ["services.*.read_only", toBool],
  ["services.*.stdin_open", toBool],
  ["services.*.tty", toBool],
  ["services.*.volumes.[].read_only", toBool],
  ["services.*.volumes.[].volume.nocopy", toBool],
  ["networks.*.external", toBool],
  ["networks.*.internal", toBool],
  ["networks.*.attachable", toBool],
  ["volumes.*.external", toBool],
  ["secrets.*.external", toBool],
  ["configs.*.external", toBool],
];

function casterFor(path: string[]): Cast | undefined {
  for (const [pattern, cast] of CASTS) {
    const parts = pattern.split(".");
    if (parts.length !== path.length) continue;
    if (parts.every((p, i) => p === "*" || p === path[i])) return cast;
  }
  return undefined;
}

/** Human path for messages: services.web.ports[0].published */
export function showPath(path: Array<string | number>): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

/**
 * Interpolate every string value of the file (keys are never interpolated, as in docker).
 * Missing required variables are problems; unset plain variables are warnings (one per name).
 */
export function interpolateTree(
  root: YamlMap,
  env: Record<string, string>,
  report: Report,
): YamlMap {
  const unsetSeen = new Map<string, string>();
  const requiredSeen = new Set<string>();

  const walk = (value: Yaml, path: Array<string | number>): Yaml => {
    if (typeof value === "string") {
      const res = substitute(value, env);
      const where = showPath(path);
      for (const name of res.unset) if (!unsetSeen.has(name)) unsetSeen.set(name, where);
      for (const err of res.errors) {
        // One problem per variable and key: a label list naming DOMAIN ten times is one fix.
        const key = `${err.variable ?? where}@${showPath(path.filter((p) => typeof p === "string"))}`;
        if (requiredSeen.has(key)) continue;
        requiredSeen.add(key);
        report.problem(
          where,
          err.variable
            ? `${err.message} (set ${err.variable} in the stack's env)`
            : `${err.message}; escape a literal $ as $$`,
        );
      }
      if (res.errors.length > 0) return value;
      if (res.value === value) return value;
      const cast = casterFor(path.map((p) => (typeof p === "number" ? "[]" : p)));
      if (!cast) return res.value;
      const casted = cast(res.value);
      if (casted === undefined) {
        report.problem(
          where,
          `value ${JSON.stringify(res.value)} after interpolation has the wrong type`,
        );
        return res.value;
      }
      return casted;
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i]));
    if (isMap(value)) {
      const out: YamlMap = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(v, [...path, k]);
      return out;
    }
    return value;
  };

  const out = walk(root, []) as YamlMap;
  for (const [name, where] of unsetSeen) {
    report.warn(
      where,
      `variable ${name} is not set; using an empty string (set it in the stack's env)`,
    );
  }
  return out;
}
