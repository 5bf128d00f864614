/** The whole program (index.ts) with volumes and backups in its config. */
import * as pulumi from "@pulumi/pulumi";
import {
  fakeCloud,
  recordProgram,
  Recording,
  reveal,
  TEST_PRIVATE_KEY,
  TEST_PUBLIC_KEY,
} from "./harness";

let rec: Recording;
beforeAll(async () => {
  rec = await recordProgram(fakeCloud());
});

const keys = {
  "do-swarm:sshPublicKey": TEST_PUBLIC_KEY,
  "do-swarm:sshPrivateKey": TEST_PRIVATE_KEY,
};
const workers = JSON.stringify([
  { name: "web", count: 1, size: "s-1vcpu-1gb" },
  {
    name: "db",
    count: 1,
    size: "s-2vcpu-4gb",
    volume: { sizeGb: 20 },
    backups: { plan: "daily", hour: 8 },
  },
]);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the program's exports, read by name
function run(config: Record<string, string>): { program?: any; message: string } {
  pulumi.runtime.setAllConfig(config);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let program: any;
  let message = "";
  jest.isolateModules(() => {
    try {
      // index.ts runs at import: require it afresh, in isolation, for each configuration.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      program = require("../index");
    } catch (e) {
      message = (e as Error).message;
    }
  });
  return { program, message };
}

test("a pool's volume and backups reach the cluster; the token goes to the restore point as a secret", async () => {
  const { program, message } = run({
    ...keys,
    "do-swarm:clusterName": "prod",
    "do-swarm:managers": JSON.stringify({ count: 1, size: "s-1vcpu-2gb" }),
    "do-swarm:workers": workers,
    "digitalocean:token": "dop_v1_from_config",
  });
  expect(message).toBe("");
  await rec.settled();
  expect(program.dataVolumes).toEqual([{ node: "prod-db-0", volume: "prod-db-0", sizeGb: 20 }]);
  expect(rec.ofType("digitalocean:index/volume:Volume").map((v) => v.name)).toEqual([
    "prod-db-0-volume",
  ]);
  expect(reveal(rec.byName("prod-db-0").rawInputs)).toMatchObject({
    backups: true,
    backupPolicy: { plan: "daily", hour: 8 },
  });
  const snapshot = rec.byName("prod-db-0-volume-snapshot");
  expect((reveal(snapshot.rawInputs) as { stdin: string }).stdin.split("\n")[0]).toBe(
    "dop_v1_from_config",
  );
  expect((reveal(snapshot.rawInputs) as { delete: string }).delete).toContain(
    "'https://api.digitalocean.com'",
  );
  const cost = await new Promise<number>((r) => program.estimatedMonthlyCostUsd.apply(r));
  // s-1vcpu-2gb 12 + s-1vcpu-1gb 6 + s-2vcpu-4gb 24 (+30% daily backups 7.2) + 20 GiB x 0.10.
  expect(cost).toBe(12 + 6 + 24 + 7.2 + 2);
});

test("volume names are checked with the cluster name, with every other problem", () => {
  const { message } = run({
    ...keys,
    "do-swarm:clusterName": "1prod",
    "do-swarm:workers": workers,
    "do-swarm:managers": JSON.stringify({ count: 3, size: "s-1vcpu-2gb", volume: { sizeGb: 0 } }),
  });
  expect(message).toContain("do-swarm:managers.volume.sizeGb = 0: use a whole number of GiB");
  expect(message).toContain(
    'do-swarm:clusterName = "1prod": workers[1].volume names each volume after its node (1prod-db-0)',
  );
});
