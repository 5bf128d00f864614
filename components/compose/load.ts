// Reading compose files the way `docker stack deploy` does: docker parses with Go's yaml.v2,
// which implements YAML 1.1 (yes/no/on/off are booleans, 0440 is octal, `<<` merges) but NOT
// base-60 numbers, so `- 80:80` stays the string "80:80". The `yaml` package's 1.1 schema does
// parse base-60 (`80:80` would become 4880), so those tags are removed here.
import { parseDocument, Schema } from "yaml";
import { Report, Yaml, isMap, YamlMap } from "./types";

type Tags = NonNullable<ConstructorParameters<typeof Schema>[0]["customTags"]>;
type TagList = Exclude<Tags, (...args: never[]) => unknown>;

/**
 * yaml.v2 resolves neither base-60 numbers (`intTime`/`floatTime`, format "TIME") nor, for our
 * purposes, timestamps (docker's schema would reject a Date anyway; keeping the text is kinder).
 */
function docker11(tags: TagList): TagList {
  return tags.filter((t) => {
    if (typeof t === "string") return true;
    const fmt = "format" in t ? t.format : undefined;
    return fmt !== "TIME" && t.tag !== "tag:yaml.org,2002:timestamp";
  });
}

/** Parse options shared by the loader and by tests that need docker-like YAML 1.1 reading. */
export const PARSE_OPTIONS = {
  version: "1.1" as const,
  merge: true,
  customTags: docker11,
  // A compose file is small; this guards against alias bombs only.
  maxAliasCount: 10000,
  uniqueKeys: true,
};

/**
 * Decode file bytes: UTF-8 (with or without BOM) or UTF-16 LE/BE with BOM, as editors on
 * Windows write them. CRLF needs no handling: YAML treats it as a line break.
 */
export function decode(bytes: Buffer | string): string {
  if (typeof bytes === "string") return bytes.replace(/^\uFEFF/, "");
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) {
    return bytes.subarray(2).toString("utf16le");
  }
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
    const swapped = Buffer.from(bytes.subarray(2));
    swapped.swap16();
    return swapped.toString("utf16le");
  }
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return bytes.subarray(3).toString("utf8");
  }
  return bytes.toString("utf8");
}

/** Parse compose text into plain data with anchors and merge keys resolved. */
export function parseCompose(text: string, report: Report): YamlMap | undefined {
  const doc = parseDocument(text, PARSE_OPTIONS);
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0];
      report.problem(
        pos ? `line ${pos.line} column ${pos.col}` : "YAML",
        `invalid YAML: ${e.message.split("\n")[0]}`,
      );
    }
    return undefined;
  }
  const data: unknown = doc.toJS({ maxAliasCount: PARSE_OPTIONS.maxAliasCount });
  if (!isMap(data)) {
    report.problem("(top level)", "the file must be a YAML mapping with a `services:` key");
    return undefined;
  }
  return data as YamlMap;
}

export type { Yaml };
