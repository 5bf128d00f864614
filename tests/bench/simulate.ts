/**
 * One simulated `pulumi up` of a fresh cluster: runs the real program (index.ts) under mocks,
 * records the resource graph it registers (every dependency, explicit or through an output),
 * and schedules it: each operation starts when all its dependencies are done and takes its
 * typical time. Prints JSON: the simulated wall time with unbounded parallelism (the critical
 * path), the resource count, the dependency depth, and the wall time with at most P operations
 * in flight for each P given (the engine's `--parallel`; see schedule.ts).
 * Deterministic: no sleeping, no timing of this machine.
 *   ts-node tests/bench/simulate.ts MANAGERS WORKERS [PARALLEL ...]
 */
import { recordProgram, TEST_PRIVATE_KEY, TEST_PUBLIC_KEY } from "../harness";
import { boundedMakespan } from "./schedule";

/**
 * Typical seconds per operation (assumptions, stated in the README): droplet until active,
 * cloud-init installing Docker, swarm commands over SSH.
 */
export const LATENCY_SECONDS: Record<string, number> = {
  "digitalocean:index/vpc:Vpc": 5,
  "digitalocean:index/tag:Tag": 1,
  "digitalocean:index/sshKey:SshKey": 1,
  "digitalocean:index/firewall:Firewall": 3,
  "digitalocean:index/droplet:Droplet": 60,
  "digitalocean:index/reservedIp:ReservedIp": 3,
  "digitalocean:index/reservedIpAssignment:ReservedIpAssignment": 10,
  ready: 150,
  "swarm-init": 5,
  "swarm-id": 2,
  "join-manager": 10,
  "join-worker": 5,
  register: 3,
  deploy: 60,
};

function latency(type: string, name: string): number {
  if (type !== "command:remote:Command") return LATENCY_SECONDS[type] ?? 0;
  if (name.endsWith("-ready")) return LATENCY_SECONDS.ready;
  if (name.endsWith("-swarm-init")) return LATENCY_SECONDS["swarm-init"];
  // Reads the swarm's and manager-0's IDs (docker info): as quick as a registration.
  if (name.endsWith("-swarm-id")) return LATENCY_SECONDS["swarm-id"];
  if (name.endsWith("-join"))
    return LATENCY_SECONDS[name.includes("-manager-") ? "join-manager" : "join-worker"];
  if (name.endsWith("-register")) return LATENCY_SECONDS.register;
  return LATENCY_SECONDS.deploy;
}

async function main() {
  const [managers, workers, ...parallels] = process.argv.slice(2).map(Number);
  let ip = 0;
  const rec = await recordProgram(
    (type, name) => {
      if (type === "digitalocean:index/droplet:Droplet") {
        ip++;
        return {
          ipv4Address: `203.0.113.${ip % 250}`,
          ipv4AddressPrivate: `10.110.${ip >> 8}.${ip % 250}`,
        };
      }
      if (type === "digitalocean:index/reservedIp:ReservedIp") return { ipAddress: "198.51.100.7" };
      if (name.endsWith("-swarm-init")) {
        return { stdout: JSON.stringify({ nodeId: "n0", workerToken: "w", managerToken: "m" }) };
      }
      if (name.endsWith("-swarm-id")) {
        return { stdout: JSON.stringify({ nodeId: "n0", clusterId: "c0" }) };
      }
      return { stdout: `node-${name}` };
    },
    {
      "do-swarm:sshPublicKey": TEST_PUBLIC_KEY,
      "do-swarm:sshPrivateKey": TEST_PRIVATE_KEY,
      "do-swarm:managers": JSON.stringify({ count: managers, size: "s-1vcpu-2gb" }),
      "do-swarm:workers": JSON.stringify([{ name: "worker", count: workers, size: "s-1vcpu-1gb" }]),
      "do-swarm:stacks": JSON.stringify([
        { name: "web", file: "stacks/web/stack.yml" },
        { name: "dockercoins", file: "stacks/dockercoins/stack.yml" },
      ]),
    },
  );
  console.log = (...a: unknown[]) => console.error(...a); // stdout is for the result only
  await import("../../index");
  await rec.settled();

  // Longest paths over the recorded graph: in resources (depth) and in seconds (finish time).
  const byUrn = new Map(rec.resources.map((r) => [r.urn, r]));
  const memo = new Map<string, { depth: number; finish: number }>();
  const longest = (urn: string): { depth: number; finish: number } => {
    const known = memo.get(urn);
    if (known) return known;
    const r = byUrn.get(urn);
    let result = { depth: 0, finish: 0 };
    if (r) {
      const deps = r.dependencies.map(longest);
      result = {
        depth: (r.custom ? 1 : 0) + Math.max(0, ...deps.map((d) => d.depth)),
        finish: latency(r.type, r.name) + Math.max(0, ...deps.map((d) => d.finish)),
      };
    }
    memo.set(urn, result);
    return result;
  };
  const custom = rec.resources.filter((r) => r.custom);
  const paths = custom.map((r) => longest(r.urn));
  const steps = rec.resources.map((r) => ({
    id: r.urn,
    deps: r.dependencies,
    seconds: latency(r.type, r.name),
  }));
  const simulatedSeconds = Math.max(...paths.map((p) => p.finish));
  // The scheduler, unbounded, must agree with the critical path: one model, two views.
  const unbounded = boundedMakespan(steps, Infinity);
  if (unbounded !== simulatedSeconds) {
    throw new Error(`scheduler says ${unbounded} s unbounded, critical path ${simulatedSeconds} s`);
  }
  process.stdout.write(
    JSON.stringify({
      managers,
      workers,
      resources: custom.length,
      depth: Math.max(...paths.map((p) => p.depth)),
      simulatedSeconds,
      bounded: Object.fromEntries(parallels.map((p) => [p, boundedMakespan(steps, p)])),
    }) + "\n",
  );
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
