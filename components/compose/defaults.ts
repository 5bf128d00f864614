// Safe rolling-update defaults. Swarm's own defaults (stop-first, failure_action pause, monitor
// 5s) take a task down before its replacement runs and leave a failed update paused half-way;
// these start the new task first, watch it for 30s and roll back on failure. Services that
// write to a mount (a volume, a host path) stop the old task first instead: two tasks on one
// data directory can corrupt it (see dataMount below).
import { Report, UpdateDefaults, YamlMap, isMap } from "./types";

const UPDATE_BASE = {
  parallelism: 1,
  delay: "10s",
  failure_action: "rollback",
  monitor: "30s",
  max_failure_ratio: 0,
  order: "start-first",
};
const ROLLBACK_BASE = {
  parallelism: 1,
  delay: "0s",
  failure_action: "pause",
  monitor: "30s",
  order: "start-first",
};

/** Check the caller's overrides once; bad values are problems, not silently clamped. */
export function checkUpdateDefaults(u: UpdateDefaults | undefined, report: Report): void {
  if (!u) return;
  const where = "options.update";
  const nonNegInt = (v: number | undefined) => v === undefined || (Number.isInteger(v) && v >= 0);
  const nonNeg = (v: number | undefined) => v === undefined || (Number.isFinite(v) && v >= 0);
  if (!nonNegInt(u.parallelism)) report.problem(where, "parallelism must be an integer >= 0");
  if (!nonNeg(u.delaySeconds)) report.problem(where, "delaySeconds must be >= 0");
  if (!nonNeg(u.monitorSeconds)) report.problem(where, "monitorSeconds must be >= 0");
  const r = u.maxFailureRatio;
  if (r !== undefined && !(Number.isFinite(r) && r >= 0 && r <= 1)) {
    report.problem(where, "maxFailureRatio must be between 0 and 1");
  }
}

function seconds(n: number): string {
  return `${n}s`;
}

/**
 * The defaults for one service. The caller's overrides replace the base values; the rollback
 * config shares parallelism, monitor and order with the update config (a rollback is an update
 * back to the previous spec), but keeps failure_action pause: rolling back a failed rollback
 * would loop, so a human has to look.
 */
export function defaultsFor(
  u: UpdateDefaults | undefined,
  hostMode: boolean,
  dataMount?: string,
): { update: YamlMap; rollback: YamlMap } {
  const update: YamlMap = { ...UPDATE_BASE };
  const rollback: YamlMap = { ...ROLLBACK_BASE };
  if (u?.parallelism !== undefined) update.parallelism = rollback.parallelism = u.parallelism;
  if (u?.delaySeconds !== undefined) update.delay = seconds(u.delaySeconds);
  if (u?.monitorSeconds !== undefined)
    update.monitor = rollback.monitor = seconds(u.monitorSeconds);
  if (u?.failureAction !== undefined) update.failure_action = u.failureAction;
  if (u?.maxFailureRatio !== undefined) update.max_failure_ratio = u.maxFailureRatio;
  if (u?.order !== undefined) update.order = rollback.order = u.order;
  // A host-mode port is bound on the node itself: a second task on the same node cannot start
  // while the old one holds the port, so start-first would stall (global services) or hop nodes.
  if (hostMode) update.order = rollback.order = "stop-first";
  // A writable data mount (mounts.ts writableData: a named volume, a bind of a host path) is the
  // same directory for the old task and a new one started beside it on the same node: a
  // PostgreSQL started on a data directory another PostgreSQL still writes can corrupt it (its
  // lock file does not help across containers). CapRover updates services with mounts
  // stop-first for this reason. Like host mode, this beats the caller's stack-wide order: only
  // the file's own order, set on the service, says start-first is safe for it.
  if (dataMount !== undefined) update.order = rollback.order = "stop-first";
  return { update, rollback };
}

/**
 * One task at a time shares a node's data with its replacement: a single replica, or a global
 * service (one task per node). With more replicas, tasks that share a node already share its
 * volume, so start-first adds no new sharing.
 */
function singleTask(deploy: YamlMap): boolean {
  if (deploy.mode === "global") return true;
  return deploy.replicas === undefined || deploy.replicas === null || Number(deploy.replicas) === 1;
}

/**
 * Merge defaults under explicit values, key by key: anything the file sets wins.
 * @param dataMount the service's first writable data mount, described (mounts.ts), if any
 */
export function applyDeployDefaults(
  service: string,
  deploy: YamlMap,
  u: UpdateDefaults | undefined,
  hostMode: boolean,
  report: Report,
  dataMount?: string,
): YamlMap {
  const { update, rollback } = defaultsFor(u, hostMode, dataMount);
  const out: YamlMap = { ...deploy };
  for (const [key, base] of [
    ["update_config", update],
    ["rollback_config", rollback],
  ] as const) {
    const explicit = isMap(deploy[key]) ? deploy[key] : {};
    out[key] = { ...base, ...explicit };
    if (hostMode && explicit.order === "start-first") {
      report.warn(
        `services.${service}.deploy.${key}.order`,
        "start-first with a host-mode port: the new task cannot bind the port while the old one runs on the same node; use stop-first",
      );
    }
    if (dataMount !== undefined && explicit.order === "start-first" && singleTask(deploy)) {
      report.warn(
        `services.${service}.deploy.${key}.order`,
        `start-first with a writable mount (${dataMount}) on a ${deploy.mode === "global" ? "global service (one task per node)" : "single-replica service"}: an update starts the new task while the old one still runs, both writing the same data on the same node; a database can be corrupted this way; use stop-first (the default for services with writable mounts) unless the application is made for two writers`,
      );
    }
  }
  return out;
}
