/**
 * restoreFrom by name against a snapshot that no longer exists (issue 21, item 10): the look-up
 * (getVolumeSnapshot, which fails "no volume snapshot found with name") runs only for a volume
 * DigitalOcean does not have yet; existing volumes need none and are never replaced.
 * Each case runs in its own Node process: a failed look-up ends the process, as it ends
 * `pulumi preview`.
 */
import { spawnSync } from "child_process";
import * as path from "path";

/** A program of one pool of two volumes restored from `gone`, with `existing` volumes present. */
function run(existing: Record<string, number>) {
  const script = `
const pulumi = require("@pulumi/pulumi");
const calls = [];
const volumes = {};
pulumi.runtime.setMocks({
  newResource: (a) => {
    if (a.type === "digitalocean:index/volume:Volume") volumes[a.name] = a.inputs;
    return { id: String(100000 + Object.keys(volumes).length), state: { ...a.inputs, ipv4Address: "203.0.113.7" } };
  },
  call: (a) => {
    calls.push(a.token.split(":").pop());
    console.error("invoke " + a.token.split(":").pop());
    // DigitalOcean's answer for a deleted snapshot, as the provider words it.
    if (a.token === "digitalocean:index/getVolumeSnapshot:getVolumeSnapshot") {
      throw new Error("no volume snapshot found with name " + a.inputs.name);
    }
    return {};
  },
});
const digitalocean = require("@pulumi/digitalocean");
const { createVolumes } = require("./components/data/volumes");
const { planNodes } = require("./components/core/nodes");
const parent = new pulumi.ComponentResource("test:index:Parent", "rs");
const nodes = planNodes("rs", {
  managers: { count: 1, size: "s-1vcpu-2gb" },
  workers: [{ name: "db", count: 2, size: "s-1vcpu-1gb", volume: { sizeGb: 10, restoreFrom: "gone" } }],
});
const droplets = nodes.map((n) => new digitalocean.Droplet("rs-" + n.key, { image: "x", size: n.size, region: "fra1" }, { parent }));
createVolumes("rs", nodes, droplets, {
  region: "fra1", sshPrivateKey: "k", firewall: parent,
  currentSizes: () => (${JSON.stringify(existing)}),
}, parent);
// Printed once the program has settled (a failed look-up ends the process before).
setTimeout(() => console.log(JSON.stringify({ calls, volumes })), 1500);
`;
  return spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
    cwd: path.resolve(__dirname, ".."),
    encoding: "utf8",
    timeout: 60000,
  });
}

test("every volume exists: a deleted restoreFrom snapshot is not looked up, nothing fails or changes", () => {
  const r = run({ "rs-db-0": 10, "rs-db-1": 10 });
  expect(r.stderr).not.toContain("no volume snapshot found");
  expect(r.stderr).not.toContain("error serializing");
  // (The exit status says nothing here: the runtime's promise-leak check under mocks sets 1.)
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as {
    calls: string[];
    volumes: Record<string, Record<string, unknown>>;
  };
  expect(out.calls).not.toContain("getVolumeSnapshot");
  expect(Object.keys(out.volumes).sort()).toEqual(["rs-db-0-volume", "rs-db-1-volume"]);
  for (const v of Object.values(out.volumes)) {
    // No id and no format: both are in ignoreChanges, so the provider keeps the old inputs
    // (volumes.test.ts checks the option): no diff, no replacement.
    expect(v.snapshotId).toBeUndefined();
    expect(v.initialFilesystemType).toBeUndefined();
    expect(v.size).toBe(10);
  }
});

test("a volume still to be created (a scale-out) needs the snapshot: the look-up runs and fails the program", () => {
  const r = run({ "rs-db-0": 10 });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain("invoke getVolumeSnapshot");
  // The look-up's failure fails the new volume's input (the mocks drop the provider's wording).
  expect(r.stderr).toContain('error serializing property "snapshotId"');
});
