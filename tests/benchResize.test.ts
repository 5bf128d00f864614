/**
 * The benchmark's rolling-resize simulation (tests/bench/resize.ts), on the figures issue 24
 * asks for: 7+50 at maxUnavailable 25% takes at most a third of one at a time, 3+2 is
 * unchanged. `npm run bench` prints them; this asserts them.
 */
import { RESIZE_LATENCY_SECONDS, simulateRollingResize } from "./bench/resize";

const pool = (count: number, maxUnavailable?: string) => [
  { name: "worker", count, ...(maxUnavailable === undefined ? {} : { maxUnavailable }) },
];
const { drain, resize, activate, reservedIpMove } = RESIZE_LATENCY_SECONDS;
const perNode = drain + resize + activate;

test("one at a time: every node's drain, resize and activation in a row, and manager-0's two IP moves", () => {
  expect(simulateRollingResize(3, pool(2))).toBe(5 * perNode + 2 * reservedIpMove);
  expect(simulateRollingResize(7, pool(50))).toBe(57 * perNode + 2 * reservedIpMove);
  // A single node is not drained and holds no IP another manager could take.
  expect(simulateRollingResize(1, [])).toBe(resize + activate);
});

test("7+50 at 25% takes at most a third of one at a time", () => {
  const one = simulateRollingResize(7, pool(50));
  const batched = simulateRollingResize(7, pool(50, "25%"));
  expect(batched).toBeLessThanOrEqual(one / 3);
});

test("3+2 at 25% is unchanged (25% of 2 rounds down to 0, at least 1)", () => {
  expect(simulateRollingResize(3, pool(2, "25%"))).toBe(simulateRollingResize(3, pool(2)));
});

test("managers stay one at a time: batching a pool saves nothing on the managers", () => {
  const managersOnly = simulateRollingResize(7, []);
  expect(managersOnly).toBe(7 * perNode + 2 * reservedIpMove);
  expect(simulateRollingResize(7, pool(50, "100%"))).toBeGreaterThan(managersOnly);
});
