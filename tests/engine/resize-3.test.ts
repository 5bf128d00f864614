/**
 * managers.size and the pool's size changed together on a 3-manager cluster, run in the
 * engine's order (tests/engine/engine.ts): every droplet's update in flight at once, hooks
 * called through the program's registration, outputs resolved only after each step.
 */
import { sshRun } from "../../components/core/ssh";
import { assertRollingResize } from "./resize";
import { startWorld, World } from "./world";

jest.mock("../../components/core/ssh", () => ({ sshRun: jest.fn() }));

let w: World;
beforeAll(async () => {
  w = await startWorld(
    { managers: 3, workers: 2, from: "s-1vcpu-2gb", to: "s-2vcpu-4gb" },
    sshRun as unknown as jest.Mock,
  );
  await import("../../index");
  await w.engine.finished(30000);
});
afterAll(() => w.close());

test("the resize of 3 managers and 2 workers completes, one node at a time, the IP away and back", () => {
  assertRollingResize(w, 3, 2);
});

test("a droplet's delete error reaches the user as itself, in `pulumi destroy` and for a removed node", async () => {
  // The engine runs the error hooks stored in a resource's state when its delete fails
  // (step.go DeleteStep); `pulumi destroy` does not run the program, so none is registered.
  const failure = "DELETE https://api.digitalocean.com/v2/droplets/5001: 422 droplet is locked";
  for (const [name, binding] of w.engine.bindings) {
    if (!name.includes("-manager-") && !name.includes("-worker-")) continue;
    // `pulumi destroy`: the program does not run, no hook is registered.
    expect(await w.engine.deleteStep(binding, failure, new Set())).toBe(failure);
    // The node left the program: every hook but its own is registered.
    const others = new Set([...w.engine.hooks.keys()].filter((h) => !h.startsWith(`${name}-`)));
    expect(await w.engine.deleteStep(binding, failure, others)).toBe(failure);
  }
});
