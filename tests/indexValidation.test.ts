/** index.ts refuses bad input before creating anything, naming every problem at once. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { fakeCloud, recordProgram, Recording, TEST_PRIVATE_KEY, TEST_PUBLIC_KEY } from "./harness";

let rec: Recording;
beforeAll(async () => {
  rec = await recordProgram(fakeCloud());
});

function run(config: Record<string, string>): string {
  pulumi.runtime.setAllConfig(config);
  let message = "";
  jest.isolateModules(() => {
    try {
      // index.ts runs at import: require it afresh, in isolation, for each configuration.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require("../index");
    } catch (e) {
      message = (e as Error).message;
    }
  });
  return message;
}

const keys = {
  "do-swarm:sshPublicKey": TEST_PUBLIC_KEY,
  "do-swarm:sshPrivateKey": TEST_PRIVATE_KEY,
};

test("config, stack files and ports are all reported in one error, and nothing is created", async () => {
  const message = run({
    ...keys,
    "do-swarm:managers": JSON.stringify({ count: 4, size: "s-1vcpu-2gb" }),
    "do-swarm:clusterName": "My Cluster",
    "do-swarm:stacks": JSON.stringify([
      { name: "web", file: "stacks/web/stack.yml", secretEnv: { X: "missingKey" } },
      { name: "gone", file: "stacks/nope.yml" },
      { name: "corpus", file: "tests/fixtures/compose/cases/dollar-escapes.yml" },
    ]),
  });
  expect(message).toContain("do-swarm configuration has");
  expect(message).toContain("do-swarm:managers.count = 4: use 1, 3, 5 or 7");
  expect(message).toContain('do-swarm:clusterName = "My Cluster"');
  expect(message).toContain(
    "do-swarm:stacks[web].secretEnv.X names config key 'missingKey', which is not set",
  );
  expect(message).toMatch(/do-swarm:stacks\[1\]\.file = "stacks\/nope.yml": no such compose file/);
  // dollar-escapes.yml requires ${DOMAIN?...}: a clear error naming the variable.
  expect(message).toMatch(/do-swarm:stacks\[corpus\].*DOMAIN/);
  await rec.settled();
  expect(rec.resources).toEqual([]);
});

test("a stack publishing the Docker API port is refused", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-ports-"));
  fs.writeFileSync(
    path.join(dir, "s.yml"),
    'services:\n  dind:\n    image: docker:dind\n    ports: ["2375:2375"]\n',
  );
  const message = run({
    ...keys,
    "do-swarm:stacks": JSON.stringify([{ name: "dind", file: path.join(dir, "s.yml") }]),
  });
  expect(message).toContain(
    "stack dind, service dind publishes 2375/tcp, which cannot be opened to the internet",
  );
});

test("a valid config passes validation", () => {
  expect(run({ ...keys })).toBe("");
});
