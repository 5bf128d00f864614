/**
 * Issue 22, the doors: the README stays short, every relative link in it and in docs/ resolves
 * (files, and headings in GitHub's slug style), every `npm run X` the docs name exists and the
 * commands answer --help, and docs/configuration.md names every config key.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { KNOWN_CONFIG_KEYS } from "../components/core/configKeys";

const root = path.resolve(__dirname, "..");
const read = (rel: string) => fs.readFileSync(path.join(root, rel), "utf8");
const DOCS = [
  "README.md",
  ...fs
    .readdirSync(path.join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];
const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;

/** The text outside fenced code blocks. */
const prose = (md: string) => md.replace(/^```[\s\S]*?^```/gm, "");

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -N for repeats. */
export function slugs(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(md).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1]
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

test("GitHub slugs", () => {
  expect([
    ...slugs("## Benchmark: `npm run bench`\n# The entry point's failover, measured\n"),
  ]).toEqual(["benchmark-npm-run-bench", "the-entry-points-failover-measured"]);
  expect([...slugs("## A\n## A\n```\n# not a heading\n```\n")]).toEqual(["a", "a-1"]);
});

test("README.md is at most 160 lines", () => {
  expect(read("README.md").split("\n").length).toBeLessThanOrEqual(160);
});

describe.each(DOCS)("%s", (doc) => {
  const text = read(doc);

  test("every relative link resolves, to a file and to a heading", () => {
    const broken: string[] = [];
    for (const m of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = m[1];
      if (/^[a-z]+:/i.test(link)) continue;
      const [file, anchor] = link.split("#");
      const target = file === "" ? doc : path.posix.join(path.posix.dirname(doc), file);
      if (!fs.existsSync(path.join(root, target))) {
        broken.push(`${link}: no file ${target}`);
        continue;
      }
      if (anchor !== undefined && target.endsWith(".md") && !slugs(read(target)).has(anchor))
        broken.push(`${link}: no heading #${anchor} in ${target}`);
    }
    expect(broken).toEqual([]);
  });

  test("every `npm run X` it names is a script of package.json", () => {
    const named = [...text.matchAll(/npm run (?:--silent )?([\w:-]+)/g)].map((m) => m[1]);
    expect(named.filter((n) => !(n in scripts))).toEqual([]);
  });
});

test("docs/configuration.md names every config key", () => {
  const doc = read("docs/configuration.md");
  expect(KNOWN_CONFIG_KEYS.filter((k) => !doc.includes(`\`${k}\``))).toEqual([]);
});

describe("the commands the docs name answer --help with their usage and exit 0", () => {
  const tsNode = require.resolve("ts-node/dist/bin");
  test.each(["render", "loadtest", "bench", "test:corpus", "test:lab", "status", "logs"])(
    "npm run %s -- --help",
    (name) => {
      const script = scripts[name];
      const ts = /^ts-node --transpile-only (\S+)$/.exec(script);
      const sh = /^bash (\S+)$/.exec(script);
      expect(ts ?? sh).not.toBeNull();
      const [cmd, args] = ts
        ? [process.execPath, [tsNode, "--transpile-only", ts[1], "--help"]]
        : ["bash", [sh![1], "--help"]];
      const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8", timeout: 60_000 });
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
      expect(r.stdout.toLowerCase()).toContain("usage");
    },
    90_000,
  );
});
