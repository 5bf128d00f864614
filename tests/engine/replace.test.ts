/**
 * Issue 16, point 6: a replaced manager droplet (`pulumi up --replace`; a region change does the
 * same) in the engine's order. The new droplet is created first and the old one deleted only
 * after every other step; in between, the node's registration must be replaced delete-first, so
 * that its delete removes the OLD swarm node (node-remove.sh: drain, demote, leave, rm) while
 * the old droplet still runs, and the new registration registers the new node.
 */
import { sshRun } from "../../components/core/ssh";
import { scriptCommand } from "../../components/core/remote";
import { SWARM_SCRIPTS } from "../../components/swarm/cloudInit";
import { startWorld, World } from "./world";

jest.mock("../../components/core/ssh", () => ({ sshRun: jest.fn() }));

const victim = "swarm-test-manager-2";
let w: World;
beforeAll(async () => {
  w = await startWorld(
    {
      managers: 3,
      workers: 1,
      from: "s-1vcpu-2gb",
      to: "s-1vcpu-2gb",
      replace: [victim],
      // The previous deployment: the old droplet's node ID (its join printed it) and its id.
      previous: {
        [`${victim}-join`]: { create: "the join command of the old droplet (its address)" },
        [`${victim}-register`]: {
          triggers: [`{{old-id:${victim}}}`],
          create: scriptCommand("node-register.sh", ["node-old-manager-2"], SWARM_SCRIPTS),
          delete: scriptCommand("node-remove.sh", ["node-old-manager-2"], SWARM_SCRIPTS),
        },
      },
    },
    sshRun as unknown as jest.Mock,
  );
  await import("../../index");
  await w.engine.finished(30000);
});
afterAll(() => w.close());

test("the old node is removed from the swarm before its droplet goes, after the new one joined", () => {
  const e = w.engine.events;
  const at = (what: string) => {
    const i = e.indexOf(what);
    expect(i).toBeGreaterThanOrEqual(0);
    return i;
  };
  expect(w.engine.oldIdOf(victim)).not.toBe(w.engine.idOf(victim));
  // New droplet, its join (an update: new address), then the registration replaced
  // delete-first, then (last of all) the old droplet deleted.
  expect(at(`create ${victim}`)).toBeLessThan(at(`update ${victim}-join`));
  expect(at(`update ${victim}-join`)).toBeLessThan(at(`delete ${victim}-register`));
  expect(at(`delete ${victim}-register`)).toBeLessThan(at(`create ${victim}-register`));
  expect(e[e.length - 1]).toBe(`delete ${victim}`);
  expect(w.deletes).toEqual([`${victim}-register: node-remove.sh node-old-manager-2`, victim]);
  // Nothing else was replaced or deleted: the other nodes and the stacks stay.
  expect(e.filter((x) => /^(create|delete) /.test(x))).toEqual([
    `create ${victim}`,
    `delete ${victim}-register`,
    `create ${victim}-register`,
    `delete ${victim}`,
  ]);
});
