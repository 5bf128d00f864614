// Writing the rendered stack. Two properties matter more than looks:
//  - Deterministic: Pulumi triggers a redeploy when the text changes, so the same input must
//    give the same bytes. Mapping keys are sorted (lists keep their order: it is meaningful),
//    so even reordering keys in the source does not redeploy.
//  - Re-read safely: the manager runs `docker stack deploy` on this text, which interpolates
//    again and parses YAML 1.1. So every `$` in a value is written as `$$` (values are final:
//    nothing may be expanded twice, nor taken from the manager's environment), and strings that
//    YAML 1.1 would read as something else (yes, on, 0440, 1_000) are quoted.
import { Document } from "yaml";
import { Yaml, YamlMap, isMap } from "./types";

const TOP_ORDER = ["version", "services", "networks", "volumes", "secrets", "configs"];

function topRank(k: string): number {
  const i = TOP_ORDER.indexOf(k);
  return i < 0 ? TOP_ORDER.length : i;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0; // code-unit order: locale-independent
}

/** Sorted copy with `$` escaped in string values (never in keys: docker does not expand keys). */
export function canonical(value: Yaml): Yaml {
  if (typeof value === "string") return value.replace(/\$/g, "$$$$");
  if (Array.isArray(value)) return value.map(canonical);
  if (isMap(value)) {
    const out: YamlMap = {};
    for (const k of Object.keys(value).sort(compareKeys)) out[k] = canonical(value[k]);
    return out;
  }
  return value;
}

export function emitStack(stack: YamlMap): string {
  const ordered: YamlMap = {};
  const keys = Object.keys(stack).sort((a, b) => topRank(a) - topRank(b) || compareKeys(a, b));
  for (const k of keys) ordered[k] = canonical(stack[k]);
  // The full YAML 1.1 schema (including base-60 and timestamps) decides quoting, so anything
  // yaml.v2 might read as a non-string is quoted; over-quoting is harmless.
  const doc = new Document(ordered, { version: "1.1" });
  return doc.toString({ lineWidth: 0, indentSeq: true, defaultStringType: "PLAIN" });
}
