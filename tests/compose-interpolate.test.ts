// Interpolation must be docker's, quirks included: the table is checked against our
// implementation AND against `docker stack config` itself, in one docker run.
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { substitute } from "../components/compose/interpolate";
import { parseDockerOutput, requireDocker, stackConfig } from "./fixtures/compose/docker";
import { at, cleanup, readBack, render, renderError, tmpDir } from "./fixtures/compose/helpers";

afterAll(cleanup);

const ENV = { SET: "value", EMPTY: "", DOLLAR: "a$b" };

// [template, expected value] under ENV.
const TABLE: Array<[string, string]> = [
  ["${SET}", "value"],
  ["$SET", "value"],
  ["${set}", ""], // names are case-sensitive; lower-case is still a valid name
  ["${UNSET}", ""],
  ["pre ${SET} post", "pre value post"],
  ["${SET}${SET}", "valuevalue"],
  ["${SET:-dflt}", "value"],
  ["${EMPTY:-dflt}", "dflt"],
  ["${UNSET:-dflt}", "dflt"],
  ["${SET-dflt}", "value"],
  ["${EMPTY-dflt}", ""],
  ["${UNSET-dflt}", "dflt"],
  ["${SET?msg}", "value"],
  ["${EMPTY?msg}", ""],
  ["${SET:?msg}", "value"],
  ["$$", "$"],
  ["a$$b", "a$b"],
  ["$$SET", "$SET"],
  ["$${SET}", "${SET}"],
  ["${DOLLAR}", "a$b"], // values are never expanded again
  // A default containing `$` is inserted literally (SOURCES.md "Known divergence").
  ["${UNSET:-$2y$05$oZcj4F}", "$2y$05$oZcj4F"],
  ["${UNSET:-x$$y}", "x$$y"],
  // No nesting: the braces end at the first `}`.
  ["${UNSET:-${SET}}", "${SET}"],
  ["${SET:-${UNSET:-x}}", "value}"],
  // Operators are tried in docker's order anywhere in the braces: `-` before `:?`.
  ["${EMPTY:?must-be-set}", "be-set"],
  // Unbraced names take an operator suffix up to the end of the string.
  ["$SET-tail/x", "value"],
  ["$UNSET-tail/x", "tail/x"],
  ["${REGISTRY-127.0.0.1:5000}/rng:${TAG-latest}", "127.0.0.1:5000/rng:latest"],
];

describe("substitute", () => {
  test.each(TABLE)("%s -> %s", (template, expected) => {
    const res = substitute(template, ENV);
    expect(res.errors).toEqual([]);
    expect(res.value).toBe(expected);
  });

  test("unset plain variables are reported (for a warning), defaulted ones are not", () => {
    expect(substitute("${A}-$B-${C:-x}-${D-y}", {}).unset).toEqual(["A"]);
    expect(substitute("$B", {}).unset).toEqual(["B"]);
  });

  test.each([
    ["${UNSET?need it}", "UNSET", "need it"],
    ["${EMPTY:?please set}", "EMPTY", "please set"],
    ["${UNSET:?}", "UNSET", ""],
  ])("required %s is an error naming the variable and its message", (template, variable, msg) => {
    const res = substitute(template, ENV);
    expect(res.errors).toEqual([
      { variable, message: `required variable ${variable} is missing a value: ${msg}` },
    ]);
  });

  test("every missing required variable of a string is reported, not just the first", () => {
    const res = substitute("${A?a} and ${B:?b}", {});
    expect(res.errors.map((e) => e.variable)).toEqual(["A", "B"]);
  });

  test.each(["$", "a $ b", "${}", "$1", "${1A}"])("invalid template %j is an error", (t) => {
    expect(substitute(t, ENV).errors).toHaveLength(1);
    expect(substitute(t, ENV).errors[0].variable).toBeUndefined();
  });
});

test("the table agrees with docker stack config", async () => {
  requireDocker();
  const environment: Record<string, string> = {};
  TABLE.forEach(([t], i) => (environment[`C${String(i).padStart(2, "0")}`] = t));
  const dir = tmpDir({
    "stack.yml": stringify({ version: "3.13", services: { s: { image: "busybox", environment } } }),
  });
  const res = await stackConfig(path.join(dir, "stack.yml"), ENV);
  expect(res.code).toBe(0);
  const got = (parseDockerOutput(res.stdout) as { services: { s: { environment: object } } })
    .services.s.environment;
  const want = Object.fromEntries(TABLE.map(([, v], i) => [`C${String(i).padStart(2, "0")}`, v]));
  expect(got).toEqual(want);
});

describe("interpolation in a stack", () => {
  test("values are interpolated, keys are not", () => {
    const r = render(
      'services:\n  s:\n    image: "busybox:${TAG}"\n    labels:\n      "${KEY}": "${VAL}"\n',
      { env: { TAG: "1.36", KEY: "k", VAL: "v" } },
    );
    const out = readBack(r.yaml);
    expect(out.services.s.image).toBe("busybox:1.36");
    expect(out.services.s.labels).toEqual({ "${KEY}": "v" });
  });

  test("never reads process.env", () => {
    process.env.COMPOSE_TEST_LEAK = "leaked";
    try {
      const r = render(
        "services:\n  s:\n    image: busybox\n    command: echo ${COMPOSE_TEST_LEAK}\n",
      );
      expect(readBack(r.yaml).services.s.command).toBe("echo ");
    } finally {
      delete process.env.COMPOSE_TEST_LEAK;
    }
  });

  test("an unset variable becomes empty with one warning naming it", () => {
    const r = render("services:\n  s:\n    image: busybox\n    command: a ${NOPE} b ${NOPE}\n");
    expect(r.warnings.filter((w) => w.includes("variable NOPE is not set"))).toHaveLength(1);
    expect(at(r.warnings, "services.s.command")).toHaveLength(1);
  });

  test("`$` in final values is written as `$$`, so docker on the manager cannot expand it", () => {
    const r = render("services:\n  s:\n    image: busybox\n    command: echo $$HOME ${PW}\n", {
      env: { PW: "$apr1$x" },
    });
    expect(r.yaml).toContain("command: echo $$HOME $$apr1$$x");
    expect(readBack(r.yaml).services.s.command).toBe("echo $HOME $apr1$x");
  });

  test("a missing required variable is an error per key, naming file, key, variable and message", () => {
    const e = renderError(
      "services:\n  s:\n    image: busybox\n    environment:\n      A: ${DOMAIN?Variable not set}\n      B: x${DOMAIN?Variable not set}\n",
    );
    expect(e.problems).toEqual([
      `${e.file}: services.s.environment.A: required variable DOMAIN is missing a value: Variable not set (set DOMAIN in the stack's env)`,
      `${e.file}: services.s.environment.B: required variable DOMAIN is missing a value: Variable not set (set DOMAIN in the stack's env)`,
    ]);
  });

  test("interpolated numbers and booleans are cast where docker casts them", () => {
    const r = render(
      'services:\n  s:\n    image: busybox\n    tty: "${T}"\n    ports:\n      - target: 80\n        published: "${P}"\n    deploy:\n      replicas: "${R}"\n',
      { env: { T: "yes", P: "8080", R: "3" } },
    );
    const s = readBack(r.yaml).services.s;
    expect(s.tty).toBe(true);
    expect(s.ports[0].published).toBe(8080);
    expect(s.deploy.replicas).toBe(3);
    expect(r.publishedPorts).toEqual([
      { service: "s", port: 8080, protocol: "tcp", mode: "ingress" },
    ]);
  });

  test("a cast that fails is an error", () => {
    const e = renderError(
      'services:\n  s:\n    image: busybox\n    deploy:\n      replicas: "${R}"\n',
      {
        env: { R: "many" },
      },
    );
    expect(e.problems[0]).toContain("services.s.deploy.replicas");
  });

  test("file contents (configs) are not interpolated", () => {
    const r = render(
      "services:\n  s:\n    image: busybox\n    configs: [c]\nconfigs:\n  c:\n    file: ./c.conf\n",
      { files: { "c.conf": "path ${HOME} $x\n" }, env: { HOME: "/root" } },
    );
    const [content] = Object.values(r.files);
    expect(content.toString()).toBe("path ${HOME} $x\n");
    expect(fs.existsSync(r.file)).toBe(true);
  });
});
