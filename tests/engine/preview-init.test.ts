/**
 * Issue 16, point 7: a preview after an edit of the swarm's init command (here its script; a
 * manager's IP or the key change it the same way). The engine previews that update with init's
 * outputs unknown; nothing downstream may take them, or every join, registration and deploy
 * shows `~ update` with unknown values although `up` changes nothing there.
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
      to: "s-1vcpu-2gb",
      dryRun: true,
      stacks: [{ name: "web", file: "stacks/web/stack.yml" }],
      previous: { "swarm-test-swarm-init": { create: "the swarm-init command before the edit" } },
    },
    sshRun as unknown as jest.Mock,
  );
  await import("../../index");
  await w.engine.finished(30000);
});
afterAll(() => w.close());

test("only init itself is an update in preview: no join, registration or deploy has an unknown input", () => {
  expect([...w.engine.steps.keys()]).toEqual(["swarm-test-swarm-init"]);
  expect([...w.engine.unknownInputs]).toEqual([]);
  // The deploy and the joins were registered at all (nothing waited on init's outputs forever).
  const registered = [...w.engine.bindings.keys()];
  expect(registered).toContain("swarm-test-stack-web-deploy");
  expect(registered.filter((n) => n.endsWith("-join"))).toHaveLength(4);
  expect(registered.filter((n) => n.endsWith("-register"))).toHaveLength(5);
});
