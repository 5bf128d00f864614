/**
 * A failing update in the engine's order: the drain of one node fails (its before hook throws,
 * so the engine fails that step). The lock must not hang the others: they fail at once with the
 * reason, none is resized after it, and the failed node is made active again.
 */
import { sshRun } from "../../components/core/ssh";
import { startWorld, World } from "./world";

jest.mock("../../components/core/ssh", () => ({ sshRun: jest.fn() }));

let w: World;
beforeAll(async () => {
  w = await startWorld(
    {
      managers: 3,
      workers: 2,
      from: "s-1vcpu-2gb",
      to: "s-2vcpu-4gb",
      failScriptFor: { script: "node-drain.sh", node: "swarm-test-worker-1" },
    },
    sshRun as unknown as jest.Mock,
  );
  await import("../../index");
  await w.engine.finished(30000);
});
afterAll(() => w.close());

test("a failed drain fails its update and every one still waiting, and nothing hangs", () => {
  const steps = new Map(w.engine.steps);
  expect(steps.get("swarm-test-worker-1")).toMatch(
    /^failed: command on .* failed \(exit 1\):\nnode-drain.sh swarm-test-worker-1: timed out$/,
  );
  const failed = [...steps].filter(([, s]) => s.startsWith("failed")).map(([n]) => n);
  const ok = [...steps].filter(([, s]) => s === "ok").map(([n]) => n);
  expect(failed.length + ok.length).toBe(5);
  // The ones that had not started when the drain failed were not resized.
  for (const n of failed.filter((n) => n !== "swarm-test-worker-1"))
    expect(steps.get(n)).toMatch(/was not resized: the maintenance of swarm-test-worker-1 failed/);
  expect(w.resized.sort()).toEqual(ok.sort());
  expect(w.resized).not.toContain("swarm-test-worker-1");
  // The failed node was made active again.
  const last = w.ssh.filter((s) => s.endsWith(" swarm-test-worker-1")).pop();
  expect(last).toMatch(/node-activate\.sh swarm-test-worker-1$/);
  expect(w.maxDown()).toBe(1);
});
