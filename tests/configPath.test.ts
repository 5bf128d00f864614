/**
 * Issue 16, point 3: `pulumi config set --path` values. For a nested path the CLI stores "true"
 * and "false" as booleans and digit strings as integers (pulumi/pulumi, sdk/go/common/resource/
 * config, Map.Set -> Value.coerceObject -> coerce), so `workers[0].labels.ssd true` arrives as
 * `true` and `stacks[0].env.TAG 2` as `2`. Both spellings must mean the same.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { ConfigError, RawConfig, validateConfig } from "../components/swarm/config";
import { renderFromHeader } from "../components/stacks/stackBundle";
import {
  fakeCloud,
  recordProgram,
  Recording,
  reveal,
  TEST_PRIVATE_KEY,
  TEST_PUBLIC_KEY,
} from "./harness";

const keys = { sshPublicKey: TEST_PUBLIC_KEY, sshPrivateKey: TEST_PRIVATE_KEY };
const problems = (raw: RawConfig) => {
  try {
    validateConfig(raw);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems;
  }
};
const pool = (labels: Record<string, unknown>) => [
  { name: "db", count: 1, size: "s-1vcpu-1gb", labels },
];
const stack = (env: Record<string, unknown>, secretEnv?: Record<string, unknown>) => [
  { name: "web", file: "stacks/web/stack.yml", env, ...(secretEnv ? { secretEnv } : {}) },
];

describe("validateConfig takes both CLI spellings of a label or env value", () => {
  test.each([
    [{ ssd: true }, { ssd: "true" }],
    [{ ssd: false }, { ssd: "false" }],
    [{ rack: 2 }, { rack: "2" }],
    [{ zone: 0 }, { zone: "0" }],
  ])("labels %j mean %j", (typed, quoted) => {
    const a = validateConfig({ ...keys, workers: pool(typed) });
    const b = validateConfig({ ...keys, workers: pool(quoted) });
    expect(a.workers[0].labels).toEqual(quoted);
    expect(a).toEqual(b);
  });

  test.each([
    [{ TAG: 2 }, { TAG: "2" }],
    [
      { DEBUG: true, WORKERS: 12345 },
      { DEBUG: "true", WORKERS: "12345" },
    ],
    // A leading zero stays a string in the CLI ("007"); a float only comes from YAML by hand.
    [
      { VERSION: "007", RATIO: 1.5 },
      { VERSION: "007", RATIO: "1.5" },
    ],
  ])("env %j means %j", (typed, quoted) => {
    const a = validateConfig({ ...keys, stacks: stack(typed) });
    const b = validateConfig({ ...keys, stacks: stack(quoted) });
    expect(a.stacks[0].env).toEqual(quoted);
    expect(a).toEqual(b);
  });

  test("secretEnv names keys; a key that the CLI made a number is its name as typed", () => {
    const a = validateConfig({ ...keys, stacks: stack({}, { PIN: 1234 }) });
    expect(a.stacks[0].secretEnv).toEqual({ PIN: "1234" });
  });

  test("values that are no scalar are still refused, naming key, value and fix", () => {
    expect(problems({ ...keys, workers: pool({ ssd: { a: 1 } }) })).toEqual([
      "do-swarm:workers[0].labels.ssd = {\"a\":1}: label values are strings of letters, digits, '.', '-', '_' (at most 63)",
    ]);
    expect(problems({ ...keys, workers: pool({ ssd: null }) })).toHaveLength(1);
    expect(problems({ ...keys, stacks: stack({ TAG: [2] }) })).toEqual([
      'do-swarm:stacks[0].env = {"TAG":[2]}: use an object of NAME: string',
    ]);
  });
});

// The whole way: the stack settings file as the CLI writes it, handed to the program the way
// the CLI hands it over (every value a string; objects as JSON), and index.ts run under mocks.
describe("the program, from a Pulumi.<stack>.yaml set with --path", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-path-"));
  const file = path.join(dir, "app.yml");
  fs.writeFileSync(file, "services:\n  app:\n    image: registry.example/app:${TAG}\n");
  // `pulumi config set --path 'workers[0].labels.ssd' true` and `... 'stacks[0].env.TAG' 2`
  // leave unquoted YAML; a hand edit or `--type string` leaves quoted strings.
  const settings = (name: string, ssd: string, tag: string) => `config:
  do-swarm:clusterName: ${name}
  do-swarm:managers:
    count: 1
    size: s-1vcpu-2gb
  do-swarm:workers:
    - name: db
      count: 1
      size: s-1vcpu-1gb
      labels:
        ssd: ${ssd}
  do-swarm:stacks:
    - name: app
      file: ${file}
      env:
        TAG: ${tag}
`;
  const asCliPasses = (yaml: string) =>
    Object.fromEntries(
      Object.entries((parse(yaml) as { config: Record<string, unknown> }).config).map(([k, v]) => [
        k,
        typeof v === "string" ? v : JSON.stringify(v),
      ]),
    );

  let rec: Recording;
  const errors: string[] = [];
  beforeAll(async () => {
    rec = await recordProgram(fakeCloud());
    for (const [name, ssd, tag] of [
      ["typed", "true", "2"],
      ["quoted", '"true"', '"2"'],
    ]) {
      const config = asCliPasses(settings(name, ssd, tag));
      pulumi.runtime.setAllConfig({
        ...config,
        "do-swarm:sshPublicKey": TEST_PUBLIC_KEY,
        "do-swarm:sshPrivateKey": TEST_PRIVATE_KEY,
      });
      jest.isolateModules(() => {
        try {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          require("../index");
        } catch (e) {
          errors.push(`${name}: ${(e as Error).message}`);
        }
      });
      await rec.settled();
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("the CLI's form really is a boolean and a number", () => {
    const config = asCliPasses(settings("typed", "true", "2"));
    expect(config["do-swarm:workers"]).toContain('"labels":{"ssd":true}');
    expect(config["do-swarm:stacks"]).toContain('"env":{"TAG":2}');
  });

  test("both are accepted", () => {
    expect(errors).toEqual([]);
  });

  test.each(["typed", "quoted"])("%s: the label reaches the node and its tags", (name) => {
    const register = reveal(rec.byName(`${name}-db-0-register`).rawInputs) as { create: string };
    expect(register.create).toMatch(/bash "\$f" 'node-[^']+' 'do-swarm.pool=db' 'ssd=true'$/m);
    const droplet = reveal(rec.byName(`${name}-db-0`).rawInputs) as { tags: string[] };
    expect(droplet.tags.some((t) => t.includes("ssd") && t.includes("true"))).toBe(true);
  });

  test.each(["typed", "quoted"])("%s: the env value is interpolated as typed", (name) => {
    const deploy = reveal(rec.byName(`${name}-stack-app-deploy`).rawInputs) as { create: string };
    expect(parse(renderFromHeader(deploy.create)).services.app.image).toBe(
      "registry.example/app:2",
    );
  });
});
