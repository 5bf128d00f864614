/** Config of volumes and backups (components/data/config.ts), and what the plan makes of it. */
import {
  checkVolumeNames,
  checkVolumeShrinks,
  ConfigError,
  RawConfig,
  validateConfig,
  volumeGroupsOf,
} from "../components/swarm/config";
import { DATA_PRICES, monthlyCost, planNodes } from "../components/core/nodes";
import { TEST_PRIVATE_KEY, TEST_PUBLIC_KEY } from "./harness";

const base: RawConfig = { sshPublicKey: TEST_PUBLIC_KEY, sshPrivateKey: TEST_PRIVATE_KEY };
const SNAPSHOT_UUID = "8fa70202-873f-11e6-8b68-000f533176b1";

function problems(raw: RawConfig): string[] {
  try {
    validateConfig({ ...base, ...raw });
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems;
  }
}

describe("volume and backups config", () => {
  test("accepted on managers and on each pool, defaults untouched where unset", () => {
    const cfg = validateConfig({
      ...base,
      managers: { count: 1, size: "s-1vcpu-2gb", volume: { sizeGb: 5 } },
      workers: [
        {
          name: "db",
          count: 1,
          size: "s-2vcpu-4gb",
          volume: { sizeGb: 20, restoreFrom: SNAPSHOT_UUID },
          backups: { plan: "weekly", weekday: "SUN", hour: 4 },
        },
        { name: "web", count: 2, size: "s-1vcpu-1gb", backups: { plan: "daily" } },
        { name: "plain", count: 1, size: "s-1vcpu-1gb" },
      ],
    });
    expect(cfg.managers).toEqual({
      count: 1,
      size: "s-1vcpu-2gb",
      resizeDisk: false,
      volume: { sizeGb: 5 },
    });
    expect(cfg.workers[0].volume).toEqual({ sizeGb: 20, restoreFrom: SNAPSHOT_UUID });
    expect(cfg.workers[0].backups).toEqual({ plan: "weekly", weekday: "SUN", hour: 4 });
    expect(cfg.workers[1].backups).toEqual({ plan: "daily" });
    expect(cfg.workers[2]).toEqual({
      name: "plain",
      count: 1,
      size: "s-1vcpu-1gb",
      labels: {},
      resizeDisk: false,
    });
  });

  test("a snapshot name is a valid restoreFrom too", () => {
    expect(
      problems({
        workers: [
          {
            name: "db",
            count: 1,
            size: "s-1vcpu-1gb",
            volume: { sizeGb: 1, restoreFrom: "swarm-prod-db-0-20261201-101500" },
          },
        ],
      }),
    ).toEqual([]);
  });

  test("every problem is reported at once, naming key, value and fix", () => {
    const got = problems({
      managers: {
        count: 3,
        size: "s-1vcpu-2gb",
        volume: { sizeGb: 0, extra: 1 },
        backups: { plan: "hourly", hour: 3, weekday: "SUNDAY", when: "now" },
      },
      workers: [
        { name: "a", count: 1, size: "s-1vcpu-1gb", volume: { sizeGb: 16385 } },
        {
          name: "b",
          count: 1,
          size: "s-1vcpu-1gb",
          volume: { sizeGb: 1.5, restoreFrom: "no spaces!" },
        },
        { name: "c", count: 1, size: "s-1vcpu-1gb", volume: 10, backups: "weekly" },
        { name: "d", count: 1, size: "s-1vcpu-1gb", volume: { restoreFrom: 7 } },
        { name: "e", count: 1, size: "s-1vcpu-1gb", backups: { plan: "daily", weekday: "MON" } },
      ],
      volumeDevicePrefix: "dev/disk",
    });
    expect(got).toEqual([
      expect.stringMatching(/^do-swarm:managers\.volume\.extra = 1: unknown setting/),
      expect.stringMatching(
        /^do-swarm:managers\.volume\.sizeGb = 0: use a whole number of GiB from 1 to 16384/,
      ),
      expect.stringMatching(/^do-swarm:managers\.backups\.when = "now": unknown setting/),
      expect.stringMatching(/^do-swarm:managers\.backups\.plan = "hourly": use daily .* or weekly/),
      expect.stringMatching(
        /^do-swarm:managers\.backups\.hour = 3: use the UTC hour .*0, 4, 8, 12, 16, 20/,
      ),
      expect.stringMatching(/^do-swarm:managers\.backups\.weekday = "SUNDAY": use one of SUN, MON/),
      expect.stringMatching(/^do-swarm:workers\[0\]\.volume\.sizeGb = 16385: /),
      expect.stringMatching(/^do-swarm:workers\[1\]\.volume\.sizeGb = 1\.5: /),
      expect.stringMatching(
        /^do-swarm:workers\[1\]\.volume\.restoreFrom = "no spaces!": use a volume snapshot's id/,
      ),
      expect.stringMatching(/^do-swarm:workers\[2\]\.volume = 10: use an object such as/),
      expect.stringMatching(/^do-swarm:workers\[2\]\.backups = "weekly": use an object such as/),
      expect.stringMatching(/^do-swarm:workers\[3\]\.volume\.sizeGb = undefined: /),
      expect.stringMatching(/^do-swarm:workers\[3\]\.volume\.restoreFrom = 7: /),
      expect.stringMatching(
        /^do-swarm:workers\[4\]\.backups\.weekday = "MON": a weekday applies to weekly backups only/,
      ),
      expect.stringMatching(/^do-swarm:volumeDevicePrefix = "dev\/disk": leave it unset/),
    ]);
  });

  test("volume names: the node's name, a DigitalOcean volume name (a letter first, <= 64)", () => {
    const groups = [{ key: "workers[0]", pool: "db", count: 2, volume: { sizeGb: 1 } }];
    expect(checkVolumeNames("prod", groups)).toEqual([]);
    expect(checkVolumeNames("1prod", groups)).toEqual([
      expect.stringMatching(
        /^do-swarm:clusterName = "1prod": workers\[0\]\.volume names each volume after its node \(1prod-db-1\).*start with a letter/,
      ),
    ]);
    const long = "c".repeat(40);
    const pool = "p".repeat(30);
    expect(checkVolumeNames(long, [{ ...groups[0], pool, count: 11 }])).toEqual([
      expect.stringMatching(
        /^do-swarm:workers\[0\]\.volume = .*\(c{40}-p{30}-10, 74 characters\).*shorten/,
      ),
    ]);
    // A group without a volume, or with no nodes, names nothing.
    expect(checkVolumeNames("1prod", [{ key: "managers", pool: "manager", count: 3 }])).toEqual([]);
    expect(checkVolumeNames("1prod", [{ ...groups[0], count: 0 }])).toEqual([]);
  });

  test("the groups asking for a volume are read from raw config, however malformed the rest", () => {
    expect(
      volumeGroupsOf({
        managers: { volume: { sizeGb: 1 } },
        workers: [
          "junk",
          { name: "db", count: 2, volume: { sizeGb: 3 } },
          { name: "x", count: "2", volume: {} },
          { name: 7, count: 1, volume: {} },
          { name: "web", count: 1 },
        ],
      }),
    ).toEqual([
      { key: "managers", pool: "manager", count: 3, volume: { sizeGb: 1 } },
      { key: "workers[1]", pool: "db", count: 2, volume: { sizeGb: 3 } },
    ]);
    expect(volumeGroupsOf({ managers: 5, workers: {} })).toEqual([]);
  });

  test("a lowered sizeGb is refused against the volume's current size; raised or new is fine", () => {
    const volumes = [
      { name: "prod-db-0", sizeGb: 10, key: "workers[0].volume" },
      { name: "prod-db-1", sizeGb: 30, key: "workers[0].volume" },
      { name: "prod-manager-0", sizeGb: 5, key: "managers.volume" },
    ];
    expect(
      checkVolumeShrinks(volumes, {
        "prod-db-0": 20,
        "prod-db-1": 20,
        "prod-manager-0": undefined,
      }),
    ).toEqual([
      "do-swarm:workers[0].volume.sizeGb = 10: volume prod-db-0 is already 20 GiB and volumes only grow: set 20 or more",
    ]);
    expect(checkVolumeShrinks(volumes, {})).toEqual([]);
  });
});

describe("the plan and its cost", () => {
  const nodes = planNodes("prod", {
    managers: { count: 1, size: "s-1vcpu-2gb", backups: { plan: "daily" } },
    workers: [
      {
        name: "db",
        count: 2,
        size: "s-2vcpu-4gb",
        labels: { db: "true" },
        volume: { sizeGb: 25, restoreFrom: "snap" },
        backups: { plan: "weekly", weekday: "SUN" },
      },
      { name: "web", count: 1, size: "s-1vcpu-1gb" },
    ],
  });

  test("each node of a group with a volume gets its own, named after it, and the volume label", () => {
    expect(nodes.map((n) => n.volume)).toEqual([
      undefined,
      { name: "prod-db-0", sizeGb: 25, restoreFrom: "snap", key: "workers[0].volume" },
      { name: "prod-db-1", sizeGb: 25, restoreFrom: "snap", key: "workers[0].volume" },
      undefined,
    ]);
    expect(nodes[1].labels).toEqual(["db=true", "do-swarm.pool=db", "do-swarm.volume=true"]);
    expect(nodes[3].labels).toEqual(["do-swarm.pool=web"]);
    expect(nodes.map((n) => n.backups)).toEqual([
      { plan: "daily" },
      { plan: "weekly", weekday: "SUN" },
      { plan: "weekly", weekday: "SUN" },
      undefined,
    ]);
  });

  test("monthly cost: droplets, $0.10 per volume GiB, backups +30% daily / +20% weekly", () => {
    expect(DATA_PRICES).toEqual({
      volumeUsdPerGbMonth: 0.1,
      backupsShareOfDroplet: { weekly: 0.2, daily: 0.3 },
    });
    const prices = { "s-1vcpu-2gb": 12, "s-2vcpu-4gb": 24, "s-1vcpu-1gb": 6 };
    // manager 12 + 30% = 15.6; each db 24 + 2.5 (25 GiB) + 20% of 24 = 31.3; web 6.
    expect(monthlyCost(nodes, prices)).toBe(15.6 + 2 * 31.3 + 6);
  });
});
