/**
 * The world the engine-order tests run the program against: DigitalOcean's API is the lab's
 * stand-in (tests/lab/do-api.ts, in process on loopback, the product's client pointed at it by
 * DIGITALOCEAN_API_URL), SSH is a recorded stand-in (the test file jest-mocks
 * components/core/ssh.ts and hands its mock here), the provider's resize powers a droplet off and on.
 * It records what a user would care about: which nodes were down at once, where the reserved IP
 * was during each resize.
 */
import { fakeCloud, TEST_PRIVATE_KEY, TEST_PUBLIC_KEY } from "../harness";
import { startDoApi, DoApiStandIn, StandInDroplet } from "../lab/do-api";
import { Engine, EngineOptions, startEngine } from "./engine";

export const RESERVED_IP = "198.51.100.7";
export const TOKEN = "do-token-for-tests";

export interface WorldOptions {
  managers: number;
  workers: number;
  /** Sizes before and after; every droplet changes from `from` to `to`. */
  from: string;
  to: string;
  dryRun?: boolean;
  /** The stacks config (`do-swarm:stacks`). @default none */
  stacks?: unknown[];
  /** More of the previous deployment's inputs that differ, by logical name. */
  previous?: Record<string, Record<string, unknown>>;
  /** Resources replaced as by `pulumi up --replace`. @default [] */
  replace?: string[];
  /** The pool's maxUnavailable (batched maintenance). @default unset (1) */
  maxUnavailable?: number | string;
  /** The worker pool gets a volume per node of this size. @default none */
  volumeGb?: number;
  /** Commands on this node's name fail (exit 1): e.g. its drain. */
  failScriptFor?: { script: string; node: string };
}

export interface World {
  engine: Engine;
  api: DoApiStandIn;
  /** Commands run over SSH: `host script node`. */
  ssh: string[];
  /** Droplet names powered off at once, at most. */
  maxDown: () => number;
  /** Every set of nodes out of service together (drained or powered off), as it changed. */
  downSets: string[][];
  /** For each resized droplet, where the reserved IP was while it was off. */
  ipDuringResize: Map<string, number | undefined>;
  /** What deletes ran, in order: `NAME: script arg` for a command, `NAME` otherwise. */
  deletes: string[];
  /** Droplet names in the order the provider resized them. */
  resized: string[];
  dropletIdOf(name: string): number;
  /** What the program logged (Pulumi's mock log writes to the console): `info|warn message`. */
  logs: string[];
  close(): Promise<void>;
}

type SshRun = (
  target: { host: string },
  command: string,
  opts?: { onStderr?: (l: string) => void },
) => Promise<string>;

export async function startWorld(opts: WorldOptions, sshMock: jest.Mock): Promise<World> {
  const cluster = "swarm-test";
  const logs: string[] = [];
  for (const level of ["log", "warn", "error"] as const) {
    jest.spyOn(console, level).mockImplementation((...a: unknown[]) => {
      logs.push(a.map(String).join(" "));
    });
  }
  const droplets: StandInDroplet[] = [];
  const api = await startDoApi({
    token: TOKEN,
    droplets,
    reservedIps: [{ ip: RESERVED_IP, region: "fra1" }],
    actionSeconds: 0.1,
  });
  process.env.DIGITALOCEAN_API_URL = api.url;
  process.env.DIGITALOCEAN_TOKEN = TOKEN;

  const off = new Set<string>();
  const drained = new Set<string>();
  let maxDown = 0;
  const downSets: string[][] = [];
  const noteDown = () => {
    const now = [...new Set([...off, ...drained])].sort();
    downSets.push(now);
    maxDown = Math.max(maxDown, now.length);
  };
  const ssh: string[] = [];
  const resized: string[] = [];
  const ipDuringResize = new Map<string, number | undefined>();
  const deletes: string[] = [];
  const nameByHost = () => new Map(droplets.map((d) => [d.publicIp, d.name]));

  const run: SshRun = async (target, command) => {
    const host = nameByHost().get(target.host) ?? target.host;
    if (off.has(host))
      throw new Error(`command on ${target.host} failed (exit 255):\nConnection refused`);
    if (command.startsWith("docker node ls --filter role=manager")) {
      ssh.push(`${host} node-ls`);
      return droplets
        .filter((d) => d.tags.includes(`${cluster}-manager`))
        .map(
          (d) =>
            `${d.name} ${off.has(d.name) ? "Down" : "Ready"} ${drained.has(d.name) ? "Drain" : "Active"}`,
        )
        .join("\n");
    }
    const script =
      /node-[a-z]+\.sh|stack-[a-z]+\.sh|swarm-[a-z]+\.sh/.exec(command)?.[0] ?? command;
    const node = /bash "\$f" '([^']+)'/.exec(command)?.[1] ?? "";
    ssh.push(`${host} ${script} ${node}`);
    if (opts.failScriptFor?.script === script && opts.failScriptFor.node === node)
      throw new Error(`command on ${target.host} failed (exit 1):\n${script} ${node}: timed out`);
    if (script === "node-drain.sh") drained.add(node);
    noteDown();
    if (script === "node-activate.sh") drained.delete(node);
    return "";
  };
  sshMock.mockImplementation(run);

  const size = (_role: "manager" | "worker", which: "from" | "to") => opts[which];
  const config = {
    "do-swarm:sshPublicKey": TEST_PUBLIC_KEY,
    "do-swarm:sshPrivateKey": TEST_PRIVATE_KEY,
    "do-swarm:managers": JSON.stringify({ count: opts.managers, size: size("manager", "to") }),
    "do-swarm:workers": JSON.stringify(
      opts.workers === 0
        ? []
        : [
            {
              name: "worker",
              count: opts.workers,
              size: size("worker", "to"),
              ...(opts.maxUnavailable === undefined ? {} : { maxUnavailable: opts.maxUnavailable }),
              ...(opts.volumeGb ? { volume: { sizeGb: opts.volumeGb } } : {}),
            },
          ],
    ),
    ...(opts.stacks ? { "do-swarm:stacks": JSON.stringify(opts.stacks) } : {}),
  };
  const previous: EngineOptions["previous"] = { ...(opts.previous ?? {}) };
  const resize = (name: string, role: "manager" | "worker") => {
    if (size(role, "from") !== size(role, "to")) previous[name] = { size: size(role, "from") };
  };
  for (let i = 0; i < opts.managers; i++) resize(`${cluster}-manager-${i}`, "manager");
  for (let i = 0; i < opts.workers; i++) resize(`${cluster}-worker-${i}`, "worker");

  const engine = await startEngine({
    config,
    fake: fakeCloud(),
    previous,
    dryRun: opts.dryRun,
    replace: opts.replace,
    providerDelete: async (step) => {
      const del = step.oldInputs.delete;
      deletes.push(
        typeof del === "string"
          ? `${step.name}: ${/(node|stack|volume)-[a-z]+\.sh/.exec(del)?.[0]} ${/bash "\$f" '([^']+)'/.exec(del)?.[1]}`
          : step.name,
      );
    },
    onRegister: ({ type, id, state }) => {
      if (type !== "digitalocean:index/droplet:Droplet") return;
      // The droplets exist before this update: the API lists them with their tags.
      droplets.push({
        id: Number(id),
        name: String(state.name),
        tags: state.tags as string[],
        publicIp: String(state.ipv4Address),
        privateIp: String(state.ipv4AddressPrivate),
      });
      api.setDroplets(droplets);
      if (state.name === `${cluster}-manager-0`) api.assignNow(RESERVED_IP, Number(id));
    },
    providerUpdate: async (step) => {
      if (step.type !== "digitalocean:index/droplet:Droplet") return;
      // DigitalOcean's resize: power off, resize, power on.
      off.add(step.name);
      noteDown();
      resized.push(step.name);
      ipDuringResize.set(step.name, api.holder(RESERVED_IP));
      await new Promise((r) => setTimeout(r, 30));
      off.delete(step.name);
    },
  });
  return {
    engine,
    api,
    ssh,
    maxDown: () => maxDown,
    downSets,
    ipDuringResize,
    resized,
    deletes,
    dropletIdOf: (name) => droplets.find((d) => d.name === name)!.id,
    logs,
    close: () => api.close(),
  };
}
