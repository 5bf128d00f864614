/**
 * Pulumi.yaml and every Pulumi.<stack>.yaml, judged by the Pulumi CLI's own project-config rules
 * (tests/fixtures/pulumi/rules.ts says where each comes from in the CLI's source), together with
 * the keys the README's "Set up and run" commands set. Nothing here runs the CLI: it is not
 * installable on these machines, and its rules are small and public.
 */
import * as fs from "fs";
import * as path from "path";
import { ConfigError, DEFAULTS, validateConfig } from "../components/swarm/config";
import { KNOWN_CONFIG_KEYS } from "../components/core/configKeys";
import {
  applyConfigSet,
  fullKey,
  loadProject,
  loadStackConfig,
  Project,
  SetupCommand,
  StackConfig,
  stackProblems,
} from "./fixtures/pulumi/rules";

const ROOT = path.resolve(__dirname, "..");
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");
const STACK_FILES = fs
  .readdirSync(ROOT)
  .filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f))
  .sort();
const stackOf = (file: string) => file.replace(/^Pulumi\.|\.yaml$/g, "");

/** Splits one shell line into words, honouring quotes; `# ...` ends it; `< FILE` is stdin. */
export function shellWords(line: string): { words: string[]; stdin: boolean } {
  const words: string[] = [];
  let word: string | undefined;
  let stdin = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unbalanced ${c} in: ${line}`);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "#" && word === undefined) {
      break;
    } else if (c === "<" && word === undefined) {
      stdin = true;
      // The redirect's file is not an argument.
      const rest = line.slice(i + 1).trimStart();
      const file = /^\S+/.exec(rest)?.[0] ?? "";
      i = line.length - rest.length + file.length - 1;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== undefined) words.push(word);
  return { words, stdin };
}

/** The `pulumi stack init` and `pulumi config set` commands of the README's setup block. */
export function setupCommands(readme: string): SetupCommand[] {
  const section = readme.split(/^## /m).find((s) => s.startsWith("Set up and run"));
  if (!section) throw new Error('README has no "## Set up and run" section');
  const block = /```(?:sh|bash|shell)\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README\'s "Set up and run" has no ```sh block');
  const commands: SetupCommand[] = [];
  for (const line of block.split("\n")) {
    const { words, stdin } = shellWords(line);
    if (words[0] !== "pulumi") continue;
    const args = words.slice(1);
    const flags = args.filter((a) => a.startsWith("-"));
    const positional = args.filter((a) => !a.startsWith("-"));
    if (positional[0] === "stack" && positional[1] === "init") {
      commands.push({ kind: "stack-init", stack: positional[2] });
    } else if (positional[0] === "config" && positional[1] === "set") {
      const secret = flags.includes("--secret");
      const value = positional[3];
      // Without a value the CLI reads it from stdin or prompts for it: it is set either way.
      if (value === undefined && !stdin && !secret) {
        throw new Error(`README: "${line.trim()}" sets no value`);
      }
      commands.push({
        kind: "config-set",
        key: positional[2],
        path: flags.includes("--path"),
        secret,
        value: value ?? "<from stdin>",
      });
    }
  }
  return commands;
}

/** A stack's config after the README's setup commands ran on it. */
function afterSetup(project: Project, start: StackConfig, commands: SetupCommand[]): StackConfig {
  const cfg: StackConfig = new Map(start);
  for (const c of commands) if (c.kind === "config-set") applyConfigSet(project.name, cfg, c);
  return cfg;
}

const loaded = loadProject(read("Pulumi.yaml"));
const project = loaded.project as Project;
const commands = setupCommands(read("README.md"));

test("Pulumi.yaml passes the CLI's project schema and its config checks", () => {
  expect(loaded.problems).toEqual([]);
  expect(project.name).toBe("do-swarm");
});

test("the README's setup block is found and read", () => {
  expect(commands.filter((c) => c.kind === "stack-init")).toHaveLength(1);
  expect(commands.filter((c) => c.kind === "config-set").length).toBeGreaterThan(0);
});

test("a new stack set up exactly as the README shows is accepted by the CLI", () => {
  const init = commands.find((c) => c.kind === "stack-init");
  const stack = init?.kind === "stack-init" ? init.stack : "dev";
  // A stack without its own file (say `pulumi stack init prod`) as well as the shipped one.
  expect(stackProblems(project, "new", afterSetup(project, new Map(), commands))).toEqual([]);
  const file = `Pulumi.${stack}.yaml`;
  const start = STACK_FILES.includes(file) ? loadStackConfig(read(file)) : new Map();
  expect(stackProblems(project, stack, afterSetup(project, start, commands))).toEqual([]);
});

describe.each(STACK_FILES)("%s", (file) => {
  const stack = stackOf(file);
  const cfg = loadStackConfig(read(file));

  test("with the README's setup commands: nothing missing, every value of its declared type", () => {
    expect(stackProblems(project, stack, afterSetup(project, cfg, commands))).toEqual([]);
  });

  test("as committed: no secret in plain text, every value it sets of its declared type", () => {
    expect(stackProblems(project, stack, cfg, { requireAll: false })).toEqual([]);
  });

  test("sets only keys the program knows", () => {
    const known = new Set(KNOWN_CONFIG_KEYS.map((k) => fullKey(project.name, k)));
    const own = [...cfg.keys()].filter((k) => k.startsWith(`${project.name}:`));
    expect(own.filter((k) => !known.has(k))).toEqual([]);
  });
});

/** The keys validateConfig reports as missing when nothing is set. */
const requiredByProgram = (() => {
  try {
    validateConfig({});
    return [];
  } catch (e) {
    return (e as ConfigError).problems.map((p) => /^do-swarm:(\w+)/.exec(p)?.[1]);
  }
})();

test("declared keys are keys the program reads, and their defaults are the program's own", () => {
  // The CLI merges declared defaults into the stack, but mocks and the SDK do not: the two
  // must agree, or the program would behave differently under the CLI and in the tests.
  const defaults = DEFAULTS as Record<string, unknown>;
  for (const [key, t] of Object.entries(project.config)) {
    if (key.includes(":")) continue;
    expect(KNOWN_CONFIG_KEYS).toContain(key);
    if (t.default !== undefined) expect([key, t.default]).toEqual([key, defaults[key]]);
    // A key without a default is one the CLI requires: it must be one the program refuses to
    // run without (clusterName and registry were not: issue #15).
    if (t.default === undefined) expect(requiredByProgram).toContain(key);
  }
});

describe("the rules catch what the CLI refuses", () => {
  const yaml = (config: string) => `name: do-swarm\nruntime: nodejs\nconfig:\n${config}`;
  const dev = (text = "") => loadStackConfig(`config:\n${text}`);

  test("an optional key declared without a default is required by the CLI (the issue's error)", () => {
    const p = loadProject(
      yaml(
        "  clusterName:\n    type: string\n  registry:\n    type: string\n  region:\n    type: string\n    default: fra1\n",
      ),
    );
    expect(p.problems).toEqual([]);
    expect(stackProblems(p.project as Project, "dev", dev())).toEqual([
      "Stack 'dev' is missing configuration values 'clusterName' and 'registry'",
    ]);
    // Set on the stack, or given a default, it is fine.
    expect(
      stackProblems(
        p.project as Project,
        "dev",
        dev("  do-swarm:clusterName: a\n  do-swarm:registry: r\n"),
      ),
    ).toEqual([]);
  });

  test("a secret set in plain text, and a value of the wrong type", () => {
    const p = loadProject(
      yaml(
        "  key:\n    type: string\n    secret: true\n  cidrs:\n    type: array\n    items:\n      type: string\n  count:\n    type: integer\n",
      ),
    ).project as Project;
    expect(
      stackProblems(
        p,
        "dev",
        dev("  do-swarm:key: plain\n  do-swarm:cidrs: [1, 2]\n  do-swarm:count: three\n"),
      ),
    ).toEqual([
      "Stack 'dev' with configuration key 'cidrs' must be of type 'array<string>'",
      "Stack 'dev' with configuration key 'count' must be of type 'integer'",
      "Stack 'dev' with configuration key 'key' must be encrypted as it's secret",
    ]);
    expect(
      stackProblems(
        p,
        "dev",
        dev('  do-swarm:key:\n    secure: v1:abc\n  do-swarm:cidrs: ["a"]\n  do-swarm:count: 3\n'),
      ),
    ).toEqual([]);
  });

  test("a secret key with a default can never pass (the merged default is not encrypted)", () => {
    const p = loadProject(yaml("  key:\n    type: string\n    secret: true\n    default: x\n"));
    expect(stackProblems(p.project as Project, "dev", dev())).toEqual([
      "Stack 'dev' with configuration key 'key' must be encrypted as it's secret",
    ]);
  });

  test("a default of the wrong type, an array without items, a misspelt attribute", () => {
    expect(loadProject(yaml('  n:\n    type: integer\n    default: "x"\n')).problems).toEqual([
      "The default value specified for configuration key 'n' is not of the expected type 'integer'",
    ]);
    expect(loadProject(yaml("  a:\n    type: array\n")).problems).toEqual([
      "The configuration key 'a' declares an array but does not specify the underlying type via the 'items' attribute",
    ]);
    const misspelt = loadProject(yaml("  a:\n    type: string\n    defualt: x\n")).problems;
    expect(misspelt.length).toBeGreaterThan(0);
    expect(misspelt.every((m) => m.startsWith("schema: #/config/a"))).toBe(true);
    expect(loadProject(yaml("  a:\n    type: map\n")).problems.length).toBeGreaterThan(0);
  });

  test("a key of another namespace needs a value, not a type", () => {
    expect(loadProject(yaml("  digitalocean:token:\n    type: string\n")).problems).toEqual([
      "Configuration key 'digitalocean:token' is not namespaced by the project and should not define a type",
      "Configuration key 'digitalocean:token' is namespaced and must provide an attribute 'value'",
    ]);
  });

  test("`config set --path` stores digits and true/false as numbers and booleans", () => {
    const p = loadProject(yaml("  cidrs:\n    type: array\n    items:\n      type: string\n"))
      .project as Project;
    const cfg: StackConfig = new Map();
    applyConfigSet(p.name, cfg, {
      kind: "config-set",
      key: "cidrs[0]",
      path: true,
      secret: false,
      value: "10.0.0.1/32",
    });
    expect(stackProblems(p, "dev", cfg)).toEqual([]);
    applyConfigSet(p.name, cfg, {
      kind: "config-set",
      key: "cidrs[1]",
      path: true,
      secret: false,
      value: "42",
    });
    expect(cfg.get("do-swarm:cidrs")?.value).toEqual(["10.0.0.1/32", 42]);
    expect(stackProblems(p, "dev", cfg)).toEqual([
      "Stack 'dev' with configuration key 'cidrs' must be of type 'array<string>'",
    ]);
  });

  test("the README's shell lines are read like a shell reads them", () => {
    expect(
      shellWords(
        `pulumi config set --path 'adminCidrs[0]' "$(curl -s https://x.me)/32"   # optional`,
      ),
    ).toEqual({
      words: ["pulumi", "config", "set", "--path", "adminCidrs[0]", "$(curl -s https://x.me)/32"],
      stdin: false,
    });
    expect(shellWords("pulumi config set --secret sshPrivateKey < ~/.ssh/do-swarm")).toEqual({
      words: ["pulumi", "config", "set", "--secret", "sshPrivateKey"],
      stdin: true,
    });
  });
});
