/**
 * `npm run status`, the pure part: reads what scripts/status-collect.sh printed on a manager (and
 * what the CLI found out locally: certificates, the reserved IP's holder), judges it and renders
 * one screen. Degraded (a non-zero exit, for CI) is what needs someone: a node that is not Ready,
 * a manager that is unreachable, no raft leader, a service below its desired tasks or with an
 * update paused or rolled back, a certificate that fails or expires within CERT_WARN_DAYS.
 * A drained node is reported, not judged: a resize or a reboot drains on purpose.
 */

export interface NodeStatus {
  name: string;
  role: "manager" | "worker";
  state: string;
  availability: string;
  engine: string;
  leader: boolean;
  /** Managers only: reachable, unreachable, unknown. */
  reachability?: string;
}

export interface ServiceStatus {
  name: string;
  stack: string;
  mode: "replicated" | "global" | "job";
  /** Tasks swarm wants running (replicated: the spec's count; global: one per eligible node). */
  desired: number;
  /** Tasks in state Running on a Ready node. */
  running: number;
  /** Swarm's update state: updating, paused, completed, rollback_started, ... ("" when none). */
  update: string;
}

export interface TaskError {
  task: string;
  node: string;
  state: string;
  error: string;
}

export interface CertStatus {
  host: string;
  /** Days until expiry, or undefined when the handshake failed. */
  daysLeft?: number;
  error?: string;
}

export interface Collected {
  /** The manager that answered. */
  self: string;
  nodes: NodeStatus[];
  services: ServiceStatus[];
  errors: TaskError[];
}

export interface StatusReport extends Collected {
  /** The droplet the reserved IP points at, when known. */
  holder?: string;
  certs: CertStatus[];
  /** What makes the cluster degraded (the exit status is non-zero when there is any). */
  problems: string[];
  /** Worth knowing, not degraded. */
  notes: string[];
}

/** A certificate that expires within this many days is a problem (Let's Encrypt renews at 30). */
export const CERT_WARN_DAYS = 14;

/** The sections of status-collect.sh's output, by name. */
export function sections(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split("\n")) {
    const head = /^### (\S+)$/.exec(line);
    if (head) {
      current = [];
      out.set(head[1], current);
    } else if (current && line.trim() !== "") current.push(line);
  }
  return out;
}

/** Parses status-collect.sh's output; throws when a section is missing (an older script). */
export function parseCollected(text: string): Collected {
  const s = sections(text);
  for (const name of ["self", "nodes", "services", "tasks", "errors"]) {
    if (!s.has(name)) throw new Error(`the manager's answer has no "${name}" section`);
  }
  const nodes: NodeStatus[] = s.get("nodes")!.map((l) => {
    const [name, role, state, availability, engine, leader, reachability] = l.split("|");
    return {
      name,
      role: role === "manager" ? "manager" : "worker",
      state,
      availability,
      engine,
      leader: leader === "true",
      ...(role === "manager" ? { reachability: reachability ?? "" } : {}),
    };
  });
  const ready = new Set(nodes.filter((n) => n.state === "ready").map((n) => n.name));
  const running = new Map<string, number>();
  const wanted = new Map<string, number>();
  for (const l of s.get("tasks")!) {
    const [task, node, current] = l.split("|");
    // stack_svc.3 (replicated) or stack_svc.<node id> (global)
    const service = task.replace(/\.[^.]+$/, "");
    wanted.set(service, (wanted.get(service) ?? 0) + 1);
    if (/^Running\b/.test(current) && ready.has(node)) {
      running.set(service, (running.get(service) ?? 0) + 1);
    }
  }
  const services: ServiceStatus[] = s.get("services")!.map((l) => {
    const [name, stack, mode, replicas, update] = l.split("|");
    const m = mode === "replicated" || mode === "global" ? mode : "job";
    return {
      name,
      stack: stack ?? "",
      mode: m,
      desired: m === "replicated" ? Number(replicas) : m === "global" ? (wanted.get(name) ?? 0) : 0,
      running: running.get(name) ?? 0,
      update: update ?? "",
    };
  });
  const errors: TaskError[] = s.get("errors")!.map((l) => {
    const [task, node, state, ...error] = l.split("|");
    return { task, node, state, error: error.join("|") };
  });
  return { self: s.get("self")![0] ?? "", nodes, services, errors };
}

/** Judges what was collected: the problems (degraded) and the notes. */
export function judge(
  c: Collected,
  extra: { holder?: string; certs?: CertStatus[] } = {},
): StatusReport {
  const problems: string[] = [];
  const notes: string[] = [];
  for (const n of c.nodes) {
    if (n.state !== "ready") problems.push(`node ${n.name} is ${n.state} (${n.role})`);
    else if (n.role === "manager" && n.reachability !== "reachable") {
      problems.push(`manager ${n.name} is ${n.reachability || "not reachable"} in the raft`);
    }
    if (n.availability !== "active") notes.push(`node ${n.name} is ${n.availability}`);
  }
  const managers = c.nodes.filter((n) => n.role === "manager");
  if (managers.length > 0 && !managers.some((n) => n.leader)) {
    problems.push("the swarm has no raft leader");
  }
  const engines = [...new Set(c.nodes.map((n) => n.engine))];
  if (engines.length > 1) notes.push(`mixed engine versions: ${engines.sort().join(", ")}`);
  for (const s of c.services) {
    if (s.mode === "job") continue;
    if (s.running < s.desired) {
      const why = c.errors.find((e) => e.task.startsWith(`${s.name}.`));
      problems.push(
        `service ${s.name}: ${s.running}/${s.desired} tasks running` +
          (why ? ` (last error on ${why.node}: ${why.error})` : ""),
      );
    }
    if (["paused", "rollback_paused", "rollback_completed"].includes(s.update)) {
      problems.push(`service ${s.name}: update ${s.update.replace("_", " ")}`);
    }
  }
  for (const cert of extra.certs ?? []) {
    if (cert.daysLeft === undefined) {
      problems.push(`https://${cert.host}/: no valid certificate (${cert.error ?? "unknown"})`);
    } else if (cert.daysLeft < CERT_WARN_DAYS) {
      problems.push(`https://${cert.host}/: the certificate expires in ${cert.daysLeft} days`);
    }
  }
  return { ...c, holder: extra.holder, certs: extra.certs ?? [], problems, notes };
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i])))
      .join("  ")
      .trimEnd(),
  );
}

/** One screen: nodes, services per stack, failing tasks, the entry point, certificates, verdict. */
export function renderReport(r: StatusReport): string {
  const out: string[] = [];
  const leader = r.nodes.find((n) => n.leader)?.name ?? "none";
  out.push(`entry point: reserved IP on ${r.holder ?? "unknown"}; raft leader: ${leader}`, "");
  out.push(
    ...table([
      ["NODE", "ROLE", "STATE", "AVAILABILITY", "ENGINE"],
      ...r.nodes.map((n) => [
        n.name + (n.leader ? " *" : ""),
        n.role,
        n.state + (n.reachability && n.reachability !== "reachable" ? `/${n.reachability}` : ""),
        n.availability,
        n.engine,
      ]),
    ]),
    "",
  );
  const services = [...r.services].sort(
    (a, b) => a.stack.localeCompare(b.stack) || a.name.localeCompare(b.name),
  );
  out.push(
    ...table([
      ["STACK", "SERVICE", "TASKS", "UPDATE"],
      ...services.map((s) => [
        s.stack || "-",
        s.name,
        s.mode === "job" ? "job" : `${s.running}/${s.desired}`,
        s.update || "-",
      ]),
    ]),
  );
  const short = new Set(r.services.filter((s) => s.running < s.desired).map((s) => s.name));
  const failing = r.errors.filter((e) => short.has(e.task.replace(/\.[^.]+$/, "")));
  if (failing.length > 0) {
    out.push("", "failing tasks:");
    for (const e of failing) out.push(`  ${e.task} on ${e.node}: ${e.state}: ${e.error}`);
  }
  if (r.certs.length > 0) {
    out.push("", "certificates:");
    for (const c of r.certs) {
      out.push(
        `  ${c.host}: ${c.daysLeft === undefined ? `FAILED (${c.error ?? "unknown"})` : `expires in ${c.daysLeft} days`}`,
      );
    }
  }
  if (r.notes.length > 0) out.push("", ...r.notes.map((n) => `note: ${n}`));
  out.push("");
  if (r.problems.length === 0) out.push("status: healthy");
  else out.push(`status: DEGRADED (${r.problems.length})`, ...r.problems.map((p) => `  - ${p}`));
  return out.join("\n") + "\n";
}
