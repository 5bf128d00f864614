/**
 * index.ts under mocks: a mistyped config key and an engine too old for the hooks are reported
 * with the other problems, in the one error, before anything is created.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { KNOWN_CONFIG_KEYS } from "../components/core/configKeys";
import {
  CLI_REQUIREMENTS,
  engineFeatures,
  engineProblems,
  MIN_PULUMI_CLI,
  requireEngineVersion,
} from "../components/core/engine";
import {
  fakeCloud,
  indexError as run,
  recordProgram,
  Recording,
  TEST_KEYS as keys,
} from "./harness";

let rec: Recording;
beforeAll(async () => {
  rec = await recordProgram(fakeCloud());
});

/** The SDK's store, where it keeps the engine's SupportsFeature answers (see engine.ts). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const store = (require("@pulumi/pulumi/runtime/state") as { getStore(): Record<string, unknown> })
  .getStore;

test("an unknown key and a near-miss are reported with the other problems; nothing is created", async () => {
  const message = run({
    ...keys,
    "do-swarm:manager": JSON.stringify({ count: 5 }),
    "do-swarm:stack": JSON.stringify([{ name: "web", file: "stacks/web/stack.yml" }]),
    "do-swarm:colour": "blue",
    "do-swarm:workers": JSON.stringify([{ name: "Bad Pool", count: 1 }]),
    // Named by a stack's secretEnv: known, even though no table lists it.
    "do-swarm:webPassword": "s3cret",
    "do-swarm:stacks": JSON.stringify([
      { name: "web", file: "stacks/web/stack.yml", secretEnv: { PASSWORD: "webPassword" } },
    ]),
    "digitalocean:token": "dop_v1_not_ours_to_check",
  });
  expect(message).toContain("do-swarm configuration has 5 problem(s)");
  expect(message).toContain("do-swarm:workers[0].name");
  expect(message).toContain(
    "do-swarm:manager is not a setting of this program and would be ignored: did you mean do-swarm:managers?",
  );
  expect(message).toContain(
    "do-swarm:stack is not a setting of this program and would be ignored: did you mean do-swarm:stacks?",
  );
  expect(message).toMatch(/do-swarm:colour is not a setting .*no known key is close/);
  expect(message).not.toContain("webPassword");
  expect(message).not.toContain("s3cret");
  expect(message).not.toContain("digitalocean");
  await rec.settled();
  expect(rec.resources).toEqual([]);
});

test("every key docs/configuration.md's table lists is known, and only those", () => {
  const table = fs.readFileSync(path.join(__dirname, "..", "docs", "configuration.md"), "utf8");
  const documented = [...table.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((m) => m[1]);
  expect(documented.sort()).toEqual([...KNOWN_CONFIG_KEYS].sort());
});

describe("the engine", () => {
  test("under mocks the SDK store answers, and resource hooks are there", () => {
    expect(engineFeatures()).toEqual({ resourceHooks: true });
    expect(engineProblems(engineFeatures())).toEqual([]);
  });

  test("an engine without resource hooks is refused with the other problems, before anything", async () => {
    const s = store();
    const saved = s.supportsResourceHooks;
    s.supportsResourceHooks = false;
    try {
      const message = run({ ...keys, "do-swarm:managers": JSON.stringify({ count: 2 }) });
      expect(message).toContain("do-swarm configuration has 2 problem(s)");
      expect(message).toContain("do-swarm:managers.count = 2");
      expect(message).toContain(
        `the Pulumi CLI running this program has no resource hooks (added in 3.182.0): do-swarm needs Pulumi CLI ${MIN_PULUMI_CLI} or newer: check with \`pulumi version\``,
      );
    } finally {
      s.supportsResourceHooks = saved;
    }
    await rec.settled();
    expect(rec.resources).toEqual([]);
  });

  test("no hooks at all, and an SDK whose store has moved (no answer: no false alarm)", () => {
    expect(engineProblems({ resourceHooks: false })).toEqual([
      `the Pulumi CLI running this program has no resource hooks (added in 3.182.0): do-swarm needs Pulumi CLI ${MIN_PULUMI_CLI} or newer: check with \`pulumi version\`, upgrade as on https://www.pulumi.com/docs/install/ (README, Prerequisites)`,
    ]);
    expect(engineProblems(undefined)).toEqual([]);
  });

  test("the version check asks the engine for the minimum and adds how to upgrade", async () => {
    const spy = jest
      .spyOn(pulumi.runtime, "requirePulumiVersion")
      .mockRejectedValueOnce(new Error("Pulumi CLI version 3.218.0 does not satisfy >=3.238.0"))
      .mockResolvedValueOnce(undefined);
    await expect(requireEngineVersion()).rejects.toThrow(
      /3\.218\.0 does not satisfy >=3\.238\.0\ndo-swarm needs Pulumi CLI 3\.238\.0 or newer/,
    );
    await expect(requireEngineVersion()).resolves.toBeUndefined();
    expect(spy).toHaveBeenCalledWith(`>=${MIN_PULUMI_CLI}`);
    spy.mockRestore();
  });

  test("Pulumi.yaml and the README state the same minimum, the newest requirement", () => {
    const project = parse(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"));
    expect(project.requiredPulumiVersion).toBe(`>=${MIN_PULUMI_CLI}`);
    expect(CLI_REQUIREMENTS.at(-1)?.version).toBe(MIN_PULUMI_CLI);
    const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
    const prereq = readme.split(/^## /m).find((s) => s.startsWith("Prerequisites")) ?? "";
    expect(prereq).toContain(`**${MIN_PULUMI_CLI} or newer**`);
    expect(prereq).toContain("pulumi version");
    for (const r of CLI_REQUIREMENTS) expect(prereq).toContain(r.version);
  });
});
