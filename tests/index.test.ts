/** The whole program (index.ts) under mocks, with the dev stack's configuration. */
import {
  fakeCloud,
  isSecret,
  recordProgram,
  Recording,
  reveal,
  TEST_PRIVATE_KEY,
  TEST_PUBLIC_KEY,
} from "./harness";
import { renderFromHeader } from "../components/stacks/stackBundle";

let rec: Recording;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the program's exports, read by name
let program: any;

beforeAll(async () => {
  rec = await recordProgram(fakeCloud(), {
    "do-swarm:sshPublicKey": TEST_PUBLIC_KEY,
    "do-swarm:sshPrivateKey": TEST_PRIVATE_KEY,
    "do-swarm:adminCidrs": JSON.stringify(["198.51.100.0/24"]),
    "do-swarm:stacks": JSON.stringify([
      { name: "web", file: "stacks/web/stack.yml" },
      { name: "dockercoins", file: "stacks/dockercoins/stack.yml", replicas: { worker: 4 } },
    ]),
  });
  program = await import("../index");
  await rec.settled();
});

test("defaults: cluster swarm-<stack>, 3 managers and 2 workers in fra1", () => {
  const droplets = rec
    .ofType("digitalocean:index/droplet:Droplet")
    .map((d) => d.name)
    .sort();
  expect(droplets).toEqual([
    "swarm-test-manager-0",
    "swarm-test-manager-1",
    "swarm-test-manager-2",
    "swarm-test-worker-0",
    "swarm-test-worker-1",
  ]);
});

test("the ports the stacks publish, and only those, are opened in the firewall", () => {
  const fw = reveal(rec.byName("swarm-test-firewall").rawInputs) as {
    inboundRules: { portRange?: string; sourceAddresses?: string[] }[];
  };
  const open = fw.inboundRules
    .filter((r) => r.sourceAddresses?.includes("0.0.0.0/0") && r.portRange)
    .map((r) => r.portRange);
  expect(open).toEqual(["80", "8000"]);
  expect(fw.inboundRules[0]).toEqual({
    protocol: "tcp",
    portRange: "22",
    sourceAddresses: ["198.51.100.0/24"],
    sourceTags: ["swarm-test"],
  });
});

test("each stack deploys after the cluster's bootstrap", () => {
  const registers = rec.resources.filter((r) => r.name.endsWith("-register")).map((r) => r.urn);
  for (const s of ["web", "dockercoins"]) {
    const deploy = rec.byName(`swarm-test-stack-${s}-deploy`);
    expect(deploy.dependencies).toEqual(expect.arrayContaining(registers));
  }
  const rendered = renderFromHeader(
    (reveal(rec.byName("swarm-test-stack-dockercoins-deploy").rawInputs) as { update: string })
      .update,
  );
  expect(rendered).toMatch(/worker:\n(.*\n)*?\s+replicas: 4/);
});

test("a deploy command names its swarm: a swarm created anew redeploys every stack", () => {
  for (const s of ["web", "dockercoins"]) {
    const deploy = rec.byName(`swarm-test-stack-${s}-deploy`);
    // "cluster" is the fake swarm-init's cluster ID; the line stays readable (not secret).
    expect(isSecret(deploy.rawInputs.update)).toBe(false);
    expect((reveal(deploy.rawInputs) as { update: string }).update.split("\n")[0]).toBe(
      `# do-swarm: stack ${s} on swarm cluster as deployed, secret values masked`,
    );
  }
});

test("no command whose delete undoes its work is replaced create-first", () => {
  // A create-first replacement creates the new command, then runs the OLD one's delete: for a
  // deploy that is `docker stack rm` of the stack just deployed. The SDK makes `triggers`
  // replace-on-change, so such a command has none, except a registration, whose replacement
  // (its droplet replaced) deletes the OLD node first, on purpose (deleteBeforeReplace).
  const commands = rec.ofType("command:remote:Command");
  const undoing = commands.filter((c) => (reveal(c.rawInputs) as { delete?: string }).delete);
  expect(undoing.length).toBeGreaterThan(0);
  for (const c of undoing) {
    const triggers = (reveal(c.rawInputs) as { triggers?: unknown }).triggers;
    if (c.name.endsWith("-register")) {
      expect(triggers).toHaveLength(1);
      expect(c.deleteBeforeReplace).toBe(true);
    } else {
      expect(triggers).toBeUndefined();
    }
    expect(c.replaceOnChanges.filter((p) => !p.startsWith("triggers"))).toEqual([]);
  }
});

test("outputs: entry point, ssh, DOCKER_HOST, fault tolerance, cost", async () => {
  const value = <T>(o: { apply: (f: (v: T) => void) => unknown }) =>
    new Promise<T>((r) => o.apply(r));
  expect(await value(program.reservedIp)).toBe("198.51.100.7");
  expect(await value(program.ssh)).toBe("ssh root@198.51.100.7");
  expect(await value(program.dockerHost)).toBe("ssh://root@198.51.100.7");
  expect(program.faultTolerance).toBe(1);
  // 3 x s-1vcpu-2gb ($12) + 2 x s-1vcpu-1gb ($6) at the fake price list.
  expect(await value(program.estimatedMonthlyCostUsd)).toBe(48);
  const workers = await value<Record<string, { name: string }[]>>(
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require("@pulumi/pulumi").output(program.workers),
  );
  expect(workers.worker.map((w) => w.name)).toEqual(["swarm-test-worker-0", "swarm-test-worker-1"]);
});

test("destroy order: a stack is removed before any node leaves, nodes before their droplets", () => {
  // Pulumi deletes a resource only after everything that depends on it: these edges are the order.
  const deploy = rec.byName("swarm-test-stack-web-deploy");
  const byUrn = new Map(rec.resources.map((r) => [r.urn, r]));
  const ancestors = (urn: string, seen = new Set<string>()): Set<string> => {
    for (const d of byUrn.get(urn)?.dependencies ?? []) {
      if (!seen.has(d)) {
        seen.add(d);
        ancestors(d, seen);
      }
    }
    return seen;
  };
  const before = ancestors(deploy.urn);
  for (const r of rec.resources.filter((x) => x.custom && x.name !== deploy.name)) {
    // Every droplet, node registration, the reserved IP and firewall outlive the stack.
    if (/-(manager|worker)-\d+(-register)?$|-reserved-ip$|-firewall$/.test(r.name)) {
      expect(before.has(r.urn)).toBe(true);
    }
  }
  for (const droplet of rec.ofType("digitalocean:index/droplet:Droplet")) {
    expect(ancestors(rec.byName(`${droplet.name}-register`).urn).has(droplet.urn)).toBe(true);
  }
});
