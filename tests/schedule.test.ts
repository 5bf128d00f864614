/**
 * The benchmark's model of the engine's `--parallel` (tests/bench/schedule.ts), and that the
 * README and the workflows pass the value it recommends.
 */
import * as fs from "fs";
import * as path from "path";
import { boundedMakespan, RECOMMENDED_PARALLEL, Step } from "./bench/schedule";

const step = (id: string, seconds: number, ...deps: string[]): Step => ({ id, seconds, deps });

// A cluster in miniature: a VPC, then N droplets, each followed by its own ready command.
const cluster = (n: number): Step[] => [
  step("vpc", 5),
  ...Array.from({ length: n }, (_, i) => step(`d${i}`, 60, "vpc")),
  ...Array.from({ length: n }, (_, i) => step(`r${i}`, 150, `d${i}`)),
];

describe("boundedMakespan", () => {
  test("unbounded: the critical path", () => {
    expect(boundedMakespan(cluster(10), Infinity)).toBe(5 + 60 + 150);
  });

  test("parallel 1: everything in a row", () => {
    expect(boundedMakespan(cluster(3), 1)).toBe(5 + 3 * 60 + 3 * 150);
  });

  test("more workers than the widest level: as unbounded", () => {
    expect(boundedMakespan(cluster(10), 10)).toBe(215);
    expect(boundedMakespan(cluster(10), 64)).toBe(215);
  });

  test("waves: 4 droplets on 2 workers, first come first served", () => {
    // vpc 0..5; d0,d1 5..65; d2,d3 (ready since 5, before r0,r1 at 65) 65..125;
    // r0,r1 125..275; r2,r3 275..425.
    expect(boundedMakespan(cluster(4), 2)).toBe(425);
  });

  test("a step that finishes frees its worker for the next ready one at once", () => {
    const steps = [step("a", 10), step("b", 30), step("c", 5), step("d", 1, "a")];
    // a,b start at 0; a ends at 10: c (ready since 0) goes before d (ready at 10); c ends 15,
    // d runs 15..16; b ends at 30.
    expect(boundedMakespan(steps, 2)).toBe(30);
    expect(boundedMakespan([step("a", 10), step("c", 5), step("d", 100, "a")], 1)).toBe(115);
  });

  test("zero-second steps (components) take no worker", () => {
    const steps = [
      step("comp", 0),
      step("a", 10, "comp"),
      step("b", 10, "comp"),
      step("x", 0, "a"),
    ];
    expect(boundedMakespan(steps, 2)).toBe(10);
  });

  test("unknown dependencies are ignored; a cycle and a bad bound are errors", () => {
    expect(boundedMakespan([step("a", 3, "urn:stack")], 4)).toBe(3);
    expect(() => boundedMakespan([step("a", 1, "b"), step("b", 1, "a")], 4)).toThrow(/cycle/);
    expect(() => boundedMakespan([step("a", 1)], 0)).toThrow(/at least 1/);
  });

  test("the bound only ever slows a graph down, never below the critical path", () => {
    const g = cluster(20);
    const times = [1, 2, 4, 8, 16, 32, Infinity].map((p) => boundedMakespan(g, p));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeLessThanOrEqual(times[i - 1]);
    expect(times[times.length - 1]).toBe(215);
  });
});

describe(`the recommended --parallel (${RECOMMENDED_PARALLEL}) is what users and CI pass`, () => {
  const root = path.resolve(__dirname, "..");
  test("README: pulumi up --parallel; docs/testing.md: the benchmark's table", () => {
    const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
    expect(readme).toContain(`pulumi up --parallel ${RECOMMENDED_PARALLEL}`);
    const testing = fs.readFileSync(path.join(root, "docs", "testing.md"), "utf8");
    expect(testing).toContain(`managers workers parallel simulated-up`);
  });

  const dir = path.join(root, ".github/workflows");
  const workflows = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  test.each(workflows)("%s: every pulumi/actions step passes parallel", (f) => {
    const text = fs.readFileSync(path.join(dir, f), "utf8");
    // Each `uses: pulumi/actions@...` step, up to the next step.
    const steps = text.split(/\n\s*- /).filter((s) => /uses: pulumi\/actions@/.test(s));
    for (const s of steps)
      expect(s).toMatch(new RegExp(`\\n\\s+parallel: ${RECOMMENDED_PARALLEL}\\b`));
  });
});
