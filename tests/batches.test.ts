/**
 * Batched maintenance, the pure rules (components/maintenance/batches.ts): the value of
 * maxUnavailable, how a percentage rounds, which waiting node starts next, the surge's bound and
 * the shrink. The lock and the hooks that use them: tests/maintenance.test.ts; the engine's
 * order: tests/engine/resize-batch.test.ts.
 */
import {
  admit,
  Held,
  isNoRoom,
  maxUnavailableProblem,
  resolveMaxUnavailable,
  shrunkLimit,
  Slot,
  surgeSeconds,
} from "../components/maintenance/batches";

test("maxUnavailable: a count of 1 or more, or a whole percentage from 1% to 100%", () => {
  for (const good of [1, 2, 50, "1%", "25%", "100%"])
    expect(maxUnavailableProblem(good)).toBe(undefined);
  const bad: [unknown, RegExp][] = [
    [0, /at least one node/],
    [-1, /at least one node/],
    [1.5, /not a whole number/],
    ["0%", /0% would let no node/],
    ["101%", /no more than 100%/],
    ["12.5%", /whole number from 1 to 100/],
    ["-5%", /whole number from 1 to 100/],
    ["2", /a count is a number, not a string/],
    ["half", /must be a percentage ending in %/],
    [true, /use a whole number of nodes/],
  ];
  for (const [value, why] of bad) {
    const problem = maxUnavailableProblem(value);
    expect(problem).toMatch(why);
    expect(problem).toMatch(
      /^use a whole number of nodes, 1 or more \(e\.g\. 2\), or a whole percentage/,
    );
  }
});

test("a percentage rounds down, at least 1; a count is capped at the pool; unset is 1", () => {
  expect(resolveMaxUnavailable(undefined, 50)).toBe(1);
  expect(resolveMaxUnavailable("25%", 50)).toBe(12);
  expect(resolveMaxUnavailable("25%", 20)).toBe(5);
  expect(resolveMaxUnavailable("25%", 4)).toBe(1);
  expect(resolveMaxUnavailable("25%", 2)).toBe(1); // 0.5 rounds down to 0, then at least 1
  expect(resolveMaxUnavailable("100%", 7)).toBe(7);
  expect(resolveMaxUnavailable(3, 2)).toBe(2);
  expect(resolveMaxUnavailable(2, 4)).toBe(2);
  expect(resolveMaxUnavailable(2, 0)).toBe(1);
});

const w = (who: string, pool = "web", alone = false): Slot => ({
  who,
  pool,
  manager: false,
  alone,
});
const m = (who: string): Slot => ({ who, pool: "manager", manager: true });
const down = (s: Slot): Held => ({ ...s, phase: "down" });
const draining = (s: Slot): Held => ({ ...s, phase: "draining" });
const limits = new Map([
  ["web", 3],
  ["db", 2],
]);

test("admit: the first waiter when nothing is in maintenance, manager or worker", () => {
  expect(admit([], [], limits)).toBe(undefined);
  expect(admit([m("m0"), w("w0")], [], limits)).toBe(0);
  expect(admit([w("w0"), m("m0")], [], limits)).toBe(0);
});

test("admit: a manager is alone, before or after", () => {
  expect(admit([w("w1")], [down(m("m0"))], limits)).toBe(undefined);
  expect(admit([m("m1")], [down(m("m0"))], limits)).toBe(undefined);
  expect(admit([m("m0")], [down(w("w0"))], limits)).toBe(undefined);
});

test("admit: more of the pool in maintenance, up to its limit, one drain at a time, one pool at a time", () => {
  // The first waiter of the pool in maintenance, past a manager and another pool's node.
  expect(admit([m("m0"), w("d0", "db"), w("w1")], [down(w("w0"))], limits)).toBe(2);
  expect(admit([w("w1")], [draining(w("w0"))], limits)).toBe(undefined);
  expect(admit([w("w3")], [down(w("w0")), down(w("w1")), down(w("w2"))], limits)).toBe(undefined);
  expect(admit([w("d0", "db")], [down(w("w0"))], limits)).toBe(undefined);
  // A pool with no limit given has one slot.
  expect(admit([w("x1", "other")], [down(w("x0", "other"))], limits)).toBe(undefined);
});

test("admit: a node back from a surge without room waits for its pool to be empty, and holds the pool's others back", () => {
  expect(admit([w("w1", "web", true), w("w2")], [down(w("w0"))], limits)).toBe(undefined);
  expect(admit([w("w1", "web", true), w("w2")], [], limits)).toBe(0);
  expect(admit([w("w2")], [down(w("w1", "web", true))], limits)).toBe(undefined);
});

/** Runs every node through maintenance under `admit`, in a shuffled arrival order. */
function simulate(nodes: Slot[], lim: Map<string, number>, seed: number) {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const waiting = [...nodes].sort(() => rand() - 0.5);
  const held: Held[] = [];
  const seen: Held[][] = [];
  while (waiting.length > 0 || held.length > 0) {
    const i = admit(waiting, held, lim);
    if (i !== undefined) {
      held.push({ ...waiting.splice(i, 1)[0], phase: "draining" });
    } else {
      // Something happens: a drain ends, or a node comes back.
      const d = held.find((h) => h.phase === "draining");
      if (d) d.phase = "down";
      else held.splice(Math.floor(rand() * held.length), 1);
    }
    seen.push(held.map((h) => ({ ...h })));
  }
  return seen;
}

test("in any arrival order: never more than a pool's maxUnavailable, never a manager beside another node, one drain at a time", () => {
  const nodes = [
    ...Array.from({ length: 3 }, (_, i) => m(`m${i}`)),
    ...Array.from({ length: 10 }, (_, i) => w(`w${i}`)),
    ...Array.from({ length: 4 }, (_, i) => w(`d${i}`, "db")),
  ];
  let widest = 0;
  for (let seed = 1; seed <= 50; seed++) {
    for (const held of simulate(nodes, limits, seed)) {
      const pools = new Set(held.map((h) => h.pool));
      expect(pools.size).toBeLessThanOrEqual(1);
      if (held.some((h) => h.manager)) expect(held).toHaveLength(1);
      for (const p of pools) expect(held.length).toBeLessThanOrEqual(limits.get(p) ?? 1);
      expect(held.filter((h) => h.phase === "draining").length).toBeLessThanOrEqual(1);
      widest = Math.max(widest, held.length);
    }
  }
  expect(widest).toBe(3); // the batches do fill up
});

test("the surge is bounded only beside nodes already down; the batch shrinks to those, at least 1", () => {
  expect(surgeSeconds(0, 600)).toBe(undefined);
  expect(surgeSeconds(1, 600)).toBe(180);
  expect(surgeSeconds(3, 60)).toBe(60);
  expect(shrunkLimit(12, 5)).toBe(5);
  expect(shrunkLimit(12, 0)).toBe(1);
  expect(shrunkLimit(2, 5)).toBe(2);
  expect(isNoRoom(new Error("command on 203.0.113.1 failed (exit 75):\nno room"))).toBe(true);
  expect(isNoRoom(new Error("command on 203.0.113.1 failed (exit 1):\nno room"))).toBe(false);
});
