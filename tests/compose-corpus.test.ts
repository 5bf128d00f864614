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
import {
  deepEqual,
  missingPaths,
  prefixes,
  replaceDirs,
  unhashRefs,
} from "./fixtures/compose/compare";
import { CORPUS, CORPUS_DIR, CorpusCase, stageCorpusFile } from "./fixtures/compose/corpus";
import {
  DockerResult,
  parseDockerOutput,
  requireDocker,
  stackConfig,
} from "./fixtures/compose/docker";

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

/** Renamed (hashed) config/secret keys of a render: new key -> original key. */
function renamedKeys(r: RenderResult): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of Object.keys(r.files)) {
    const m = /^(?:configs|secrets)\/(.+)-[0-9a-f]{8}/.exec(rel);
    if (m) out[`${m[1]}-${rel.match(/-([0-9a-f]{8})/)?.[1]}`] = m[1];
  }
  return out;
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
      const dirs = { [path.dirname(s.file)]: "<DIR>", [s.bundle]: "<DIR>" };
      const a = replaceDirs(parseDockerOutput(orig?.stdout ?? ""), dirs) as Record<string, never>;
      const b = replaceDirs(parseDockerOutput(ours?.stdout ?? ""), dirs) as Record<string, never>;
      const renamed = renamedKeys(r);
      const dropped = (svc: string, key: string) =>
        r.warnings.some((w) => w.includes(`: services.${svc}.${key}: `));
      expect(Object.keys(b.services).sort()).toEqual(Object.keys(a.services).sort());
      for (const [svc, origSvc] of Object.entries(
        a.services as Record<string, Record<string, unknown>>,
      )) {
        const ourSvc = (b.services as Record<string, Record<string, unknown>>)[svc];
        const keys = new Set([...Object.keys(origSvc), ...Object.keys(ourSvc)]);
        for (const key of keys) {
          if (dropped(svc, key)) continue;
          let x = origSvc[key];
          let y = ourSvc[key];
          if (key === "configs" || key === "secrets") {
            x = unhashRefs(x, {});
            y = unhashRefs(y, renamed);
          }
          if (key === "deploy") {
            // Deliberate: update/rollback defaults added; `restart:` converted to restart_policy.
            const strip = (d: unknown, restartConverted: boolean) => {
              const o = { ...(d as Record<string, unknown>) };
              delete o.update_config;
              delete o.rollback_config;
              if (restartConverted) delete o.restart_policy;
              return o;
            };
            const converted =
              origSvc.restart !== undefined &&
              !(origSvc.deploy as Record<string, unknown> | undefined)?.restart_policy;
            const ud = (ourSvc.deploy ?? {}) as Record<string, Record<string, unknown>>;
            const od = (origSvc.deploy ?? {}) as Record<string, Record<string, unknown>>;
            // Explicit update/rollback keys of the file survive exactly.
            for (const k of ["update_config", "rollback_config"]) {
              for (const [kk, vv] of Object.entries(od[k] ?? {}))
                expect([svc, k, kk, ud[k]?.[kk]]).toEqual([svc, k, kk, vv]);
            }
            x = strip(origSvc.deploy ?? {}, converted);
            y = strip(ourSvc.deploy ?? {}, converted);
          }
          if (!deepEqual(x, y))
            expect({ service: svc, key, value: y }).toEqual({ service: svc, key, value: x });
        }
      }
      for (const section of ["networks", "volumes"]) {
        expect(b[section] ?? {}).toEqual(a[section] ?? {});
      }
      // File-based configs/secrets ship the same bytes docker would have read.
      for (const kind of ["configs", "secrets"] as const) {
        for (const [key, obj] of Object.entries(
          (a[kind] ?? {}) as Record<string, Record<string, string>>,
        )) {
          if (!obj.file || obj.external) continue;
          const ourKey = Object.keys(b[kind] ?? {}).find(
            (k) => (renamed[k] ?? k) === key,
          ) as string;
          const ourObj = (b[kind] as Record<string, Record<string, string>>)[ourKey];
          const origBytes = fs.readFileSync(obj.file.replace("<DIR>", path.dirname(s.file)));
          const ourBytes = fs.readFileSync(ourObj.file.replace("<DIR>", s.bundle));
          expect(ourBytes.equals(origBytes)).toBe(true);
          if (obj.name) expect(ourObj.name).toMatch(new RegExp(`^${obj.name}-[0-9a-f]{8}$`));
          else expect(ourKey).toMatch(new RegExp(`^${key}-[0-9a-f]{8}$`));
        }
      }
    });
  }
});
