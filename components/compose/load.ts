// Reading compose files the way `docker stack deploy` does. Docker CLI 28 parses with Go's
// yaml.v3 (checked with `docker stack config`): YAML 1.2 core types (yes/on/y are strings, so
// `tty: yes` is rejected; `- 80:80` is a string), plus two YAML 1.1 habits it kept: a leading
// zero means octal (`mode: 0440` is 288) and `_` may group digits (`1_000`). `<<` merges work.
import {
  DocumentOptions,
  ParseOptions,
  parseDocument,
  Scalar,
  ScalarTag,
  SchemaOptions,
} from "yaml";
import { Report, Yaml, isMap, YamlMap } from "./types";

const INT = "tag:yaml.org,2002:int";

/** `0440` -> 288, as yaml.v3 reads it (plain YAML 1.2 would say 440). */
const legacyOctal: ScalarTag = {
  identify: (v) => typeof v === "number",
  default: true,
  tag: INT,
  format: "OCT",
  test: /^0[0-7]+$/,
  resolve: (s) => parseInt(s, 8),
};

/** `1_000` -> 1000. */
const groupedInt: ScalarTag = {
  identify: (v) => typeof v === "number",
  default: true,
  tag: INT,
  test: /^[-+]?[0-9]+(?:_[0-9]+)+$/,
  resolve: (s) => Number(s.replace(/_/g, "")),
};

/** Parse options shared by the loader, the emitter's quoting check and the tests. */
export const PARSE_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  version: "1.2",
  schema: "core",
  merge: true,
  // First, so that they win over the core schema's decimal int.
  customTags: (tags) => [legacyOctal, groupedInt, ...tags],
  uniqueKeys: true,
};
/** A compose file is small; this guards against alias bombs only. */
const MAX_ALIASES = 10000;

/** True when a plain (unquoted) scalar with this text would not be read back as this string. */
export function needsQuotes(text: string): boolean {
  const doc = parseDocument(text, { ...PARSE_OPTIONS, uniqueKeys: false });
  const node = doc.contents;
  return doc.errors.length > 0 || !(node instanceof Scalar) || node.value !== text;
}

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
  const data: unknown = doc.toJS({ maxAliasCount: MAX_ALIASES });
  if (!isMap(data)) {
    report.problem("(top level)", "the file must be a YAML mapping with a `services:` key");
    return undefined;
  }
  return data as YamlMap;
}

export type { Yaml };
