/**
 * `pulumi preview` of a resize, in the engine's order: only hooks registered with onDryRun run
 * (deployment.go RunHooks skips the others in a dry run) and no provider update happens. The
 * preview warns per node and changes nothing: no command on a node, no reserved-IP action.
 */
import { sshRun } from "../../components/core/ssh";
import { RESERVED_IP, startWorld, World } from "./world";

jest.mock("../../components/core/ssh", () => ({ sshRun: jest.fn() }));

let w: World;
beforeAll(async () => {
  w = await startWorld(
    { managers: 3, workers: 2, from: "s-1vcpu-2gb", to: "s-2vcpu-4gb", dryRun: true },
    sshRun as unknown as jest.Mock,
  );
  await import("../../index");
  await w.engine.finished(30000);
});
afterAll(() => w.close());

test("a preview of a resize warns per node and changes nothing", () => {
  expect(w.engine.events.filter((e) => e.startsWith("before"))).toHaveLength(5);
  expect(w.engine.events.filter((e) => /^(update|after) /.test(e))).toEqual([]);
  expect(w.ssh).toEqual([]);
  expect(w.api.calls.filter((c) => !c.startsWith("GET"))).toEqual([]);
  expect(w.api.calls).toEqual([]); // not even a look: the preview only reads its own arguments
  expect(w.api.holder(RESERVED_IP)).toBe(w.dropletIdOf("swarm-test-manager-0"));
  const warnings = w.logs.filter((l) => /drained, powered off, resized/.test(l));
  expect(warnings).toHaveLength(5);
  expect(warnings[0]).toMatch(/^warning: .*s-1vcpu-2gb -> s-2vcpu-4gb/);
});

test("only the before hooks are registered to run in a dry run", () => {
  const hooks = [...w.engine.hooks];
  expect(hooks.filter(([n]) => n.endsWith("-before-resize")).every(([, h]) => h.onDryRun)).toBe(
    true,
  );
  expect(hooks.filter(([n]) => n.endsWith("-after-resize")).some(([, h]) => h.onDryRun)).toBe(
    false,
  );
});
