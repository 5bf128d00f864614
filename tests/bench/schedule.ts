/**
 * How long the engine takes to run a graph of resource operations with at most `parallel` of
 * them in flight. The Pulumi engine's step executor starts one worker per degree of parallelism
 * (pulumi/pulumi, pkg/resource/deploy/step_executor.go, newStepExecutor), and the CLI's default
 * `--parallel` is 4 x the cores Go sees (pkg/cmd/pulumi/operations/up.go, defaultParallel;
 * PULUMI_PARALLEL overrides it): 16 on a 4-core CI runner, 8 on 2 cores. A step holds its worker
 * for the whole provider call: a droplet create until the droplet is active, a remote command
 * until its script exits. Pure, deterministic: no timers.
 */

/**
 * The `--parallel` README.md (`pulumi up --parallel 32`) and the workflows (pulumi/actions'
 * `parallel`) pass. Why 32: `npm run bench` shows every cluster of up to about 30 nodes created
 * as fast as with no bound, where the CLI's default (8 or 16 on CI runners) makes a 3+20 cluster
 * wait in waves. Not more: each droplet in flight polls the DigitalOcean API every few seconds
 * until it is active (terraform-provider-digitalocean, waitForDropletAttribute), and the API
 * allows 250 requests a minute per token; the provider retries a 429 only 4 times.
 */
export const RECOMMENDED_PARALLEL = 32;

export interface Step {
  id: string;
  /** Steps that must finish first (unknown ids are ignored: components, the stack). */
  deps: readonly string[];
  /** How long the operation takes once started. 0 for no real work (components). */
  seconds: number;
}

/**
 * Simulated wall time of `steps` with at most `parallel` in flight (Infinity: unbounded, the
 * critical path). A step is ready once its dependencies are done; free workers take ready steps
 * first come, first served (ties in registration order, as the program registers them). Steps
 * of 0 s take no worker. Throws on a dependency cycle.
 */
export function boundedMakespan(steps: readonly Step[], parallel: number): number {
  if (!(parallel >= 1)) throw new Error(`parallel must be at least 1, not ${parallel}`);
  const index = new Map(steps.map((s, i) => [s.id, i]));
  const deps = steps.map((s) => [
    ...new Set(s.deps.filter((d) => index.has(d)).map((d) => index.get(d)!)),
  ]);
  const waitingOn = deps.map((d) => d.length);
  const dependents: number[][] = steps.map(() => []);
  deps.forEach((ds, i) => ds.forEach((d) => dependents[d].push(i)));

  const readyAt: number[] = steps.map(() => 0);
  const ready: number[] = []; // indices, ordered by (readyAt, index)
  const running: { i: number; end: number }[] = [];
  let now = 0;
  let done = 0;
  const insertReady = (i: number) => {
    let at = ready.length;
    while (at > 0) {
      const j = ready[at - 1];
      if (readyAt[j] < readyAt[i] || (readyAt[j] === readyAt[i] && j < i)) break;
      at--;
    }
    ready.splice(at, 0, i);
  };
  const finish = (i: number) => {
    done++;
    for (const k of dependents[i]) {
      if (--waitingOn[k] === 0) {
        readyAt[k] = now;
        insertReady(k);
      }
    }
  };
  steps.forEach((_, i) => {
    if (waitingOn[i] === 0) insertReady(i);
  });

  while (done < steps.length) {
    // Start what can start now: instant steps at once, others while a worker is free.
    let progressed = true;
    while (progressed) {
      progressed = false;
      for (let r = 0; r < ready.length; r++) {
        const i = ready[r];
        if (steps[i].seconds === 0) {
          ready.splice(r, 1);
          finish(i);
          progressed = true;
          break;
        }
        if (running.length < parallel) {
          ready.splice(r, 1);
          running.push({ i, end: now + steps[i].seconds });
          progressed = true;
          break;
        }
      }
    }
    if (running.length === 0) {
      if (done < steps.length) throw new Error("the steps have a dependency cycle");
      break;
    }
    // Advance to the next completion(s).
    now = Math.min(...running.map((r) => r.end));
    for (let r = running.length - 1; r >= 0; r--) {
      if (running[r].end === now) {
        const [{ i }] = running.splice(r, 1);
        finish(i);
      }
    }
  }
  return now;
}
