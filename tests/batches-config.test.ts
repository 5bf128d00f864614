/**
 * `workers[i].maxUnavailable` in the config's validation (components/swarm/nodesConfig.ts): a
 * bad value is refused naming the key, the value and the fix; a good one reaches the pool's
 * settings (and the lock's limits: poolLimits); unset, the settings are as they were.
 */
import { ConfigError, RawConfig, validateConfig } from "../components/swarm/config";
import { poolLimits } from "../components/maintenance/batches";
import { TEST_PRIVATE_KEY, TEST_PUBLIC_KEY } from "./harness";

const valid: RawConfig = { sshPublicKey: TEST_PUBLIC_KEY, sshPrivateKey: TEST_PRIVATE_KEY };
const pool = (maxUnavailable: unknown) => ({
  ...valid,
  workers: [
    { name: "web", count: 4, size: "s-1vcpu-1gb" },
    { name: "db", count: 8, size: "s-1vcpu-1gb", maxUnavailable },
  ],
});

function problems(raw: RawConfig): string[] {
  try {
    validateConfig(raw);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems;
  }
}

test.each([0, -1, 1.5, "0%", "150%", "12.5%", "2", "half", true, null])(
  "refuses maxUnavailable %p, naming the key, the value and the fix",
  (value) => {
    const p = problems(pool(value));
    expect(p).toHaveLength(1);
    expect(p[0]).toContain(`do-swarm:workers[1].maxUnavailable = ${JSON.stringify(value)}`);
    expect(p[0]).toContain(
      'use a whole number of nodes, 1 or more (e.g. 2), or a whole percentage of the pool from 1% to 100% (e.g. "25%")',
    );
  },
);

test.each([1, 3, 20, "1%", "25%", "100%"])("accepts maxUnavailable %p", (value) => {
  const cfg = validateConfig(pool(value));
  expect(cfg.workers[1]).toEqual({
    name: "db",
    count: 8,
    size: "s-1vcpu-1gb",
    labels: {},
    resizeDisk: false,
    maxUnavailable: value,
  });
  // Unset: the pool's settings carry no key at all (and the pool has one slot).
  expect(cfg.workers[0]).not.toHaveProperty("maxUnavailable");
});

test("the lock's limits: each pool's maxUnavailable against its count", () => {
  expect(poolLimits(validateConfig(pool("25%")).workers)).toEqual({ web: 1, db: 2 });
  expect(poolLimits(validateConfig(pool(20)).workers)).toEqual({ web: 1, db: 8 });
});
