// File-based configs and secrets, and env_file: everything `docker stack deploy` would read from
// disk next to the compose file is read here at render time and shipped in the bundle, because
// the deploy runs on a manager that has only the bundle.
//
// Swarm configs and secrets are immutable, so a changed file must become a new object. Each
// file object gets a content-hash suffix, keeping docker's naming rules:
//  - with an explicit `name: N`, docker uses N verbatim (no stack prefix): we emit `N-<hash>`;
//  - without, docker names it `<stack>_<key>`: we rename the key to `<key>-<hash>` (so swarm
//    names it `<stack>_<key>-<hash>`) and make every service reference to it say
//    `source: <key>-<hash>, target: <what the target was>` so containers see the same path.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Report, Yaml, YamlMap, isMap } from "./types";

export function shortHash(content: Buffer): string {
  return createHash("sha256").update(content).digest("hex").slice(0, 8);
}

/** Read a file next to the compose file, or record a problem naming both. */
export function readBeside(
  dir: string,
  rel: string,
  where: string,
  report: Report,
): Buffer | undefined {
  const abs = path.resolve(dir, rel);
  try {
    if (fs.statSync(abs).isDirectory()) {
      report.problem(where, `${abs} is a directory; point it at a file`);
      return undefined;
    }
    return fs.readFileSync(abs);
  } catch {
    const elsewhere = onlyBesideOther(dir, rel, report.sourceOf(where));
    report.problem(
      where,
      elsewhere
        ? `file ${rel} not found (looked for ${abs}): ${elsewhere}`
        : `file ${rel} not found (looked for ${abs}); create it or fix the path`,
    );
    return undefined;
  }
}

/** The first file's directory resolves every relative path; say so when the file sits elsewhere. */
export function onlyBesideOther(dir: string, rel: string, sourceFile: string): string | undefined {
  const otherDir = path.dirname(path.resolve(sourceFile));
  if (path.isAbsolute(rel) || otherDir === path.resolve(dir)) return undefined;
  const there = path.resolve(otherDir, rel);
  if (!fs.existsSync(there)) return undefined;
  const fix = path.relative(dir, there) || ".";
  return (
    `it exists only next to ${path.basename(sourceFile)} (${there}), but docker stack deploy ` +
    `resolves relative paths in every file against the first compose file's directory (${path.resolve(dir)}): ` +
    `write it as ${fix.startsWith(".") ? fix : `./${fix}`}, or move the file`
  );
}

function safeSegment(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, "_");
}

export interface FileObjects {
  /** Rewritten top-level section (configs or secrets). */
  section: YamlMap;
  /** Original key -> new key, for keys renamed to carry the hash. */
  renamed: Record<string, string>;
}

/**
 * Compose-spec `content:` (configs) and `environment:` (configs and secrets) are rejected by
 * docker stack's v3 schema; they become shipped files like any other. Returns the bytes,
 * undefined when the object has neither, or null after recording a problem.
 */
function inlineContent(
  kind: string,
  key: string,
  obj: YamlMap,
  env: Record<string, string>,
  report: Report,
): Buffer | undefined | null {
  const where = `${kind}.${key}`;
  if (typeof obj.content === "string") {
    report.warn(
      `${where}.content`,
      "converted to a file shipped with the stack (docker stack accepts only file:)",
    );
    return Buffer.from(obj.content, "utf8");
  }
  if (typeof obj.environment === "string") {
    const name = obj.environment;
    if (!Object.prototype.hasOwnProperty.call(env, name)) {
      report.problem(
        `${where}.environment`,
        `variable ${name} is not set; set ${name} in the stack's env`,
      );
      return null;
    }
    report.warn(
      `${where}.environment`,
      `converted to a file holding ${name} (docker stack accepts only file:)`,
    );
    return Buffer.from(env[name], "utf8");
  }
  return undefined;
}

/** Rewrite one top-level `configs:`/`secrets:` section; adds the shipped files to `files`. */
export function hashFileObjects(
  kind: "configs" | "secrets",
  section: YamlMap,
  dir: string,
  env: Record<string, string>,
  files: Record<string, Buffer>,
  report: Report,
): FileObjects {
  const out: YamlMap = {};
  const renamed: Record<string, string> = {};
  for (const key of Object.keys(section).sort()) {
    const obj = section[key];
    const where = `${kind}.${key}`;
    if (!isMap(obj)) {
      report.problem(where, `must be a mapping with file:, or external: true`);
      continue;
    }
    if (obj.external !== undefined && obj.external !== false) {
      out[key] = obj; // external objects are managed outside the stack: pass through
      continue;
    }
    const inline = inlineContent(kind, key, obj, env, report);
    if (inline === null) {
      out[key] = obj; // problem recorded; kept so references do not pile up more problems
      continue;
    }
    if (inline === undefined && (typeof obj.file !== "string" || obj.file === "")) {
      if (obj.driver === undefined) {
        report.warn(
          where,
          "has neither file:, external: nor driver:; docker stack deploy would read the compose directory as the file and fail. Passed through unchanged",
        );
      }
      out[key] = obj;
      continue;
    }
    const content = inline ?? readBeside(dir, String(obj.file), `${where}.file`, report);
    if (!content) {
      out[key] = obj; // keep it, so references to it do not pile up unrelated problems
      continue;
    }
    const hash = shortHash(content);
    const ext = inline ? "" : path.extname(String(obj.file)).replace(/[^A-Za-z0-9.]/g, "");
    const bundlePath = `${kind}/${safeSegment(key)}-${hash}${ext}`;
    files[bundlePath] = content;
    const rewritten: YamlMap = { ...obj, file: `./${bundlePath}` };
    delete rewritten.content;
    delete rewritten.environment;
    if (typeof obj.name === "string" && obj.name !== "") {
      rewritten.name = `${obj.name}-${hash}`;
      out[key] = rewritten;
      checkNameLength(String(rewritten.name), 0, `${where}.name`, report);
    } else {
      renamed[key] = `${key}-${hash}`;
      out[renamed[key]] = rewritten;
      checkNameLength(renamed[key], 2, where, report);
    }
  }
  return { section: out, renamed };
}

/**
 * Swarm refuses config/secret names over 64 characters. The 9-character hash suffix can push a
 * long name over; an unnamed object also gets `<stack>_` in front, whose length we cannot know.
 */
function checkNameLength(
  name: string,
  stackPrefixMin: number,
  where: string,
  report: Report,
): void {
  if (name.length + stackPrefixMin > 64) {
    report.problem(where, `swarm name ${name} would exceed 64 characters; shorten it`);
  } else if (stackPrefixMin > 0 && name.length > 48) {
    report.warn(
      where,
      `swarm name <stack>_${name} must stay within 64 characters: keep the stack name short or shorten the key`,
    );
  }
}

/** Point a service's `configs:`/`secrets:` references at renamed keys, keeping the target path. */
export function renameReferences(refs: Yaml, renamed: Record<string, string>): Yaml {
  if (!Array.isArray(refs)) return refs;
  return refs.map((ref) => {
    if (typeof ref === "string" && renamed[ref]) return { source: renamed[ref], target: ref };
    if (isMap(ref) && typeof ref.source === "string" && renamed[ref.source]) {
      return { ...ref, source: renamed[ref.source], target: ref.target ?? ref.source };
    }
    return ref;
  });
}

/**
 * Parse an env file like docker's opts.ParseEnvFile: `KEY=VALUE` lines taken literally (no
 * quotes, no interpolation), `#` comments and blank lines skipped, a bare `KEY` takes its value
 * from the environment (here: the render env) or is skipped.
 */
export function parseEnvFile(text: string, env: Record<string, string>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const raw of text.replace(/^\uFEFF/, "").split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, "");
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq >= 0) {
      out.push([line.slice(0, eq), line.slice(eq + 1)]);
    } else if (Object.prototype.hasOwnProperty.call(env, line.trimEnd())) {
      out.push([line.trimEnd(), env[line.trimEnd()]]);
    }
  }
  return out;
}
