/**
 * Rolling resize ordering, on the hook functions with fake operations: one node at a time,
 * drain before and activate after, the reserved IP handed away and back, failures that stop the
 * rest instead of hanging them. tests/engine/ runs the same hooks through the registration the
 * program makes, in the engine's order.
 */
import {
  handOffTarget,
  isResize,
  maintenanceHooks,
  MaintenanceLock,
  MaintenanceOps,
  MANAGER_STATUS_COMMAND,
  previewMessages,
} from "../components/maintenance/maintenance";
import { managerOrder } from "../components/maintenance/maintenanceOps";
import { planNodes } from "../components/core/nodes";

type Event = string;

function fakeCluster(
  managers: number,
  workers: number,
  opts: {
    failDrainOf?: string;
    timeoutSeconds?: number;
    edgeUnreachable?: boolean;
    /** Each pool's maxUnavailable, resolved (the lock's limits). */
    limits?: Record<string, number>;
    /** Nodes whose bounded surge finds no room (node-drain.sh exits 75). */
    noRoomFor?: string[];
    /** How long the provider's resize takes, in ms. @default 3 */
    resizeMs?: number;
  } = {},
) {
  const nodes = planNodes("c", {
    managers: { count: managers, size: "s-1vcpu-2gb" },
    workers: [{ name: "worker", count: workers, size: "s-1vcpu-1gb" }],
  });
  const ids = Object.fromEntries(nodes.map((n, i) => [n.name, 1000 + i]));
  const events: Event[] = [];
  const ip = "198.51.100.7";
  let holder: number | undefined = ids["c-manager-0"];
  const down = new Set<string>();
  const downSets: string[][] = [];
  let maxDown = 0;
  const managerDroplets = nodes
    .filter((n) => n.role === "manager")
    .map((n) => ({ id: ids[n.name], name: n.name, publicIp: `203.0.113.${ids[n.name] - 999}` }));
  const ops: MaintenanceOps = {
    managers: async () => managerDroplets,
    onManager: async (command) => {
      if (command === MANAGER_STATUS_COMMAND)
        return managerDroplets
          .map((m) => `${m.name} ${down.has(m.name) ? "Down" : "Ready"} Active`)
          .join("\n");
      const script = /stack-[a-z]+|node-[a-z]+/.exec(command)![0];
      const node = /bash "\$f" '([^']+)'/.exec(command)![1];
      await new Promise((r) => setTimeout(r, 5));
      if (script === "node-drain" && node === opts.failDrainOf)
        throw new Error(`drain of ${node} timed out`);
      const surge = /bash "\$f" '[^']+' '\d+' '(\d+)'/.exec(command)?.[1];
      if (script === "node-drain" && surge !== undefined && opts.noRoomFor?.includes(node)) {
        events.push(`no room ${node}`);
        throw new Error(`command on 203.0.113.9 failed (exit 75):\nno room for the surge`);
      }
      events.push(`${script} ${node}`);
      if (script === "node-drain") down.add(node);
      if (script === "node-activate") down.delete(node);
      maxDown = Math.max(maxDown, down.size);
      downSets.push([...down].sort());
      return "";
    },
    onDroplet: async (id, command) => {
      const mode = /edge-connections\.sh[\s\S]*bash "\$f" '(close|keep)'/.exec(command)![1];
      const name = managerDroplets.find((m) => m.id === id)!.name;
      if (opts.edgeUnreachable) throw new Error(`ssh to ${name} failed (exit 255)`);
      events.push(`edge ${mode} ${name}`);
      return "";
    },
    reservedIpsOn: async (id) => (holder === id ? [ip] : []),
    assignReservedIp: async (address, id) => {
      events.push(`ip ${address} -> ${id}`);
      holder = id;
    },
    log: () => undefined,
    warn: (m) => events.push(`warn ${m}`),
  };
  const ctx = {
    nodes,
    ops,
    lock: new MaintenanceLock(opts.limits),
    timeoutSeconds: opts.timeoutSeconds,
  };
  const hooksOf = new Map(nodes.map((n) => [n.name, maintenanceHooks(n, ctx)]));
  /** What the engine does for one droplet whose size changed: hooks around the provider update. */
  const update = async (
    name: string,
    opt: { from?: string; to?: string; providerFails?: boolean } = {},
  ) => {
    const hooks = hooksOf.get(name)!;
    const u = {
      id: String(ids[name]),
      oldInputs: { size: opt.from ?? "s-1vcpu-1gb" },
      newInputs: { size: opt.to ?? "s-2vcpu-4gb" },
    };
    try {
      await hooks.before(u);
      events.push(`resize ${name}`);
      await new Promise((r) => setTimeout(r, opts.resizeMs ?? 3));
      if (opt.providerFails) throw new Error("provider: resize failed");
      await hooks.after(u);
    } catch (e) {
      events.push(`failed ${name}: ${(e as Error).message}`);
    }
  };
  return {
    nodes,
    ids,
    ip,
    events,
    update,
    ctx,
    downSets,
    maxDown: () => maxDown,
    holder: () => holder,
  };
}

test("all nodes resized concurrently by the engine: strictly one at a time, drain -> resize -> activate", async () => {
  const c = fakeCluster(3, 2);
  await Promise.all(c.nodes.map((n) => c.update(n.name)));
  expect(c.maxDown()).toBe(1);
  // Each node's three steps are adjacent: nothing of another node happens in between.
  const steps = c.events.filter((e) => !e.startsWith("ip") && !e.startsWith("edge"));
  expect(steps).toHaveLength(15);
  for (let i = 0; i < steps.length; i += 3) {
    const node = steps[i].split(" ")[1];
    expect(steps.slice(i, i + 3)).toEqual([
      `node-drain ${node}`,
      `resize ${node}`,
      `node-activate ${node}`,
    ]);
  }
  expect(new Set(steps.map((s) => s.split(" ")[1])).size).toBe(5);
  expect(c.ctx.lock.holder).toBeUndefined();
});

test("the reserved IP moves off manager-0 to a Ready manager before the drain, and back after", async () => {
  const c = fakeCluster(3, 1);
  await c.update("c-manager-0");
  expect(c.events).toEqual([
    // Each edge the IP leaves first closes its clients' connections, so the move resets none.
    "edge close c-manager-0",
    `ip ${c.ip} -> ${c.ids["c-manager-1"]}`,
    "node-drain c-manager-0",
    "resize c-manager-0",
    "node-activate c-manager-0",
    "edge close c-manager-1",
    `ip ${c.ip} -> ${c.ids["c-manager-0"]}`,
    "edge keep c-manager-1",
  ]);
  expect(c.holder()).toBe(c.ids["c-manager-0"]);
});

test("an edge that cannot be told to close its connections is a warning, not a failed resize", async () => {
  const c = fakeCluster(3, 1, { edgeUnreachable: true });
  await c.update("c-manager-0");
  expect(c.events.filter((e) => !e.startsWith("warn"))).toEqual([
    `ip ${c.ip} -> ${c.ids["c-manager-1"]}`,
    "node-drain c-manager-0",
    "resize c-manager-0",
    "node-activate c-manager-0",
    `ip ${c.ip} -> ${c.ids["c-manager-0"]}`,
  ]);
  expect(c.events.filter((e) => e.startsWith("warn"))).toEqual([
    `warn c-manager-0: could not tell droplet ${c.ids["c-manager-0"]}'s edge to close connections: ssh to c-manager-0 failed (exit 255)`,
    `warn c-manager-0: could not tell droplet ${c.ids["c-manager-1"]}'s edge to close connections: ssh to c-manager-1 failed (exit 255)`,
    `warn c-manager-0: could not tell droplet ${c.ids["c-manager-1"]}'s edge to keep connections: ssh to c-manager-1 failed (exit 255)`,
  ]);
});

test("the hand-off target is a Ready, Active manager other than the node itself, by name", () => {
  const ms = [2, 0, 1].map((i) => ({ id: 10 + i, name: `c-manager-${i}`, publicIp: `x${i}` }));
  const status = "c-manager-0 Ready Active\nc-manager-1 Down Active\nc-manager-2 Ready Active";
  expect(handOffTarget(10, ms, status)?.name).toBe("c-manager-2");
  expect(handOffTarget(12, ms, status)?.name).toBe("c-manager-0");
  expect(handOffTarget(10, ms, "c-manager-0 Ready Active\nc-manager-2 Ready Drain")).toBe(
    undefined,
  );
  // Commands go to the node in maintenance only when no other manager answers.
  expect(managerOrder(ms, 10).map((m) => m.name)).toEqual([
    "c-manager-1",
    "c-manager-2",
    "c-manager-0",
  ]);
});

test("a node that does not hold the IP leaves it alone", async () => {
  const c = fakeCluster(3, 1);
  await c.update("c-manager-2");
  expect(c.events.filter((e) => e.startsWith("ip"))).toEqual([]);
});

test("an update that is not a resize does nothing and takes no lock", async () => {
  const c = fakeCluster(3, 1);
  const hooks = maintenanceHooks(c.nodes[3], c.ctx);
  const u = {
    id: "1",
    oldInputs: { size: "a", tags: ["x"] },
    newInputs: { size: "a", tags: ["y"] },
  };
  expect(isResize(u)).toBe(false);
  await hooks.before(u);
  await hooks.after(u);
  expect(c.events).toEqual([]);
  expect(c.ctx.lock.holder).toBeUndefined();
});

test("a failed drain fails that update, reactivates the node, and fails the waiting updates at once", async () => {
  const c = fakeCluster(3, 2, { failDrainOf: "c-worker-0" });
  // c-worker-0 first: the others queue behind it.
  const first = c.update("c-worker-0");
  const rest = c.nodes.filter((n) => n.name !== "c-worker-0").map((n) => c.update(n.name));
  await Promise.all([first, ...rest]);
  expect(c.events).toContain("failed c-worker-0: drain of c-worker-0 timed out");
  expect(c.events).toContain("node-activate c-worker-0"); // undone
  expect(c.events.filter((e) => e.startsWith("resize"))).toEqual([]);
  const failed = c.events.filter((e) =>
    /was not resized: the maintenance of c-worker-0 failed/.test(e),
  );
  expect(failed).toHaveLength(4);
  expect(c.ctx.lock.holder).toBeUndefined();
  expect(c.maxDown()).toBe(0);
});

test("a provider update that fails (no after hook) lets the lease run out: the others fail, nothing hangs", async () => {
  const c = fakeCluster(3, 2, { timeoutSeconds: 0.05 });
  const t0 = Date.now();
  const first = c.update("c-worker-0", { providerFails: true });
  const rest = c.nodes.filter((n) => n.name !== "c-worker-0").map((n) => c.update(n.name));
  await Promise.all([first, ...rest]);
  expect(Date.now() - t0).toBeLessThan(2000);
  expect(c.events).toContain("failed c-worker-0: provider: resize failed");
  expect(c.events.filter((e) => e.startsWith("resize"))).toEqual(["resize c-worker-0"]);
  expect(
    c.events.filter((e) => /was not resized: the maintenance of c-worker-0 did not finish/.test(e)),
  ).toHaveLength(4);
  expect(c.ctx.lock.holder).toBeUndefined();
});

test("a single-node cluster is not drained (nothing could take its tasks), with a warning", async () => {
  const c = fakeCluster(1, 0);
  await c.update("c-manager-0");
  expect(c.events[0]).toMatch(
    /^warn c-manager-0 holds the reserved IP 198.51.100.7 and no other manager is Ready/,
  );
  expect(c.events[1]).toMatch(/^warn c-manager-0 is the only node/);
  expect(c.events.slice(2)).toEqual(["resize c-manager-0", "node-activate c-manager-0"]);
});

test("preview warns about the single manager and about permanent disk growth", () => {
  const [solo] = planNodes("c", {
    managers: { count: 1, size: "a", resizeDisk: true },
    workers: [],
  });
  const u = { id: "1", oldInputs: { size: "s-1vcpu-2gb" }, newInputs: { size: "s-2vcpu-4gb" } };
  const m = previewMessages(solo, u, 1);
  expect(m[0]).toContain("c-manager-0: s-1vcpu-2gb -> s-2vcpu-4gb: drained, powered off, resized");
  expect(m[1]).toContain("is the only manager: the swarm's control plane");
  expect(m[2]).toContain("resizeDisk: true: its disk grows for good");
  expect(previewMessages(solo, u, 3)).toHaveLength(2);
});

describe("batches: a pool's maxUnavailable", () => {
  test("never more of a pool than its maxUnavailable, a manager never beside another node", async () => {
    const c = fakeCluster(3, 7, { limits: { worker: 3 }, resizeMs: 40 });
    await Promise.all(c.nodes.map((n) => c.update(n.name)));
    expect(c.events.filter((e) => e.startsWith("resize"))).toHaveLength(10);
    expect(c.maxDown()).toBe(3);
    for (const set of c.downSets) {
      if (set.some((n) => n.includes("-manager-"))) expect(set).toHaveLength(1);
    }
    expect(c.ctx.lock.holders).toEqual([]);
  });

  test("a surge without room beside the nodes down: the batch shrinks with a warning, the node is drained alone, never without room", async () => {
    const c = fakeCluster(1, 5, { limits: { worker: 3 }, noRoomFor: ["c-worker-2"], resizeMs: 40 });
    await Promise.all(c.nodes.map((n) => c.update(n.name)));
    // Every node resized, once.
    expect(c.events.filter((e) => e.startsWith("resize")).sort()).toEqual(
      c.nodes.map((n) => `resize ${n.name}`).sort(),
    );
    const warning = c.events.find((e) => e.startsWith("warn c-worker-2: no room"));
    expect(warning).toMatch(
      /^warn c-worker-2: no room for its surge beside 2 other node\(s\) of pool worker in maintenance: the pool's batch shrinks to 2; c-worker-2 waits to be drained with no other node of its pool down$/,
    );
    // It was not drained then; it was drained later, with no other worker down.
    const noRoom = c.events.indexOf("no room c-worker-2");
    const drained = c.events.indexOf("node-drain c-worker-2");
    expect(drained).toBeGreaterThan(noRoom);
    const atDrain = c.downSets.find((s) => s.includes("c-worker-2"))!;
    expect(atDrain).toEqual(["c-worker-2"]);
    // The batch stays shrunk for the rest of the run.
    expect(c.ctx.lock.limitOf("worker")).toBe(2);
    const after = c.downSets.slice(c.downSets.indexOf(atDrain));
    expect(Math.max(...after.map((s) => s.length))).toBeLessThanOrEqual(2);
  });

  test("a batch that keeps finding no room shrinks to one", async () => {
    const c = fakeCluster(1, 4, {
      limits: { worker: 4 },
      resizeMs: 40,
      noRoomFor: ["c-worker-1", "c-worker-2", "c-worker-3"],
    });
    await Promise.all(c.nodes.map((n) => c.update(n.name)));
    expect(c.events.filter((e) => e.startsWith("resize"))).toHaveLength(5);
    expect(c.ctx.lock.limitOf("worker")).toBe(1);
    expect(c.maxDown()).toBe(1);
  });

  test("preview says how many nodes of the pool go at once", () => {
    const [, w0] = planNodes("c", {
      managers: { count: 1, size: "a" },
      workers: [{ name: "web", count: 4, size: "b" }],
    });
    const u = { id: "1", oldInputs: { size: "s-1vcpu-1gb" }, newInputs: { size: "s-2vcpu-4gb" } };
    expect(previewMessages(w0, u, 1, 2)[0]).toMatch(
      /up to 2 nodes of pool web are resized at a time, managers one at a time$/,
    );
    expect(previewMessages(w0, u, 1)[0]).toMatch(/nodes are resized one at a time$/);
  });
});
