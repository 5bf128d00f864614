/**
 * A pool of 4 workers at maxUnavailable 2 beside 3 managers, every size changed, run in the
 * engine's order (tests/engine/engine.ts): every droplet's update in flight at once, hooks
 * called through the program's registration. The workers go two at a time, the managers one at
 * a time and never beside another node.
 */
import { sshRun } from "../../components/core/ssh";
import { startWorld, World } from "./world";

jest.mock("../../components/core/ssh", () => ({ sshRun: jest.fn() }));

let w: World;
beforeAll(async () => {
  w = await startWorld(
    { managers: 3, workers: 4, maxUnavailable: 2, from: "s-1vcpu-2gb", to: "s-2vcpu-4gb" },
    sshRun as unknown as jest.Mock,
  );
  await import("../../index");
  await w.engine.finished(30000);
});
afterAll(() => w.close());

const names = [
  ...Array.from({ length: 3 }, (_, i) => `swarm-test-manager-${i}`),
  ...Array.from({ length: 4 }, (_, i) => `swarm-test-worker-${i}`),
];

test("every droplet is resized and each update step ends", () => {
  expect([...w.engine.steps].sort()).toEqual(names.map((n) => [n, "ok"]).sort());
  expect([...w.resized].sort()).toEqual([...names].sort());
});

test("the workers run two at a time, never three", () => {
  const workersDown = w.downSets.map((s) => s.filter((n) => n.includes("-worker-")).length);
  expect(Math.max(...workersDown)).toBe(2);
  expect(w.maxDown()).toBe(2);
});

test("a manager is never out of service beside another node", () => {
  for (const set of w.downSets) {
    if (set.some((n) => n.includes("-manager-"))) expect(set).toHaveLength(1);
  }
});

test("each node is drained before its resize and made active after it, one drain at a time", () => {
  const perNode = w.ssh
    .filter((s) => / node-(drain|activate)\.sh /.test(s))
    .map((s) => s.split(" ").slice(1).join(" "));
  for (const n of names) {
    const drain = perNode.indexOf(`node-drain.sh ${n}`);
    expect(drain).toBeGreaterThanOrEqual(0);
    expect(perNode.indexOf(`node-activate.sh ${n}`)).toBeGreaterThan(drain);
  }
  expect(w.ssh.filter((s) => / node-drain\.sh /.test(s))).toHaveLength(names.length);
});

test("a worker drained beside another of its pool already down has a bounded surge; a node alone has none", () => {
  const drainArgs = (sshRun as unknown as jest.Mock).mock.calls
    .map(([, command]) => String(command))
    .filter((c) => c.includes("node-drain.sh"))
    .map((c) => /bash "\$f" ((?:'[^']*' ?)+)/.exec(c)![1].trim());
  expect(drainArgs).toHaveLength(names.length);
  const bounded = drainArgs.filter((a) => a.endsWith(" '180'"));
  // The slots roll (a node starts as soon as one of the pool comes back): here every worker
  // after the first is drained while another of the pool is down.
  expect(bounded).toHaveLength(3);
  expect(bounded.every((a) => a.includes("-worker-"))).toBe(true);
  expect(
    drainArgs.filter((a) => a.includes("-manager-")).every((a) => /^'\S+' '600'$/.test(a)),
  ).toBe(true);
});
