// Acceptance (NOT part of `npm test`: it reads /work/shared/corpus): every corpus file that has
// an override partner (a file named like it plus a suffix: swarmprom.yml and
// swarmprom-traefik.yml, ct-stack-dockercoins.yml and ct-stack-dockercoins+healthcheck's copy
// ct-stack-dockercoins-healthcheck.yml, ...) is merged with it as `docker stack deploy -c BASE
// -c PARTNER` would merge them. Where docker accepts the pair, our merged bundle must render,
// pass `docker stack config`, and agree with docker's merge key by key. Where docker refuses the
// pair (e.g. files whose versions differ), the renderer must refuse it too.
// Run: npx jest --testMatch '**/tests/corpus/*.corpus.ts'
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderStack, RenderResult, StackRenderError } from "../../components/compose";
import { writeBundle } from "../../components/compose/cli";
import { CORPUS, stageCorpusFile } from "../fixtures/compose/corpus";

const CORPUS_DIR = process.env.DO_SWARM_CORPUS ?? "";
import { differences } from "../fixtures/compose/differential";
import { requireDocker, stackConfig } from "../fixtures/compose/docker";

if (CORPUS_DIR === "" || !fs.existsSync(CORPUS_DIR)) {
  throw new Error(`corpus directory ${CORPUS_DIR} is missing: the acceptance tests need it`);
}
const FILES = fs
  .readdirSync(CORPUS_DIR)
  .filter((f) => f.endsWith(".yml"))
  .sort();

/** [base, partner] for every file named like another plus `-SUFFIX` or `.SUFFIX`. */
export function overridePairs(files: string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const base of files) {
    const stem = base.replace(/\.yml$/, "");
    for (const other of files) {
      if (other !== base && (other.startsWith(`${stem}-`) || other.startsWith(`${stem}.`))) {
        pairs.push([base, other]);
      }
    }
  }
  return pairs;
}

const PAIRS: string[][] = [
  ...overridePairs(FILES),
  // A base with two overrides, as the course chapters stack them.
  [
    "ct-stack-dockercoins.yml",
    "ct-stack-dockercoins-healthcheck.yml",
    "ct-stack-dockercoins-gelf.yml",
  ],
];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "compose-overrides-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeAll(requireDocker);

test("the corpus has override pairs", () => {
  expect(PAIRS.length).toBeGreaterThanOrEqual(4);
});

describe.each(PAIRS.map((p) => [p.join(" + "), p] as const))("%s", (_title, names) => {
  test("merges as docker merges it, and docker accepts the merged bundle", async () => {
    const root = path.join(tmp, names.join("+").replace(/\.yml/g, ""));
    // All files in one directory, with what each needs beside it.
    const files = names.map((n) => stageCorpusFile(CORPUS_DIR, n, CORPUS[n], root));
    const env = Object.assign({}, ...names.map((n) => CORPUS[n]?.env ?? {}));
    const images = Object.assign({}, ...names.map((n) => CORPUS[n]?.images ?? {}));
    const original = await stackConfig(files, env);
    let result: RenderResult | undefined;
    let error: unknown;
    try {
      result = renderStack({ file: files, env, images });
    } catch (e) {
      error = e;
    }
    if (original.code !== 0) {
      // docker refuses the pair: so must we, with a reason naming a file.
      expect(error).toBeInstanceOf(StackRenderError);
      expect((error as StackRenderError).problems[0]).toMatch(/^\/.*\.yml: /);
      console.log(
        `${names.join(" + ")}: docker refuses (${original.stderr.trim()}); so do we: ${(error as StackRenderError).problems.join("; ")}`,
      );
      return;
    }
    if (error) throw error;
    const r = result as RenderResult;
    const bundle = path.join(root, "bundle");
    writeBundle(bundle, r.yaml, r.files);
    const ours = await stackConfig(path.join(bundle, "stack.yml"), env);
    expect(ours.stderr.replace(/^time=.*level=warning.*\n/gm, "")).toBe("");
    expect(ours.code).toBe(0);
    expect(
      differences({
        file: files[0],
        bundle,
        result: r,
        original: original.stdout,
        rendered: ours.stdout,
      }),
    ).toEqual([]);
    for (const w of r.warnings) expect(files.some((f) => w.startsWith(`${f}: `))).toBe(true);
  });
});
