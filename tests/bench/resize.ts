/**
 * The simulated duration of a rolling resize of every node (`npm run bench`'s third table), as
 * the maintenance lock schedules it: the very `admit` of components/maintenance/batches.ts (a
 * manager alone, one pool at a time up to its maxUnavailable, one drain at a time), every
 * node's update in flight at once (the engine's `--parallel` at least the batch), each step
 * taking its typical time. Pure, deterministic: no timers, no Pulumi.
 */
import { admit, Held, poolLimits, Slot } from "../../components/maintenance/batches";
import type { MaxUnavailable } from "../../components/maintenance/batches";

/**
 * Typical seconds per step of one node's resize (assumptions, printed with the table):
 * - drain: node-drain.sh: pause, the surge's extra tasks start elsewhere, the node's tasks stop
 *   (their stop grace period), the services back at strength; polled every 2 s;
 * - resize: DigitalOcean's power off, CPU/RAM resize, power on, until the droplet is active;
 * - activate: node-activate.sh: Docker up, the node Ready (and Reachable), made active;
 * - reservedIpMove: one move of the reserved IP (manager-0 hands it away and takes it back), as
 *   the `ReservedIpAssignment` of the `pulumi up` table (simulate.ts).
 */
export const RESIZE_LATENCY_SECONDS = {
  drain: 45,
  resize: 150,
  activate: 45,
  reservedIpMove: 10,
};

/** Seconds a rolling resize of every node takes: `managers` managers, then the pools. */
export function simulateRollingResize(
  managers: number,
  pools: readonly { name: string; count: number; maxUnavailable?: MaxUnavailable }[],
  latency = RESIZE_LATENCY_SECONDS,
): number {
  const limits = new Map(Object.entries(poolLimits(pools)));
  // Arrival order: as the program registers the droplets (managers, then each pool).
  const waiting: Slot[] = [
    ...Array.from({ length: managers }, (_, i) => ({
      who: `manager-${i}`,
      pool: "manager",
      manager: true,
    })),
    ...pools.flatMap((p) =>
      Array.from({ length: p.count }, (_, i) => ({
        who: `${p.name}-${i}`,
        pool: p.name,
        manager: false,
      })),
    ),
  ];
  const alone = waiting.length === 1;
  const moves = (who: string) => (who === "manager-0" && managers > 1 ? 1 : 0);
  const held: (Held & { until: number })[] = [];
  let now = 0;
  while (waiting.length > 0 || held.length > 0) {
    const i = admit(waiting, held, limits);
    if (i !== undefined) {
      const [slot] = waiting.splice(i, 1);
      // The hand-off of the reserved IP, then the drain (none for a node alone).
      const until = now + moves(slot.who) * latency.reservedIpMove + (alone ? 0 : latency.drain);
      held.push({ ...slot, phase: "draining", until });
      continue;
    }
    // The next step to end: a drain (the node goes down), or a node back (it leaves).
    const next = held.reduce((a, b) => (b.until < a.until ? b : a));
    now = next.until;
    if (next.phase === "draining") {
      next.phase = "down";
      next.until =
        now + latency.resize + latency.activate + moves(next.who) * latency.reservedIpMove;
    } else {
      held.splice(held.indexOf(next), 1);
    }
  }
  return now;
}
