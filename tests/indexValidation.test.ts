/** index.ts refuses bad input before creating anything, naming every problem at once. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
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

test("a droplet name that cannot be a hostname is refused before anything exists", async () => {
  const pool = "a-worker-pool-with-a-long-name";
  const message = run({
    ...keys,
    "do-swarm:clusterName": "production-cluster-of-the-course-team",
    "do-swarm:workers": JSON.stringify([{ name: pool, count: 2, size: "s-1vcpu-1gb" }]),
  });
  expect(message).toContain(
    `do-swarm:clusterName = "production-cluster-of-the-course-team" with do-swarm:workers[${pool}].name = "${pool}": ` +
      `droplet name "production-cluster-of-the-course-team-${pool}-0" is 70 characters, and a hostname is at most 63: ` +
      "shorten the cluster name or the pool name by 7",
  );
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
