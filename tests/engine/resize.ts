/**
 * The assertions every rolling-resize run through the engine-order harness must meet, shared by
 * the per-cluster-shape test files (each file is its own Pulumi runtime: one program per file).
 */
import { RESERVED_IP, World } from "./world";

export function assertRollingResize(w: World, managers: number, workers: number) {
  const names = [
    ...Array.from({ length: managers }, (_, i) => `swarm-test-manager-${i}`),
    ...Array.from({ length: workers }, (_, i) => `swarm-test-worker-${i}`),
  ];
  // Every droplet was updated, and each update step ended.
  expect([...w.engine.steps].sort()).toEqual(names.map((n) => [n, "ok"]).sort());
  expect([...w.resized].sort()).toEqual([...names].sort());
  // One node out of service at a time (drained or powered off).
  expect(w.maxDown()).toBe(1);
  // Each node: drain -> resize -> activate, with nothing of another node in between.
  const perNode = w.ssh
    .filter((s) => / node-(drain|activate)\.sh /.test(s))
    .map((s) => s.split(" ").slice(1).join(" "));
  expect(perNode).toHaveLength(2 * names.length);
  for (let i = 0; i < perNode.length; i += 2) {
    const node = perNode[i].split(" ")[1];
    expect(perNode.slice(i, i + 2)).toEqual([`node-drain.sh ${node}`, `node-activate.sh ${node}`]);
  }
  const order = w.engine.events.filter((e) => /^(update|answered) /.test(e));
  for (let i = 0; i < order.length; i += 2) {
    expect(order[i].replace(/^update /, "")).toBe(order[i + 1].replace(/^answered /, ""));
  }
  // No command ran on a node while it was being resized (they go to another manager).
  for (const s of w.ssh) {
    const [host, script, node] = s.split(" ");
    if (script === "node-drain.sh" && managers > 1) expect(host).not.toBe(node);
  }
  // The reserved IP: away from manager-0 while it was off, back on it at the end.
  const m0 = w.dropletIdOf("swarm-test-manager-0");
  if (managers > 1) {
    const during = w.ipDuringResize.get("swarm-test-manager-0");
    expect(during).toBeDefined();
    expect(during).not.toBe(m0);
    const posts = w.api.calls.filter((c) =>
      c.startsWith(`POST /v2/reserved_ips/${RESERVED_IP}/actions`),
    );
    expect(
      posts.map((p) => (JSON.parse(p.slice(p.indexOf("{"))) as { droplet_id: number }).droplet_id),
    ).toEqual([during, m0]);
  }
  expect(w.api.holder(RESERVED_IP)).toBe(m0);
}
