/**
 * Batched maintenance (issue 24): how many nodes of a worker pool may be in maintenance at once,
 * and which waiting node may start next. Pure: the lock (maintenance.ts) and the benchmark's
 * simulation (tests/bench/resize.ts) both schedule with `admit`.
 *
 * The rules, and why they are this simple:
 * - A manager is always alone: no other node (manager or worker) is in maintenance while one is.
 *   Two managers down at once can cost quorum (3 managers tolerate one loss), and a worker
 *   batch beside a manager shrinks the room its tasks and its surge need, for a saving of at most
 *   seven nodes' worth of time.
 * - One worker pool at a time, at most its `maxUnavailable` nodes. Pools are sized for their own
 *   workloads but services without constraints span pools: a batch's room is only judged right
 *   when every other pool is whole.
 * - One drain at a time: a node is admitted only when no other node is draining. The drain's
 *   surge reads each service's replica count, scales it up and later back to what it read; two
 *   drains doing that at once would restore each other's surge as the service's size. The slow
 *   part (power off, resize, power on, Ready again) overlaps; only the drains queue.
 * - A node whose surge finds no room beside the nodes of its pool already down goes back to the
 *   queue to be drained alone, and the pool's batch shrinks for the rest of the run (down to one).
 */

/** A count of nodes (1 or more) or a percentage of the pool ("25%"). */
export type MaxUnavailable = number | string;

export const DEFAULT_MAX_UNAVAILABLE = 1;

const PERCENT = /^(\d+)%$/;

/** What is wrong with a `maxUnavailable` value, as a fix to print; undefined when it is good. */
export function maxUnavailableProblem(value: unknown): string | undefined {
  const fix =
    'use a whole number of nodes, 1 or more (e.g. 2), or a whole percentage of the pool from 1% to 100% (e.g. "25%")';
  if (typeof value === "number") {
    if (!Number.isInteger(value)) return `${fix}: ${value} is not a whole number`;
    if (value < 1) return `${fix}: at least one node must be allowed, or nothing is maintained`;
    return undefined;
  }
  if (typeof value === "string") {
    const m = PERCENT.exec(value.trim());
    if (m === null) {
      if (/^\d+(\.\d+)?$/.test(value.trim()))
        return `${fix}: a count is a number, not a string; a percentage ends in %`;
      if (/^-?\d*\.\d+%$|^-\d+%$/.test(value.trim()))
        return `${fix}: a percentage is a whole number from 1 to 100`;
      return `${fix}: a string must be a percentage ending in %`;
    }
    const p = Number(m[1]);
    if (p < 1) return `${fix}: 0% would let no node be maintained`;
    if (p > 100) return `${fix}: a pool has no more than 100% of its nodes`;
    return undefined;
  }
  return fix;
}

/**
 * How many nodes of a pool of `poolSize` may be in maintenance at once. A percentage rounds
 * DOWN, at least 1 (as Kubernetes rounds maxUnavailable: the safe side, fewer nodes down); a
 * count above the pool's size is the pool's size. A value that validation would refuse is 1.
 */
export function resolveMaxUnavailable(value: MaxUnavailable | undefined, poolSize: number): number {
  const size = Math.max(1, poolSize);
  if (value === undefined || maxUnavailableProblem(value) !== undefined)
    return DEFAULT_MAX_UNAVAILABLE;
  if (typeof value === "number") return Math.min(value, size);
  const percent = Number(PERCENT.exec(value.trim())![1]);
  return Math.max(1, Math.floor((size * percent) / 100));
}

/** A node waiting for, or in, maintenance. */
export interface Slot {
  who: string;
  /** Its worker pool; managers are `manager`. */
  pool: string;
  manager: boolean;
  /** Back from a surge without room: it is drained only with no other node of its pool in maintenance. */
  alone?: boolean;
}

/** A node in maintenance: draining (its before hook), or past its drain (down, then coming back). */
export interface Held extends Slot {
  phase: "draining" | "down";
}

/**
 * The waiting node that may start its maintenance now (its index in `waiting`, in arrival
 * order), or undefined. `limits` is each pool's maxUnavailable (a pool not listed: 1).
 */
export function admit(
  waiting: readonly Slot[],
  held: readonly Held[],
  limits: ReadonlyMap<string, number>,
): number | undefined {
  if (waiting.length === 0) return undefined;
  if (held.length === 0) return 0;
  if (held.some((h) => h.phase === "draining" || h.manager || h.alone)) return undefined;
  const pool = held[0].pool;
  if (held.length >= (limits.get(pool) ?? 1)) return undefined;
  // The first waiter of the pool in maintenance; one that must be alone holds the others back
  // (so it is not starved by a pool that always has a node down).
  const next = waiting.findIndex((w) => !w.manager && w.pool === pool);
  if (next < 0 || waiting[next].alone) return undefined;
  return next;
}

/**
 * The seconds a drain's surge may wait for room before the node gives up its place in the batch,
 * or undefined: then the drain waits the whole timeout and drains anyway (with a warning), as a
 * node alone always has. Only a node that would join others of its pool already down is bounded.
 */
export function surgeSeconds(othersDown: number, timeoutSeconds: number): number | undefined {
  return othersDown > 0 ? Math.min(BATCH_SURGE_SECONDS, timeoutSeconds) : undefined;
}

/** How long a batch's surge waits for room before the batch shrinks. */
export const BATCH_SURGE_SECONDS = 180;

/** A pool's batch after a surge found no room beside `othersDown` nodes: at most that, at least 1. */
export function shrunkLimit(limit: number, othersDown: number): number {
  return Math.max(1, Math.min(limit, othersDown));
}

/** The exit status node-drain.sh ends with when its bounded surge found no room (EX_TEMPFAIL). */
export const NO_ROOM_EXIT = 75;

/** Whether a drain's error is node-drain.sh's "no room for the surge" (the node was left active). */
export const isNoRoom = (e: unknown) =>
  new RegExp(`\\(exit ${NO_ROOM_EXIT}\\)`).test(String((e as Error)?.message ?? e));

/** Each worker pool's maxUnavailable, resolved against its count (the lock's limits). */
export function poolLimits(
  pools: readonly { name: string; count: number; maxUnavailable?: MaxUnavailable }[],
): Record<string, number> {
  return Object.fromEntries(
    pools.map((p) => [p.name, resolveMaxUnavailable(p.maxUnavailable, p.count)]),
  );
}
