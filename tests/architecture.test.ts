/**
 * The layout's rule (docs/architecture.md): one folder per capability under components/, on
 * floors. core/ and compose/ import no other folder; a capability imports only folders on the
 * floors below its own; no module imports in a cycle; the doc lists every folder there is.
 */
import * as fs from "fs";
import * as path from "path";

const ROOT = path.join(__dirname, "..");
const COMPONENTS = path.join(ROOT, "components");

/** Floor of each folder: a folder may import only from folders on a lower floor (and itself). */
const FLOORS: Record<string, number> = {
  core: 0,
  compose: 0,
  maintenance: 1,
  data: 1,
  entryPoint: 1,
  status: 1,
  alerts: 1,
  stacks: 2,
  edge: 3,
  swarm: 4,
  program: 5,
};

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith(".ts") ? [p] : [];
  });
}

/** Each module's relative imports (import, export ... from, import(), require()), resolved. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const specs = [
    ...text.matchAll(/(?:from|import|require\(|import\()\s*["'](\.{1,2}\/[^"']*)["']/g),
  ].map((m) => m[1]);
  return specs.map((s) => {
    const base = path.resolve(path.dirname(file), s);
    for (const candidate of [`${base}.ts`, path.join(base, "index.ts")]) {
      if (fs.existsSync(candidate)) return candidate;
    }
    throw new Error(`${path.relative(ROOT, file)} imports ${s}, which does not resolve`);
  });
}

const files = tsFiles(COMPONENTS);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const folderOf = (f: string) => path.relative(COMPONENTS, f).split(path.sep)[0];

test("every module is in a folder with a floor", () => {
  const loose = files.filter((f) => !(folderOf(f) in FLOORS) || path.dirname(f) === COMPONENTS);
  expect(loose.map((f) => path.relative(ROOT, f))).toEqual([]);
});

test("no module imports one on its own floor in another folder, or on a floor above", () => {
  const upward: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const [a, b] = [folderOf(from), folderOf(to)];
      if (a !== b && FLOORS[b] >= FLOORS[a]) {
        upward.push(`${path.relative(ROOT, from)} -> ${path.relative(ROOT, to)}`);
      }
    }
  }
  expect(upward).toEqual([]);
});

test("no import cycle between modules", () => {
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const visit = (f: string, stack: string[]) => {
    if (state.get(f) === "done") return;
    if (state.get(f) === "open") {
      cycles.push(
        [...stack.slice(stack.indexOf(f)), f].map((x) => path.relative(ROOT, x)).join(" -> "),
      );
      return;
    }
    state.set(f, "open");
    for (const t of graph.get(f) ?? []) visit(t, [...stack, f]);
    state.set(f, "done");
  };
  for (const f of files) visit(f, []);
  expect(cycles).toEqual([]);
});

test("docs/architecture.md lists every folder under components/, and no other", () => {
  const folders = fs
    .readdirSync(COMPONENTS, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  expect(folders).toEqual(Object.keys(FLOORS).sort());
  const doc = fs.readFileSync(path.join(ROOT, "docs", "architecture.md"), "utf8");
  for (const f of folders) expect(doc).toContain(`components/${f}/`);
  const named = [...doc.matchAll(/components\/([A-Za-z]+)\//g)].map((m) => m[1]);
  expect([...new Set(named)].filter((n) => !folders.includes(n))).toEqual([]);
});
