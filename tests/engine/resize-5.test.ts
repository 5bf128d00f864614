/**
 * managers.size and the pool's size changed together on a 5-manager cluster, run in the
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
    { managers: 5, workers: 2, from: "s-1vcpu-2gb", to: "s-2vcpu-4gb" },
    sshRun as unknown as jest.Mock,
  );
  await import("../../index");
  await w.engine.finished(30000);
});
afterAll(() => w.close());

test("the resize of 5 managers and 2 workers completes, one node at a time, the IP away and back", () => {
  assertRollingResize(w, 5, 2);
});
