/**
 * Every remote command of the whole program (index.ts under mocks), against what
 * @pulumi/command 1.2.1 does with it (provider/pkg/provider/remote/commandOutputs.go, run):
 * - unless `addPreviousOutputInEnv` is false, every update and delete first sends the previous
 *   stdout and stderr as SSH environment requests (PULUMI_COMMAND_STDOUT/STDERR); stock sshd
 *   refuses them (AcceptEnv LANG LC_*) and the provider logs a warning each time (issue 16);
 * - stdout and stderr are kept in the state, in plain text unless listed in
 *   `additionalSecretOutputs`; stderr is also streamed to the log (`logging`).
 */
import * as fs from "fs";
import * as path from "path";
import { allScripts, COMPONENTS } from "./scriptFiles";
import {
  fakeCloud,
  isSecret,
  recordProgram,
  Recording,
  reveal,
  TEST_PRIVATE_KEY,
  TEST_PUBLIC_KEY,
} from "./harness";

let rec: Recording;
beforeAll(async () => {
  rec = await recordProgram(fakeCloud(), {
    "do-swarm:sshPublicKey": TEST_PUBLIC_KEY,
    "do-swarm:sshPrivateKey": TEST_PRIVATE_KEY,
    "do-swarm:stacks": JSON.stringify([{ name: "web", file: "stacks/web/stack.yml" }]),
  });
  await import("../index");
  await rec.settled();
});

const commands = () => rec.ofType("command:remote:Command");

test("the program has the commands this file is about", () => {
  const kinds = commands().map((c) =>
    c.name.replace(/^swarm-test-/, "").replace(/^.*-(\w+)$/, "$1"),
  );
  // "id": the swarm's IDs read on manager-0 (swarm-id.sh, see bootstrap.ts).
  expect(new Set(kinds)).toEqual(new Set(["ready", "init", "id", "join", "register", "deploy"]));
});

test("no command sends its previous output as environment requests (no warning per update)", () => {
  for (const c of commands()) {
    expect([
      c.name,
      (reveal(c.rawInputs) as Record<string, unknown>).addPreviousOutputInEnv,
    ]).toEqual([c.name, false]);
  }
});

test("so nothing may read it: no script uses PULUMI_COMMAND_STDOUT or _STDERR", () => {
  const files = allScripts();
  for (const f of files) {
    expect(fs.readFileSync(path.join(COMPONENTS, f), "utf8")).not.toMatch(/PULUMI_COMMAND_/);
  }
});

test("every command that gets a secret on stdin keeps its stdin and stderr secret in the state", () => {
  const withSecretStdin = commands().filter((c) => isSecret(c.rawInputs.stdin));
  expect(withSecretStdin.map((c) => c.name.replace(/^swarm-test-/, "")).sort()).toEqual(
    expect.arrayContaining([
      "swarm-init",
      "manager-1-join",
      "worker-0-register",
      "stack-web-deploy",
    ]),
  );
  for (const c of withSecretStdin) {
    expect([c.name, c.additionalSecretOutputs]).toEqual([
      c.name,
      expect.arrayContaining(["stdin", "stderr"]),
    ]);
  }
});
