/**
 * Rolling vertical resize. On DigitalOcean a droplet `size` change is done in place by hard
 * power-off, resize, power-on: done naively on every node at once it is an outage, and on the
 * managers it loses quorum. So every droplet carries hooks that bracket its update:
 *
 *   beforeUpdate: take a slot of the cluster-wide lock -> hand the reserved IPs on this droplet to another
 *                 Ready manager (its edge first closes its clients' connections, so the move
 *                 resets none) -> drain the node (its tasks restart elsewhere first)
 *   (the provider resizes: power off, resize, power on)
 *   afterUpdate:  wait until the node is Ready (and Reachable) -> make it active -> take the
 *                 reserved IPs back -> release the lock
 *
 * Why hooks rather than extra resources: a drain must run BEFORE the droplet's update but a
 * resource that the droplet depends on would also run before its creation, serialising the
 * creation of a fresh cluster; hooks fire only on updates, so creation stays fully parallel.
 * Why an in-process lock: the engine updates independent droplets concurrently; one promise
 * queue in the program is the only place that sees them all. Its slots (batches.ts): a manager
 * alone, one worker pool at a time up to its maxUnavailable, one drain at a time; a node whose
 * surge finds no room beside the others of its pool already down shrinks the batch and waits
 * to be drained alone.
 *
 * What a hook may read (issue 14). The engine runs hooks INSIDE the step (pulumi/pulumi
 * pkg/resource/deploy/step.go, UpdateStep.Apply: before hooks, provider Update, after hooks) and
 * answers the droplet's RegisterResource, which is what resolves its outputs in this program,
 * only once the step is done. Every changed droplet is in flight at once and waits on this lock.
 * So a hook must never wait on the Output of a droplet, or of anything that depends on one: it
 * would wait on its own step, or on a step waiting for the lock it holds. The hooks read only
 * their own arguments (the droplet's id, old and new inputs), plain values the program had
 * before any step began (the node plan, the manager tag, the key and token from config), and the
 * world as it is now: DigitalOcean's API (the cluster's managers by tag, the reserved IPs routed
 * to a droplet) and the swarm (which managers are Ready). The side effects are `MaintenanceOps`,
 * so the ordering is unit-tested, and the lab and the engine-order harness drive the hooks the
 * program registers.
 *
 * Failure (issue 16, point 5): no `onError` hook. The engine stores a resource's hook names in
 * its state and runs its error hooks when a DELETE fails too; in `pulumi destroy` (the program
 * does not run) or for a node removed from the program, such a hook is not registered and the
 * engine reports "error hook ... was not registered" instead of DigitalOcean's error
 * (deployment.go, RunErrorHooks). Instead the lock has a lease: every phase of a node's
 * maintenance must end within the maintenance timeout; a before hook that fails undoes what it
 * did and fails the lock; a provider update that fails (its after hook never runs) lets the
 * lease expire. Either way every waiting update then fails at once with the reason, and none
 * starts later: the engine cancels the deployment on a failed step, and another node powered
 * off next to a failed one could be two nodes down.
 */
import * as pulumi from "@pulumi/pulumi";
import { NodePlan } from "../core/nodes";
import { scriptCommand } from "../core/remote";
import * as path from "path";
import { admit, Held, isNoRoom, Slot, shrunkLimit, surgeSeconds } from "./batches";

/** The scripts this capability sends to the nodes (the lab runs the very same files). */
export const MAINTENANCE_SCRIPTS = path.join(__dirname, "scripts");

/**
 * Who is in maintenance. Each node takes a slot of its pool: a manager alone, a worker pool up to
 * its maxUnavailable, one drain at a time (the rules and why: batches.ts `admit`). Waiters start
 * in arrival order within those rules; each holder has a lease, and a holder whose lease runs
 * out fails the lock. With no limits given every pool has one slot: one node at a time.
 */
export class MaintenanceLock {
  private queue: {
    slot: Slot;
    leaseSeconds: number;
    resolve: () => void;
    reject: (e: Error) => void;
  }[] = [];
  private held = new Map<string, Held & { timer?: NodeJS.Timeout }>();
  private limits: Map<string, number>;
  /** Why maintenance stopped; set once, for the rest of the run. */
  failure: string | undefined;

  /** `limits`: each worker pool's maxUnavailable, resolved (a pool not listed: 1). */
  constructor(limits: Record<string, number> = {}) {
    this.limits = new Map(Object.entries(limits));
  }

  /** The first node in maintenance, if any. */
  get holder(): string | undefined {
    return this.held.keys().next().value;
  }

  /** Every node in maintenance now. */
  get holders(): string[] {
    return [...this.held.keys()];
  }

  /** How many nodes of this pool may be in maintenance at once now. */
  limitOf(pool: string): number {
    return this.limits.get(pool) ?? 1;
  }

  /**
   * Waits for `who`'s slot. Without `slot`, `who` is alone (as a manager): nothing else runs
   * beside it.
   */
  async acquire(
    who: string,
    leaseSeconds: number,
    slot: Omit<Slot, "who"> = { pool: who, manager: true },
  ): Promise<void> {
    if (this.failure !== undefined) throw new Error(this.notStarted(who));
    await new Promise<void>((resolve, reject) => {
      this.queue.push({ slot: { ...slot, who }, leaseSeconds, resolve, reject });
      this.admitNext();
    });
  }

  /** Restarts the holder's lease: the next phase must end within `seconds`. */
  extend(who: string, seconds: number): void {
    const h = this.held.get(who);
    if (h === undefined) return;
    clearTimeout(h.timer);
    h.timer = setTimeout(
      () =>
        this.fail(
          who,
          `the maintenance of ${who} did not finish within ${seconds} s (its resize failed, or it did not come back)`,
        ),
      seconds * 1000,
    );
  }

  /** `who` is drained (down from here): the next node may start its drain; its lease restarts. */
  drained(who: string, seconds: number): void {
    const h = this.held.get(who);
    if (h === undefined) return;
    h.phase = "down";
    this.extend(who, seconds);
    this.admitNext();
  }

  /** Nodes of `who`'s pool other than itself that are past their drain. */
  othersDown(who: string): number {
    const me = this.held.get(who);
    if (me === undefined) return 0;
    return [...this.held.values()].filter(
      (h) => h.who !== who && h.pool === me.pool && h.phase === "down",
    ).length;
  }

  /**
   * `who`'s surge found no room beside the others of its pool that are down: the pool's batch
   * shrinks to at most that many (at least 1) for the rest of the run. Returns the new limit.
   */
  shrink(who: string): number {
    const me = this.held.get(who);
    if (me === undefined) return 1;
    const to = shrunkLimit(this.limitOf(me.pool), this.othersDown(who));
    this.limits.set(me.pool, to);
    return to;
  }

  /** Releases `who`'s slot if it holds one; a no-op otherwise (safe from every exit path). */
  release(who: string): void {
    const h = this.held.get(who);
    if (h === undefined) return;
    clearTimeout(h.timer);
    this.held.delete(who);
    this.admitNext();
  }

  /** `who`'s maintenance failed: its slot is released, every waiter and later comer fails. */
  fail(who: string, reason: string): void {
    const h = this.held.get(who);
    if (h === undefined) return;
    clearTimeout(h.timer);
    this.held.delete(who);
    this.failure = reason;
    const waiting = this.queue;
    this.queue = [];
    waiting.forEach((w) => w.reject(new Error(this.notStarted(w.slot.who))));
  }

  /** Starts every waiter the rules allow now (one at most: it is draining until `drained`). */
  private admitNext(): void {
    if (this.failure !== undefined) return;
    const i = admit(
      this.queue.map((w) => w.slot),
      [...this.held.values()],
      this.limits,
    );
    if (i === undefined) return;
    const [next] = this.queue.splice(i, 1);
    this.held.set(next.slot.who, { ...next.slot, phase: "draining" });
    this.extend(next.slot.who, next.leaseSeconds);
    next.resolve();
  }

  private notStarted(who: string): string {
    return `${who} was not resized: ${this.failure}; fix that node and run \`pulumi up\` again`;
  }
}

/** A manager droplet as DigitalOcean lists it now. */
export interface ManagerDroplet {
  id: number;
  name: string;
  publicIp: string;
}

/** The side effects maintenance needs; real ones in maintenanceOps.ts, fakes in tests. */
export interface MaintenanceOps {
  /** The cluster's manager droplets now, from DigitalOcean (by the managers' tag). */
  managers(): Promise<ManagerDroplet[]>;
  /**
   * Runs a command on a manager of the swarm; rejects on failure. Droplet `avoid` (the node in
   * maintenance) is tried last, only when no other manager answers.
   */
  onManager(command: string, avoid?: number): Promise<string>;
  /** Runs a command on that manager droplet itself (no other); rejects on failure. */
  onDroplet(dropletId: number, command: string): Promise<string>;
  /** The reserved IPs routed to a droplet now. */
  reservedIpsOn(dropletId: number): Promise<string[]>;
  /** Moves a reserved IP to a droplet and waits until the move is done. */
  assignReservedIp(ip: string, dropletId: number): Promise<void>;
  log(message: string): void;
  warn(message: string): void;
}

export interface MaintenanceContext {
  nodes: readonly NodePlan[];
  ops: MaintenanceOps;
  lock: MaintenanceLock;
  /** Seconds each phase (drain, the provider's resize, activation) may take. @default 600 */
  timeoutSeconds?: number;
}

/** Arguments of the hooks that matter here (a subset of pulumi.ResourceHookArgs). */
export interface DropletUpdate {
  id: string;
  oldInputs?: Record<string, unknown>;
  newInputs?: Record<string, unknown>;
}

/** A resize is a change of size; other droplet updates (tags, say) need no maintenance. */
export const isResize = (u: DropletUpdate) =>
  u.oldInputs?.size !== undefined &&
  u.newInputs?.size !== undefined &&
  u.oldInputs.size !== u.newInputs.size;

/** What `pulumi preview` says about a resize before anything happens. */
export function previewMessages(
  node: NodePlan,
  u: DropletUpdate,
  managerCount: number,
  /** Nodes of its pool resized at once (the pool's maxUnavailable). @default 1 */
  batch = 1,
): string[] {
  if (!isResize(u)) return [];
  const messages = [
    `${node.name}: ${String(u.oldInputs!.size)} -> ${String(u.newInputs!.size)}: drained, powered off, resized and ` +
      "powered on by DigitalOcean, then made active again; " +
      (node.role === "worker" && batch > 1
        ? `up to ${batch} nodes of pool ${node.pool} are resized at a time, managers one at a time`
        : "nodes are resized one at a time"),
  ];
  if (node.role === "manager" && managerCount === 1) {
    messages.push(
      `${node.name} is the only manager: the swarm's control plane (deploys, scheduling, ` +
        "`docker service` commands) is unavailable while it is resized; running tasks on other nodes keep running",
    );
  }
  if (node.resizeDisk) {
    messages.push(
      `${node.name} has resizeDisk: true: its disk grows for good and it can never move back to a smaller size`,
    );
  }
  return messages;
}

/** `docker node ls` for the hand-off: hostname, status, availability of every manager. */
export const MANAGER_STATUS_COMMAND =
  "docker node ls --filter role=manager --format '{{.Hostname}} {{.Status}} {{.Availability}}'";

/**
 * The manager to hand the reserved IPs to: a droplet of the cluster's managers tag, not `self`,
 * that the swarm lists as Ready and Active (so it serves), first by name.
 */
export function handOffTarget(
  self: number,
  managers: readonly ManagerDroplet[],
  managerStatus: string,
): ManagerDroplet | undefined {
  const serving = new Set(
    managerStatus
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter(([, status, availability]) => status === "Ready" && availability === "Active")
      .map(([hostname]) => hostname),
  );
  return [...managers]
    .sort((a, b) => a.name.localeCompare(b.name))
    .find((m) => m.id !== self && serving.has(m.name));
}

/**
 * Seconds an edge closes its connections before the reserved IP leaves its node: every client
 * that sends in that time gets a response saying "Connection: close" (edge-connections.sh).
 */
export const CLOSE_CONNECTIONS_SECONDS = 2;

/** What one node's maintenance did, to undo or finish it. */
interface InFlight {
  drained: boolean;
  /** Reserved IPs moved away from this droplet, to take back. */
  reservedIps: string[];
  /** The manager they were moved to. */
  handedTo?: number;
}

/** The hook functions for one node. Exported for tests; components bind them. */
export function maintenanceHooks(node: NodePlan, ctx: MaintenanceContext) {
  const timeout = ctx.timeoutSeconds ?? 600;
  const managerCount = ctx.nodes.filter((n) => n.role === "manager").length;
  const alone = ctx.nodes.length === 1;
  const { ops } = ctx;
  let inFlight: InFlight | undefined;

  const activate = (self: number) =>
    ops.onManager(
      scriptCommand("node-activate.sh", [node.name, String(timeout)], MAINTENANCE_SCRIPTS),
      self,
    );
  // An edge that closes its connections before the IP leaves its node: none is left open to be
  // reset by the new holder (edge-connections.sh). Only an improvement: a failure is a warning.
  const edgeConnections = async (droplet: number, mode: "close" | "keep") => {
    const args = mode === "close" ? ["close", String(CLOSE_CONNECTIONS_SECONDS)] : ["keep"];
    await ops
      .onDroplet(droplet, scriptCommand("edge-connections.sh", args, MAINTENANCE_SCRIPTS))
      .catch((e: unknown) =>
        ops.warn(
          `${node.name}: could not tell droplet ${droplet}'s edge to ${mode} connections: ${(e as Error).message}`,
        ),
      );
  };
  const takeBack = async (self: number, state: InFlight) => {
    if (state.reservedIps.length === 0) return;
    if (state.handedTo !== undefined) await edgeConnections(state.handedTo, "close");
    for (const ip of state.reservedIps) {
      ops.log(`${node.name}: taking the reserved IP ${ip} back`);
      await ops.assignReservedIp(ip, self);
    }
    if (state.handedTo !== undefined) await edgeConnections(state.handedTo, "keep");
  };

  return {
    async before(u: DropletUpdate): Promise<void> {
      if (!isResize(u)) return;
      // Two phases before the provider's resize: the hand-off and the drain.
      const slot = { pool: node.pool, manager: node.role === "manager" };
      await ctx.lock.acquire(node.name, 2 * timeout, slot);
      const self = Number(u.id);
      const state: InFlight = { drained: false, reservedIps: [] };
      // Beside other nodes of its pool already down, the surge may wait only so long for room
      // (batches.ts surgeSeconds); alone, the drain behaves as it always has.
      const drain = () => {
        const bound = surgeSeconds(ctx.lock.othersDown(node.name), timeout);
        const args = [node.name, String(timeout), ...(bound === undefined ? [] : [String(bound)])];
        return ops.onManager(scriptCommand("node-drain.sh", args, MAINTENANCE_SCRIPTS), self);
      };
      try {
        previewMessages(node, u, managerCount, ctx.lock.limitOf(node.pool)).forEach((m) =>
          ops.log(m),
        );
        const held = node.role === "manager" ? await ops.reservedIpsOn(self) : [];
        if (held.length > 0) {
          const to = handOffTarget(
            self,
            await ops.managers(),
            await ops.onManager(MANAGER_STATUS_COMMAND, self),
          );
          if (to === undefined) {
            ops.warn(
              `${node.name} holds the reserved IP ${held.join(", ")} and no other manager is Ready to take it: it is unreachable while ${node.name} is resized`,
            );
          } else {
            // This node's edge is replaced when it is drained, which clears the marker; when it
            // is not drained (alone) or the maintenance is undone, "keep" below clears it.
            await edgeConnections(self, "close");
            state.handedTo = to.id;
            for (const ip of held) {
              ops.log(
                `${node.name}: handing the reserved IP ${ip} to ${to.name} while it is resized`,
              );
              await ops.assignReservedIp(ip, to.id);
              state.reservedIps.push(ip);
            }
          }
        }
        if (alone) {
          ops.warn(
            `${node.name} is the only node: nothing can take its tasks; they stop while it is resized`,
          );
        } else {
          state.drained = true;
          try {
            await drain();
          } catch (e) {
            if (!isNoRoom(e)) throw e;
            // No room for the surge beside the others of its pool that are down: node-drain.sh
            // undid its surge and left the node active. The batch shrinks; this node waits to
            // be drained with no other node of its pool in maintenance, never without room.
            const others = ctx.lock.othersDown(node.name);
            const to = ctx.lock.shrink(node.name);
            ops.warn(
              `${node.name}: no room for its surge beside ${others} other node(s) of pool ${node.pool} in maintenance: ` +
                `the pool's batch shrinks to ${to}; ${node.name} waits to be drained with no other node of its pool down`,
            );
            ctx.lock.release(node.name);
            await ctx.lock.acquire(node.name, 2 * timeout, { ...slot, alone: true });
            await drain();
          }
        }
        inFlight = state;
        ctx.lock.drained(node.name, timeout); // the provider's resize
      } catch (e) {
        // The step fails and the droplet is not resized: leave the node as it was.
        const undo = async () => {
          if (state.drained) await activate(self);
          await takeBack(self, state);
          if (state.handedTo !== undefined) await edgeConnections(self, "keep");
        };
        await undo().catch((err: unknown) =>
          ops.warn(`${node.name}: could not undo its maintenance: ${(err as Error).message}`),
        );
        ctx.lock.fail(node.name, `the maintenance of ${node.name} failed: ${(e as Error).message}`);
        throw e;
      }
    },

    async after(u: DropletUpdate): Promise<void> {
      // Only a node whose before hook completed; runs even after a lease ran out (a slow
      // resize), so the node is made active and gets its IP back.
      const state = inFlight;
      if (!isResize(u) || state === undefined) return;
      inFlight = undefined;
      ctx.lock.extend(node.name, 2 * timeout); // activation, then the IPs back
      const self = Number(u.id);
      try {
        await activate(self);
        await takeBack(self, state);
      } catch (e) {
        ctx.lock.fail(node.name, `${node.name} did not come back: ${(e as Error).message}`);
        throw e;
      }
      ctx.lock.release(node.name);
    },
  };
}

/** Binds the hooks to a droplet. The before hook also runs in preview, to warn (only). */
export function maintenanceBinding(
  node: NodePlan,
  ctx: MaintenanceContext,
): pulumi.ResourceHookBinding {
  const hooks = maintenanceHooks(node, ctx);
  const managerCount = ctx.nodes.filter((n) => n.role === "manager").length;
  return {
    beforeUpdate: [
      new pulumi.ResourceHook(
        `${node.name}-before-resize`,
        async (args) => {
          if (pulumi.runtime.isDryRun()) {
            previewMessages(node, args, managerCount, ctx.lock.limitOf(node.pool)).forEach((m) =>
              ctx.ops.warn(m),
            );
            return;
          }
          await hooks.before(args);
        },
        { onDryRun: true },
      ),
    ],
    afterUpdate: [
      new pulumi.ResourceHook(`${node.name}-after-resize`, (args) => hooks.after(args)),
    ],
  };
}
