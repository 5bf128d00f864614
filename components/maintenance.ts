/**
 * Rolling vertical resize. On DigitalOcean a droplet `size` change is done in place by hard
 * power-off, resize, power-on: done naively on every node at once it is an outage, and on the
 * managers it loses quorum. So every droplet carries hooks that bracket its update:
 *
 *   beforeUpdate: take the cluster-wide lock -> hand the reserved IP to another manager if this
 *                 droplet holds it -> drain the node (its tasks restart elsewhere first)
 *   (the provider resizes: power off, resize, power on)
 *   afterUpdate:  wait until the node is Ready (and Reachable) -> make it active -> hand the
 *                 reserved IP back -> release the lock
 *   onError:      release the lock, so a failed resize does not hang the rest
 *
 * Why hooks rather than extra resources: a drain must run BEFORE the droplet's update but a
 * resource that the droplet depends on would also run before its creation, serialising the
 * creation of a fresh cluster; hooks fire only on updates, so creation stays fully parallel.
 * Why an in-process lock: the engine updates independent droplets concurrently; one promise
 * queue in the program is the only place that sees them all. The hook functions take their
 * side effects as `MaintenanceOps`, so the ordering is unit-tested and the lab drives the same
 * functions against real nodes.
 */
import * as pulumi from "@pulumi/pulumi";
import { NodePlan } from "./nodes";
import { scriptCommand } from "./remote";

/** One holder at a time, in arrival order. */
export class MaintenanceLock {
  private queue: (() => void)[] = [];
  holder: string | undefined;

  async acquire(who: string): Promise<void> {
    if (this.holder !== undefined) {
      await new Promise<void>((resolve) => this.queue.push(resolve));
    }
    this.holder = who;
  }

  /** Releases the lock if `who` holds it; a no-op otherwise (safe from every exit path). */
  release(who: string): void {
    if (this.holder !== who) return;
    this.holder = undefined;
    this.queue.shift()?.();
  }
}

/** The side effects maintenance needs; real ones below, fakes in tests, lab ones in the lab. */
export interface MaintenanceOps {
  /** Runs a command on a manager of the swarm (through the reserved IP); rejects on failure. */
  onManager(command: string): Promise<string>;
  /** The droplet currently holding the reserved IP, if any. */
  reservedIpHolder(): Promise<number | undefined>;
  /** Moves the reserved IP to a droplet and waits until the move is done. */
  assignReservedIp(dropletId: number): Promise<void>;
  log(message: string): void;
  warn(message: string): void;
}

export interface MaintenanceContext {
  nodes: readonly NodePlan[];
  /** Droplet IDs of the managers, in manager order. */
  managerDropletIds(): Promise<number[]>;
  ops: MaintenanceOps;
  lock: MaintenanceLock;
  /** Seconds a drain or an activation may take. @default 600 */
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
export function previewMessages(node: NodePlan, u: DropletUpdate, managerCount: number): string[] {
  if (!isResize(u)) return [];
  const messages = [
    `${node.name}: ${String(u.oldInputs!.size)} -> ${String(u.newInputs!.size)}: drained, powered off, resized and ` +
      "powered on by DigitalOcean, then made active again; nodes are resized one at a time",
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

/** The per-node maintenance state between beforeUpdate and afterUpdate. */
interface InFlight {
  /** The droplet the reserved IP was taken from, to give it back. */
  reservedIpFrom?: number;
}

/** The hook functions for one node. Exported for tests and the lab; components bind them. */
export function maintenanceHooks(node: NodePlan, ctx: MaintenanceContext) {
  const timeout = String(ctx.timeoutSeconds ?? 600);
  const managerCount = ctx.nodes.filter((n) => n.role === "manager").length;
  const alone = ctx.nodes.length === 1;
  let inFlight: InFlight | undefined;

  return {
    async before(u: DropletUpdate): Promise<void> {
      if (!isResize(u)) return;
      await ctx.lock.acquire(node.name);
      try {
        previewMessages(node, u, managerCount).forEach((m) => ctx.ops.log(m));
        inFlight = {};
        const self = Number(u.id);
        if (node.role === "manager" && (await ctx.ops.reservedIpHolder()) === self) {
          const other = (await ctx.managerDropletIds()).find((id) => id !== self);
          if (other === undefined) {
            ctx.ops.warn(
              `${node.name} holds the reserved IP and there is no other manager to hand it to`,
            );
          } else {
            ctx.ops.log(
              `${node.name}: handing the reserved IP to droplet ${other} while it is resized`,
            );
            await ctx.ops.assignReservedIp(other);
            inFlight.reservedIpFrom = self;
          }
        }
        if (alone) {
          ctx.ops.warn(
            `${node.name} is the only node: nothing can take its tasks; they stop while it is resized`,
          );
        } else {
          await ctx.ops.onManager(scriptCommand("node-drain.sh", [node.name, timeout]));
        }
      } catch (e) {
        ctx.lock.release(node.name);
        throw e;
      }
    },

    async after(u: DropletUpdate): Promise<void> {
      if (!isResize(u) || ctx.lock.holder !== node.name) return;
      try {
        await ctx.ops.onManager(scriptCommand("node-activate.sh", [node.name, timeout]));
        if (inFlight?.reservedIpFrom !== undefined) {
          ctx.ops.log(`${node.name}: taking the reserved IP back`);
          await ctx.ops.assignReservedIp(inFlight.reservedIpFrom);
        }
      } finally {
        inFlight = undefined;
        ctx.lock.release(node.name);
      }
    },

    /** A failed update must not keep the other nodes waiting; Pulumi reports the error. */
    failed(): boolean {
      inFlight = undefined;
      ctx.lock.release(node.name);
      return false; // do not retry a resize
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
            previewMessages(node, args, managerCount).forEach((m) => ctx.ops.warn(m));
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
    onError: [new pulumi.ErrorHook(`${node.name}-resize-failed`, () => hooks.failed())],
  };
}
