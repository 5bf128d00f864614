/**
 * What a move of files must not change: the program (index.ts) under mocks, for the configs the
 * index tests use, registers the same resources (type and logical name: a rename replaces a
 * user's droplet) and sends the same bytes (each remote command's create/update/delete/stdin,
 * each droplet's user data). The recording is tests/fixtures/layout.json, made on the layout
 * before the move to one folder per capability; regenerate it (only for an intended change)
 * with DO_SWARM_WRITE_LAYOUT=1 npx jest tests/layout.test.ts.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { fakeCloud, FakeOutputs, recordProgram, Recording, TEST_KEYS } from "./harness";
import { SHOP } from "./fixtures/edge/cases";

const FIXTURE = path.join(__dirname, "fixtures", "layout.json");

const CONFIGS: Record<string, Record<string, string>> = {
  // tests/index.test.ts
  default: {
    ...TEST_KEYS,
    "do-swarm:adminCidrs": JSON.stringify(["198.51.100.0/24"]),
    "do-swarm:stacks": JSON.stringify([
      { name: "web", file: "stacks/web/stack.yml" },
      { name: "dockercoins", file: "stacks/dockercoins/stack.yml", replicas: { worker: 4 } },
    ]),
  },
  // tests/edge-index.test.ts
  edge: {
    ...TEST_KEYS,
    "do-swarm:stacks": JSON.stringify([
      { name: "shop", file: "tests/fixtures/edge/shop.yml" },
      { name: "coins", file: "stacks/dockercoins/stack.yml" },
    ]),
    "do-swarm:domains": JSON.stringify([
      { name: "app.example.com", zone: "example.com", https: true },
      { name: "api.example.com", zone: "example.com", https: true },
    ]),
    "do-swarm:edge": JSON.stringify(SHOP.edge),
  },
  // tests/edge-handoff-index.test.ts: the edge with the failover agents
  edgeHandoff: {
    ...TEST_KEYS,
    "do-swarm:stacks": JSON.stringify([{ name: "shop", file: "tests/fixtures/edge/shop.yml" }]),
    "do-swarm:domains": JSON.stringify([
      { name: "app.example.com", zone: "example.com", https: true },
      { name: "api.example.com", zone: "example.com", https: true },
    ]),
    "do-swarm:edge": JSON.stringify(SHOP.edge),
    "do-swarm:failoverToken": "dop_v1_handoff-test-token",
  },
  // tests/index-volumes.test.ts: data volumes, backups, restore points
  volumes: {
    ...TEST_KEYS,
    "do-swarm:clusterName": "prod",
    "do-swarm:managers": JSON.stringify({ count: 1, size: "s-1vcpu-2gb" }),
    "do-swarm:workers": JSON.stringify([
      { name: "web", count: 1, size: "s-1vcpu-1gb" },
      {
        name: "db",
        count: 1,
        size: "s-2vcpu-4gb",
        volume: { sizeGb: 20 },
        backups: { plan: "daily", hour: 8 },
      },
    ]),
    "digitalocean:token": "dop_v1_from_config",
  },
  // The load balancer in front, with the edge behind it (tests/fixtures/edge/cases.ts BEHIND_LB).
  loadBalancer: {
    ...TEST_KEYS,
    "do-swarm:entryPoint": "loadBalancer",
    "do-swarm:stacks": JSON.stringify([
      { name: "shop", file: "tests/fixtures/edge/shop.yml" },
      { name: "coins", file: "stacks/dockercoins/stack.yml" },
    ]),
    "do-swarm:domains": JSON.stringify([
      { name: "app.example.com", zone: "example.com", https: true },
      { name: "api.example.com", zone: "example.com", https: true },
    ]),
    "do-swarm:edge": JSON.stringify(SHOP.edge),
  },
};

/** Configs the program refuses: validateAll must report the same problems in the same order. */
const REFUSED: Record<string, Record<string, string>> = {
  // tests/indexEntryPoint.test.ts, plus a bad cluster name, key, secretEnv and port clash
  manyProblems: {
    ...TEST_KEYS,
    "do-swarm:clusterName": "Bad_Name",
    "do-swarm:entryPoint": "loadBalancer",
    "do-swarm:stacks": JSON.stringify([
      { name: "web", file: "stacks/web/stack.yml", secretEnv: { TOKEN: "webToken" } },
      { name: "gone", file: "stacks/missing/stack.yml" },
    ]),
    "do-swarm:loadBalancer": JSON.stringify({ httpPort: 8080 }),
    "do-swarm:domains": JSON.stringify([
      { name: "app.example.com", zone: "example.org", https: true },
      { name: "www.example.com", zone: "example.com", https: true },
      { name: "www.example.com", zone: "example.com" },
    ]),
    "do-swarm:region": "Frankfurt",
    "do-swarm:regoin": "fra1",
    "do-swarm:failoverToken": "not one token",
  },
  // The edge's routes checked against the stacks, with a port the edge publishes too.
  edgeProblems: {
    ...TEST_KEYS,
    "do-swarm:stacks": JSON.stringify([
      { name: "shop", file: "tests/fixtures/edge/shop.yml" },
      { name: "web", file: "stacks/web/stack.yml" },
    ]),
    "do-swarm:domains": JSON.stringify([{ name: "app.example.com", zone: "example.com" }]),
    "do-swarm:edge": JSON.stringify(SHOP.edge),
    "do-swarm:workers": JSON.stringify([{ name: "db", count: 1, volume: { sizeGb: 0 } }]),
  },
};

interface Shape {
  resources: string[];
  sha256: Record<string, string>;
  /** What the program threw ("" when it threw nothing). */
  error?: string;
}

const sha = (v: unknown) =>
  createHash("sha256")
    .update(JSON.stringify(v) ?? "undefined")
    .digest("hex");

function shapeOf(recorded: Recording["resources"]): Shape {
  const sha256: Record<string, string> = {};
  for (const r of recorded) {
    if (r.type === "command:remote:Command") {
      for (const k of ["create", "update", "delete", "stdin"]) {
        if (r.rawInputs[k] !== undefined) sha256[`${r.name}.${k}`] = sha(r.rawInputs[k]);
      }
    }
    if (r.type === "digitalocean:index/droplet:Droplet") {
      sha256[`${r.name}.userData`] = sha(r.rawInputs.userData);
    }
  }
  return {
    resources: recorded.map((r) => `${r.type}::${r.name}`).sort(),
    sha256: Object.fromEntries(Object.entries(sha256).sort(([a], [b]) => a.localeCompare(b))),
  };
}

let rec: Recording;
// Each run gets a fresh fake cloud (its addresses are numbered from 1).
let cloud: FakeOutputs = fakeCloud();
const shapes: Record<string, Shape> = {};

beforeAll(async () => {
  rec = await recordProgram((type, name, inputs) => cloud(type, name, inputs));
  jest.spyOn(pulumi.log, "warn").mockImplementation(async () => undefined);
  for (const [name, config] of Object.entries(CONFIGS)) {
    cloud = fakeCloud();
    pulumi.runtime.setAllConfig(config);
    const start = rec.resources.length;
    jest.isolateModules(() => {
      // index.ts runs at import: require it afresh, in isolation, for each configuration.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require("../index");
    });
    await rec.settled();
    shapes[name] = shapeOf(rec.resources.slice(start));
  }
  for (const [name, config] of Object.entries(REFUSED)) {
    cloud = fakeCloud();
    pulumi.runtime.setAllConfig(config);
    const start = rec.resources.length;
    let error = "";
    jest.isolateModules(() => {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require("../index");
      } catch (e) {
        // Paths in messages are absolute: the fixture holds them relative to the project.
        error = (e as Error).message.split(path.resolve(__dirname, "..")).join("<project>");
      }
    });
    await rec.settled();
    shapes[name] = { ...shapeOf(rec.resources.slice(start)), error };
  }
  if (process.env.DO_SWARM_WRITE_LAYOUT === "1") {
    fs.writeFileSync(FIXTURE, JSON.stringify(shapes, null, 2) + "\n");
  }
});

const recorded = JSON.parse(fs.readFileSync(FIXTURE, "utf8")) as Record<string, Shape>;

test.each(Object.keys(CONFIGS))("config %s: the same resources, by type and name", (name) => {
  expect(shapes[name].resources.length).toBeGreaterThan(0);
  expect(shapes[name].resources).toEqual(recorded[name].resources);
});

test.each(Object.keys(CONFIGS))(
  "config %s: the same bytes to every node (commands, user data)",
  (name) => {
    expect(Object.keys(shapes[name].sha256).length).toBeGreaterThan(0);
    expect(shapes[name].sha256).toEqual(recorded[name].sha256);
  },
);

test.each(Object.keys(REFUSED))(
  "config %s: the same problems, in the same order, and nothing created",
  (name) => {
    expect(shapes[name].error).toMatch(/problem\(s\)/);
    expect(shapes[name].error).toBe(recorded[name].error);
    expect(shapes[name].resources).toEqual([]);
  },
);
