// Writing the rendered stack. Two properties matter more than looks:
//  - Deterministic: Pulumi triggers a redeploy when the text changes, so the same input must
//    give the same bytes. Mapping keys are sorted (lists keep their order: it is meaningful),
//    so even reordering keys in the source does not redeploy.
//  - Re-read safely: the manager runs `docker stack deploy` on this text, which interpolates
//    again and parses YAML again. So every `$` in a value is written as `$$` (values are final:
//    nothing may be expanded twice, nor taken from the manager's environment), and strings that
//    docker's parser would read as something else (0440, 1_000, true, 0o17) are quoted, as are
//    those YAML 1.1 would retype (yes, on): older docker CLIs parsed YAML 1.1.
import { Document, visit } from "yaml";
import { needsQuotes } from "./load";
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
  // The YAML 1.1 schema (yes/on/0440/base-60/timestamps) decides the default quoting; strings
  // our docker-like reader would retype are forced into quotes. Over-quoting is harmless.
  const doc = new Document(ordered, { version: "1.1" });
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === "string" && node.value !== "" && !node.value.includes("\n")) {
        if (needsQuotes(node.value)) node.type = "QUOTE_DOUBLE";
      }
    },
  });
  return doc.toString({ lineWidth: 0, indentSeq: true, defaultStringType: "PLAIN" });
}
