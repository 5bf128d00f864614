/**
 * Rolling resize ordering: the engine updates droplets concurrently; the hooks must make that
 * one node at a time, drain before and activate after, and hand the reserved IP away and back.
 */
import {
  isResize,
  maintenanceHooks,
  MaintenanceLock,
  MaintenanceOps,
  previewMessages,
} from "../components/maintenance";
import { planNodes } from "../components/nodes";

type Event = string;

function fakeCluster(managers: number, workers: number, opts: { failDrainOf?: string } = {}) {
  const nodes = planNodes("c", {
    managers: { count: managers, size: "s-1vcpu-2gb" },
    workers: [{ name: "worker", count: workers, size: "s-1vcpu-1gb" }],
  });
  const ids = Object.fromEntries(nodes.map((n, i) => [n.name, 1000 + i]));
  const events: Event[] = [];
  let holder: number | undefined = ids["c-manager-0"];
  const down = new Set<string>();
  let maxDown = 0;
  const ops: MaintenanceOps = {
    onManager: async (command) => {
      const script = /stack-[a-z]+|node-[a-z]+/.exec(command)![0];
      const node = /bash "\$f" '([^']+)'/.exec(command)![1];
      await new Promise((r) => setTimeout(r, 5));
      if (script === "node-drain" && node === opts.failDrainOf)
        throw new Error(`drain of ${node} timed out`);
      events.push(`${script} ${node}`);
      if (script === "node-drain") down.add(node);
      if (script === "node-activate") down.delete(node);
      maxDown = Math.max(maxDown, down.size);
      return "";
    },
    reservedIpHolder: async () => holder,
    assignReservedIp: async (id) => {
      events.push(`ip -> ${id}`);
      holder = id;
    },
    log: () => undefined,
    warn: (m) => events.push(`warn ${m}`),
  };
  const ctx = {
    nodes,
    managerDropletIds: async () =>
      nodes.filter((n) => n.role === "manager").map((n) => ids[n.name]),
    ops,
    lock: new MaintenanceLock(),
  };
  /** What the engine does for one droplet whose size changed: hooks around the provider update. */
  const update = async (name: string, from = "s-1vcpu-1gb", to = "s-2vcpu-4gb") => {
    const node = nodes.find((n) => n.name === name)!;
    const hooks = maintenanceHooks(node, ctx);
    const u = { id: String(ids[name]), oldInputs: { size: from }, newInputs: { size: to } };
    try {
      await hooks.before(u);
      events.push(`resize ${name}`);
      await new Promise((r) => setTimeout(r, 3));
      await hooks.after(u);
    } catch (e) {
      hooks.failed();
      events.push(`failed ${name}: ${(e as Error).message}`);
    }
  };
  return { nodes, ids, events, update, ctx, maxDown: () => maxDown, holder: () => holder };
}

test("all nodes resized concurrently by the engine: strictly one at a time, drain -> resize -> activate", async () => {
  const c = fakeCluster(3, 2);
  await Promise.all(c.nodes.map((n) => c.update(n.name)));
  expect(c.maxDown()).toBe(1);
  // Each node's three steps are adjacent: nothing of another node happens in between.
  const steps = c.events.filter((e) => !e.startsWith("ip"));
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
});

test("the reserved IP moves off manager-0 before it is drained and comes back after it is active", async () => {
  const c = fakeCluster(3, 1);
  await c.update("c-manager-0");
  expect(c.events).toEqual([
    `ip -> ${c.ids["c-manager-1"]}`,
    "node-drain c-manager-0",
    "resize c-manager-0",
    "node-activate c-manager-0",
    `ip -> ${c.ids["c-manager-0"]}`,
  ]);
  expect(c.holder()).toBe(c.ids["c-manager-0"]);
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

test("a failed drain fails that update, releases the lock, and the others still proceed one at a time", async () => {
  const c = fakeCluster(3, 2, { failDrainOf: "c-worker-0" });
  await Promise.all(c.nodes.map((n) => c.update(n.name)));
  expect(c.events).toContain("failed c-worker-0: drain of c-worker-0 timed out");
  expect(c.events).not.toContain("resize c-worker-0");
  expect(c.events.filter((e) => e.startsWith("node-activate"))).toHaveLength(4);
  expect(c.maxDown()).toBe(1);
  expect(c.ctx.lock.holder).toBeUndefined();
});

test("the error hook releases a lock held by a failed provider update", async () => {
  const c = fakeCluster(3, 2);
  const [a, b] = [c.nodes[3], c.nodes[4]].map((n) => maintenanceHooks(n, c.ctx));
  const u = (id: number) => ({
    id: String(id),
    oldInputs: { size: "x" },
    newInputs: { size: "y" },
  });
  await a.before(u(1003));
  const second = b.before(u(1004));
  await new Promise((r) => setTimeout(r, 20));
  expect(c.ctx.lock.holder).toBe("c-worker-0"); // b waits
  expect(a.failed()).toBe(false); // the provider's resize failed: no retry, lock released
  await second;
  expect(c.ctx.lock.holder).toBe("c-worker-1");
});

test("a single-node cluster is not drained (nothing could take its tasks), with a warning", async () => {
  const c = fakeCluster(1, 0);
  await c.update("c-manager-0");
  expect(c.events[0]).toMatch(
    /^warn c-manager-0 holds the reserved IP and there is no other manager/,
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
