/**
 * The only-grow check as wired (components/data/volumes.ts): every volume's size waits for
 * onlyGrowing, which fails with one error naming every key a config would shrink.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { fakeCloud, recordProgram, TEST_PRIVATE_KEY } from "./harness";

beforeAll(async () => {
  await recordProgram(fakeCloud());
});

/** Output.promise() is the SDK's own way to await an output (internal, hence the cast). */
const settle = (o: unknown) => (o as { promise(): Promise<unknown> }).promise();

const volumes = [
  { name: "p-db-0", sizeGb: 10, key: "workers[0].volume" },
  { name: "p-db-1", sizeGb: 10, key: "workers[0].volume" },
  { name: "p-manager-0", sizeGb: 3, key: "managers.volume" },
];

test("raised or new sizes pass", async () => {
  const { onlyGrowing } = await import("../components/data/volumes");
  await expect(settle(onlyGrowing(volumes, { "p-db-0": 5, "p-db-1": 10 }))).resolves.toBe(true);
});

test("a lowered sizeGb fails the program with the key, the current size and the fix", () => {
  // A failed apply ends the Node process (as it ends `pulumi preview`): run it in its own.
  const script = [
    'const pulumi = require("@pulumi/pulumi");',
    'pulumi.runtime.setMocks({ newResource: (a) => ({ id: "1", state: a.inputs }), call: () => ({}) });',
    'const { onlyGrowing } = require("./components/data/volumes");',
    `onlyGrowing(${JSON.stringify(volumes)}, { "p-db-0": 20, "p-manager-0": 4 });`,
  ].join("\n");
  const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
    cwd: path.resolve(__dirname, ".."),
    encoding: "utf8",
    timeout: 60000,
  });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain(
    "do-swarm configuration has 2 problem(s):\n" +
      "  - do-swarm:workers[0].volume.sizeGb = 10: volume p-db-0 is already 20 GiB and volumes only grow: set 20 or more\n" +
      "  - do-swarm:managers.volume.sizeGb = 3: volume p-manager-0 is already 4 GiB and volumes only grow: set 4 or more",
  );
});

test("createVolumes asks for the current size of exactly its volumes", async () => {
  const pulumi = await import("@pulumi/pulumi");
  const digitalocean = await import("@pulumi/digitalocean");
  const { createVolumes } = await import("../components/data/volumes");
  const { planNodes } = await import("../components/core/nodes");
  const parent = new pulumi.ComponentResource("test:index:Parent", "ask");
  const nodes = planNodes("ask", {
    managers: { count: 1, size: "s-1vcpu-2gb" },
    workers: [{ name: "db", count: 2, size: "s-1vcpu-1gb", volume: { sizeGb: 10 } }],
  });
  const droplets = nodes.map(
    (n) =>
      new digitalocean.Droplet(
        `ask-${n.key}`,
        { image: "ubuntu-24-04-x64", size: n.size, region: "fra1" },
        { parent },
      ),
  );
  const seen: string[][] = [];
  const volumes = createVolumes(
    "ask",
    nodes,
    droplets,
    {
      region: "fra1",
      sshPrivateKey: TEST_PRIVATE_KEY,
      firewall: parent,
      currentSizes: (names) => {
        seen.push(names);
        return { "ask-db-0": 8 };
      },
    },
    parent,
  );
  expect(seen).toEqual([["ask-db-0", "ask-db-1"]]);
  await expect(settle(volumes.byNode[1]!.volume.size)).resolves.toBe(10);
});
