// The render CLI: stdout is the stack, stderr the warnings, exit 1 with every problem.
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { main, parseArgs } from "../components/compose/cli";
import { cleanup, tmpDir } from "./fixtures/compose/helpers";

afterAll(cleanup);

function run(argv: string[]): { code: number; stdout: string; stderr: string } {
  let stdout = "";
  let stderr = "";
  const out = jest
    .spyOn(process.stdout, "write")
    .mockImplementation((s) => ((stdout += String(s)), true));
  const err = jest
    .spyOn(process.stderr, "write")
    .mockImplementation((s) => ((stderr += String(s)), true));
  try {
    return { code: main(argv), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const STACK =
  "services:\n  web:\n    image: nginx:${TAG?set TAG}\n    restart: always\n    configs: [c]\nconfigs:\n  c:\n    file: ./c.conf\n";

test("parses --env, --replicas, --image and --out", () => {
  expect(
    parseArgs([
      "f.yml",
      "--env",
      "A=1=2",
      "--replicas",
      "web=3",
      "--image",
      "web=x@sha256:1",
      "--out",
      "d",
    ]),
  ).toEqual({
    files: ["f.yml"],
    env: { A: "1=2" },
    replicas: { web: 3 },
    images: { web: "x@sha256:1" },
    out: "d",
  });
  expect(() => parseArgs(["f.yml", "--replicas", "web=three"])).toThrow(/whole number/);
  expect(() => parseArgs(["f.yml", "--env", "NOEQUALS"])).toThrow(/KEY=VALUE/);
  expect(() => parseArgs([])).toThrow(/usage/);
  // Several files, merged in order as `docker stack deploy -c a -c b` merges them.
  expect(parseArgs(["a.yml", "--env", "A=1", "b.yml", "c.yml"]).files).toEqual([
    "a.yml",
    "b.yml",
    "c.yml",
  ]);
});

test("prints the stack on stdout and warnings on stderr; --out writes the bundle", () => {
  const dir = tmpDir({ "stack.yml": STACK, "c.conf": "x\n" });
  const out = path.join(dir, "bundle");
  const r = run([
    path.join(dir, "stack.yml"),
    "--env",
    "TAG=1.27",
    "--replicas",
    "web=3",
    "--out",
    out,
  ]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^version: "3\.13"\n/);
  expect(r.stdout).toContain("image: nginx:1.27");
  expect(r.stdout).toContain("replicas: 3");
  expect(r.stderr).toMatch(/^warning: .*services\.web\.restart: converted/m);
  expect(fs.readFileSync(path.join(out, "stack.yml"), "utf8")).toBe(r.stdout);
  const [rel] = fs.readdirSync(path.join(out, "configs"));
  expect(r.stdout).toContain(`file: ./configs/${rel}`);
});

test("exits 1 listing every problem on stderr, and prints no stack", () => {
  const dir = tmpDir({ "stack.yml": STACK });
  const r = run([path.join(dir, "stack.yml"), "--replicas", "nope=1"]);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  const errors = r.stderr.split("\n").filter((l) => l.startsWith("error: "));
  expect(errors).toHaveLength(3);
  expect(r.stderr).toMatch(/required variable TAG is missing a value: set TAG/);
  expect(r.stderr).toMatch(/configs\.c\.file: file \.\/c\.conf not found/);
  expect(r.stderr).toMatch(/options\.replicas\.nope/);
});

test("several files are merged in order, as docker stack deploy -c a -c b merges them", () => {
  const dir = tmpDir({
    "stack.yml": STACK,
    "c.conf": "x\n",
    "prod.yml": "services:\n  web:\n    deploy: { replicas: 4 }\n",
  });
  const r = run([path.join(dir, "stack.yml"), path.join(dir, "prod.yml"), "--env", "TAG=1.27"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("image: nginx:1.27");
  expect(r.stdout).toContain("replicas: 4");
});

test("`npm run --silent render` works end to end", async () => {
  const dir = tmpDir({ "stack.yml": STACK, "c.conf": "x\n" });
  const res = await new Promise<{ code: number; stdout: string }>((resolve) =>
    execFile(
      "npm",
      ["run", "--silent", "render", "--", path.join(dir, "stack.yml"), "--env", "TAG=1.27"],
      { cwd: path.resolve(__dirname, "..") },
      (err, stdout) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout }),
    ),
  );
  expect(res.code).toBe(0);
  expect(res.stdout).toContain("image: nginx:1.27");
}, 30000);
