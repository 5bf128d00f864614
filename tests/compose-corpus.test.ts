// Acceptance: every real-world file in /work/shared/corpus behaves as SOURCES.md says, checked
// against docker itself (`docker stack config`) rather than against our own idea of compose.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderStack, RenderResult, StackRenderError } from "../components/compose";
import { writeBundle } from "../components/compose/cli";
import { interpolateTree } from "../components/compose/interpolate";
import { decode, parseCompose } from "../components/compose/load";
import { Report } from "../components/compose/types";
import { missingPaths, prefixes } from "./fixtures/compose/compare";
import { differences, renamedKeys } from "./fixtures/compose/differential";
import { CORPUS, CORPUS_DIR, CorpusCase, stageCorpusFile } from "./fixtures/compose/corpus";
import { DockerResult, requireDocker, stackConfig } from "./fixtures/compose/docker";

if (!fs.existsSync(CORPUS_DIR)) {
  throw new Error(
    `corpus directory ${CORPUS_DIR} is missing: the acceptance tests cannot run without it`,
  );
}
const FILES = fs
  .readdirSync(CORPUS_DIR)
  .filter((f) => f.endsWith(".yml"))
  .sort();

interface Staged {
  c: CorpusCase;
  file: string;
  root: string;
  bundle: string;
  result?: RenderResult;
  error?: unknown;
  /** docker on the original file and on our bundle, started concurrently in beforeAll. */
  original?: Promise<DockerResult>;
  rendered?: Promise<DockerResult>;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "compose-corpus-"));
const staged = new Map<string, Staged>();

beforeAll(() => {
  requireDocker();
  for (const name of FILES) {
    const c = CORPUS[name];
    if (!c) continue; // reported by its own test
    const root = path.join(tmp, name.replace(/\.yml$/, ""));
    const file = stageCorpusFile(name, root);
    const s: Staged = { c, file, root, bundle: path.join(root, "bundle") };
    try {
      s.result = renderStack({ file, env: c.env, images: c.images });
      writeBundle(s.bundle, s.result.yaml, s.result.files);
      s.rendered = stackConfig(path.join(s.bundle, "stack.yml"), c.env);
      if (c.expect === "deploy") s.original = stackConfig(file, c.env);
    } catch (e) {
      s.error = e;
    }
    staged.set(name, s);
  }
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("every corpus file has a row in the table (and every row a file)", () => {
  expect(FILES.filter((f) => !CORPUS[f])).toEqual([]);
  expect(Object.keys(CORPUS).filter((f) => !FILES.includes(f))).toEqual([]);
  expect(FILES.length).toBeGreaterThanOrEqual(30);
});

function rendered(name: string): { s: Staged; r: RenderResult } {
  const s = staged.get(name);
  if (!s) throw new Error(`${name} was not staged`);
  if (s.error) throw s.error;
  if (!s.result) throw new Error(`${name} did not render`);
  return { s, r: s.result };
}

describe.each(FILES)("%s", (name) => {
  const c = CORPUS[name] ?? { expect: "render" };

  test(`renders as SOURCES.md expects (${c.expect})`, () => {
    const { s, r } = rendered(name);
    for (const w of c.warnings ?? []) {
      expect(r.warnings.filter((x) => x.includes(`: ${w}: `))).not.toEqual([]);
    }
    for (const w of r.warnings) expect(w.startsWith(`${s.file}: `)).toBe(true);
    expect(r.yaml).toMatch(/^version: "3\.13"\n/);
    for (const rel of Object.keys(r.files)) {
      expect(path.isAbsolute(rel) || rel.split("/").includes("..")).toBe(false);
      expect(r.yaml).toContain(`file: ./${rel}`);
    }
  });

  if (c.expect === "normalize") {
    test("without images for its build-only services: one clear error naming file, service and key", () => {
      const s = staged.get(name) as Staged;
      let err: unknown;
      try {
        renderStack({ file: s.file, env: c.env });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StackRenderError);
      const problems = (err as StackRenderError).problems;
      for (const where of c.errorsWithoutImages ?? []) {
        const p = problems.find((x) => x.includes(`: ${where}: `));
        expect(p).toBeDefined();
        expect(p?.startsWith(`${s.file}: `)).toBe(true);
        expect(p).toMatch(/add image:.*configure a registry/);
      }
      expect(problems).toHaveLength(c.errorsWithoutImages?.length ?? 0);
    });
  }

  const required = [
    ...new Set(
      [
        ...fs.readFileSync(path.join(CORPUS_DIR, name), "utf8").matchAll(/\$\{([A-Za-z_]\w*):?\?/g),
      ].map((m) => m[1]),
    ),
  ];
  if (required.length > 0) {
    test(`without env: an error naming each required variable (${required.join(", ")})`, () => {
      const s = staged.get(name) as Staged;
      expect(() => renderStack({ file: s.file, images: c.images })).toThrow(StackRenderError);
      try {
        renderStack({ file: s.file, images: c.images });
      } catch (e) {
        const problems = (e as StackRenderError).problems.join("\n");
        for (const v of required)
          expect(problems).toContain(`required variable ${v} is missing a value`);
      }
    });
  }

  test("docker stack config accepts the rendered bundle", async () => {
    const { s } = rendered(name);
    const res = await (s.rendered as Promise<DockerResult>);
    expect(res.stderr.replace(/^time=.*level=warning.*\n/gm, "")).toBe("");
    expect(res.code).toBe(0);
  });

  test("no key is lost silently (input paths after interpolation vs output)", () => {
    const { s, r } = rendered(name);
    const report = new Report(s.file);
    const input = interpolateTree(
      parseCompose(decode(fs.readFileSync(s.file)), report) ?? {},
      c.env ?? {},
      report,
    );
    const output = parseCompose(r.yaml, new Report("out")) ?? {};
    // Hashed configs/secrets keep their content under a renamed key: map them back.
    for (const kind of ["configs", "secrets"] as const) {
      const sec = output[kind];
      if (sec && typeof sec === "object" && !Array.isArray(sec)) {
        const back: Record<string, unknown> = {};
        const renamed = renamedKeys(r);
        for (const [k, v] of Object.entries(sec)) back[renamed[k] ?? k] = v;
        output[kind] = back as never;
      }
    }
    const reported = (p: string) =>
      prefixes(p).some((q) => r.warnings.some((w) => w.includes(`: ${q}: `)));
    expect(missingPaths(input, output).filter((p) => !reported(p))).toEqual([]);
  });

  if (c.expect === "deploy") {
    test("differential: docker reads our bundle as it reads the original (but for deliberate changes)", async () => {
      const { s, r } = rendered(name);
      const [orig, ours] = await Promise.all([s.original, s.rendered]);
      expect(orig?.code).toBe(0);
      expect(ours?.code).toBe(0);
      const diff = differences({
        file: s.file,
        bundle: s.bundle,
        result: r,
        original: orig?.stdout ?? "",
        rendered: ours?.stdout ?? "",
      });
      expect(diff).toEqual([]);
    });
  }
});
