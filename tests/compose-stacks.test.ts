// The project's own stacks (stacks/*/stack.yml) render cleanly, pass docker, and say what the
// issue asks of them.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderStack } from "../components/compose";
import { writeBundle } from "../components/compose/cli";
import { missingPaths } from "./fixtures/compose/compare";
import { differences } from "./fixtures/compose/differential";
import { requireDocker, stackConfig } from "./fixtures/compose/docker";
import { readBack } from "./fixtures/compose/helpers";

const STACKS = path.resolve(__dirname, "../stacks");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "compose-stacks-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const names = fs
  .readdirSync(STACKS)
  .filter((d) => fs.existsSync(path.join(STACKS, d, "stack.yml")));

test("both project stacks exist", () => {
  expect(names.sort()).toEqual(expect.arrayContaining(["dockercoins", "web"]));
});

describe.each(names)("stacks/%s", (name) => {
  const file = path.join(STACKS, name, "stack.yml");

  test("renders without warnings, passes docker stack config, and agrees with docker on the original", async () => {
    requireDocker();
    const r = renderStack({ file });
    expect(r.warnings).toEqual([]);
    const bundle = path.join(tmp, name);
    writeBundle(bundle, r.yaml, r.files);
    const [orig, ours] = await Promise.all([
      stackConfig(file),
      stackConfig(path.join(bundle, "stack.yml")),
    ]);
    expect(ours.stderr).toBe("");
    expect(ours.code).toBe(0);
    expect(orig.code).toBe(0);
    expect(
      differences({ file, bundle, result: r, original: orig.stdout, rendered: ours.stdout }),
    ).toEqual([]);
  });

  test("no key is lost: every path of the file is in the rendered stack", () => {
    const r = renderStack({ file });
    const input = readBack(fs.readFileSync(file, "utf8"));
    const output = readBack(r.yaml);
    // The one deliberate rename: hashed config keys.
    for (const k of Object.keys(output.configs ?? {})) {
      output.configs[k.replace(/-[0-9a-f]{8}$/, "")] = output.configs[k];
    }
    expect(missingPaths(input, output)).toEqual([]);
  });

  test("every service pins its image to a version tag and sets explicit rollout settings", () => {
    const raw = readBack(fs.readFileSync(file, "utf8"));
    for (const [svc, def] of Object.entries(
      raw.services as Record<string, { image: string; deploy: Record<string, unknown> }>,
    )) {
      expect([svc, def.image]).toEqual([svc, expect.stringMatching(/:[\w.-]+$/)]);
      expect(def.image).not.toMatch(/:latest$/);
      if (svc !== "redis") expect(def.deploy.update_config).toBeDefined();
    }
  });
});

test("web: 5 replicas, healthcheck, port 80, restart policy, limits, start-first with rollback", () => {
  const r = renderStack({ file: path.join(STACKS, "web", "stack.yml") });
  const web = readBack(r.yaml).services.web;
  expect(web.deploy.replicas).toBe(5);
  expect(web.healthcheck.test).toEqual(expect.arrayContaining(["CMD"]));
  expect(web.deploy.restart_policy.condition).toBe("any");
  expect(web.deploy.resources.limits).toEqual({ cpus: "0.25", memory: "64M" });
  expect(web.deploy.update_config).toMatchObject({
    order: "start-first",
    failure_action: "rollback",
  });
  expect(web.deploy.rollback_config).toMatchObject({ order: "start-first" });
  expect(r.publishedPorts).toEqual([
    { service: "web", port: 80, protocol: "tcp", mode: "ingress" },
  ]);
  expect(Object.keys(r.files)).toEqual([
    expect.stringMatching(/^configs\/nginx_conf-[0-9a-f]{8}\.conf$/),
  ]);
});

test("dockercoins: rng global, worker scaled, webui on 8000, public v0.1 images, healthchecks", () => {
  const r = renderStack({ file: path.join(STACKS, "dockercoins", "stack.yml") });
  const s = readBack(r.yaml).services;
  expect(s.rng.deploy.mode).toBe("global");
  expect(s.worker.deploy.replicas).toBe(4);
  expect(r.publishedPorts).toEqual([
    { service: "webui", port: 8000, protocol: "tcp", mode: "ingress" },
  ]);
  for (const svc of ["rng", "hasher", "webui", "worker"])
    expect(r.images[svc]).toBe(`dockercoins/${svc}:v0.1`);
  for (const svc of ["rng", "hasher", "webui", "redis"])
    expect(s[svc].healthcheck.test).toBeDefined();
  expect(r.builds).toEqual([]);
  // Scaling is a replicas override away.
  const scaled = renderStack({
    file: path.join(STACKS, "dockercoins", "stack.yml"),
    replicas: { worker: 10 },
  });
  expect(readBack(scaled.yaml).services.worker.deploy.replicas).toBe(10);
});
