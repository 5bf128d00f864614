/**
 * Issue 21, item 9: a droplet that holds a volume replaced (`pulumi up --replace`) in the
 * engine's order. The new droplet is created first; its new id replaces the volume's attachment
 * (dropletId forces a new one), delete-first; the engine first deletes what takes an input from
 * the attachment and would be replaced by it: the release, whose delete (volume-release.sh, with
 * the OLD droplet's id and address stored with it) stops the volume's writers on the old droplet
 * and unmounts the volume. Only then is the old attachment deleted (the detach), the new one
 * created, the volume mounted on the new droplet; the node's registration (its drain) is
 * replaced after; the old droplet goes last.
 */
import { sshRun } from "../../components/core/ssh";
import { scriptCommand } from "../../components/core/remote";
import { DATA_SCRIPTS } from "../../components/data/volumes";
import { SWARM_SCRIPTS } from "../../components/swarm/cloudInit";
import { startWorld, World } from "./world";

jest.mock("../../components/core/ssh", () => ({ sshRun: jest.fn() }));

const victim = "swarm-test-worker-0";
let w: World;
beforeAll(async () => {
  w = await startWorld(
    {
      managers: 1,
      workers: 1,
      from: "s-1vcpu-2gb",
      to: "s-1vcpu-2gb",
      volumeGb: 10,
      replace: [victim],
      // The previous deployment: the old droplet's node, its attachment and its release.
      previous: {
        [`${victim}-join`]: { create: "the join command of the old droplet (its address)" },
        [`${victim}-register`]: {
          triggers: [`{{old-id:${victim}}}`],
          create: scriptCommand("node-register.sh", ["node-old-worker-0"], SWARM_SCRIPTS),
          delete: scriptCommand("node-remove.sh", ["node-old-worker-0"], SWARM_SCRIPTS),
        },
        [`${victim}-volume-attachment`]: { dropletId: `{{old-id:${victim}}}` },
        [`${victim}-volume-release`]: {
          delete: scriptCommand(
            "volume-release.sh",
            [
              "the-volume-id",
              victim,
              "{{old-id:swarm-test-worker-0}}",
              "203.0.113.250",
              "/mnt/do-swarm-data",
              "https://api.digitalocean.com",
            ],
            DATA_SCRIPTS,
          ),
        },
      },
    },
    sshRun as unknown as jest.Mock,
  );
  await import("../../index");
  await w.engine.finished(30000);
});
afterAll(() => w.close());

test("the volume is unmounted on the old droplet before its detach; the node drained after the new attach", () => {
  const e = w.engine.events;
  const at = (what: string) => {
    const i = e.indexOf(what);
    expect([what, i >= 0]).toEqual([what, true]);
    return i;
  };
  expect(e.filter((x) => /^(create|delete) /.test(x))).toEqual([
    `create ${victim}`,
    // The attachment's delete-first replacement, its dependents first (reverse dependency
    // order: the release depends on the mount).
    `delete ${victim}-volume-release`,
    `delete ${victim}-volume-mount`,
    `delete ${victim}-volume-attachment`,
    `create ${victim}-volume-attachment`,
    `create ${victim}-volume-mount`,
    `create ${victim}-volume-release`,
    `delete ${victim}-register`,
    `create ${victim}-register`,
    `delete ${victim}`,
  ]);
  expect(at(`delete ${victim}-volume-release`)).toBeLessThan(
    at(`delete ${victim}-volume-attachment`),
  );
  // What the deletes ran (their order is the events' above: the simulator calls a dependent's
  // delete when it registers, see engine.ts): the unmount with the OLD release's inputs, the old
  // node's removal, the old droplet. (A mount has no delete: nothing reaches a gone droplet.)
  expect([...w.deletes].sort()).toEqual(
    [
      `${victim}-volume-release: volume-release.sh the-volume-id`,
      `${victim}-volume-mount`,
      `${victim}-volume-attachment`,
      `${victim}-register: node-remove.sh node-old-worker-0`,
      victim,
    ].sort(),
  );
});
