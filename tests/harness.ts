/**
 * Runs Pulumi programs under mocks and records what the engine would be asked to create:
 * type, name, inputs (with secrets still marked), parent, dependencies and options. The mocks
 * alone only see inputs; parents, dependsOn, additionalSecretOutputs, ignoreChanges,
 * replaceOnChanges and hooks are read from the registration requests by wrapping the mock monitor.
 */
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";

/** How the SDK marks a secret value on the wire. */
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

export interface Recorded {
  type: string;
  name: string;
  urn: string;
  custom: boolean;
  /** Inputs as the provider would get them; secret values are `{[SIG_KEY]: SECRET_SIG, value}`. */
  rawInputs: Record<string, unknown>;
  parent: string;
  dependencies: string[];
  /**
   * By input property, the URNs its value came from: what the engine's dependent replacements
   * follow (step_generator.go calculateDependentReplacements), unlike `dependsOn`.
   */
  propertyDependencies: Record<string, string[]>;
  additionalSecretOutputs: string[];
  ignoreChanges: string[];
  /** Input paths whose change REPLACES the resource (set by us or by the SDK, e.g. triggers). */
  replaceOnChanges: string[];
  /** A replacement deletes the old resource before it creates the new one. */
  deleteBeforeReplace: boolean;
  hookNames: Record<string, string[]>;
}

export const isSecret = (v: unknown): boolean =>
  typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;

/** Removes secret markers (recursively), for asserting on values. */
export function reveal(v: unknown): unknown {
  if (isSecret(v)) return reveal((v as { value: unknown }).value);
  if (Array.isArray(v)) return v.map(reveal);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, reveal(x)]));
  }
  return v;
}

/** Outputs the fake cloud returns for a new resource, on top of echoing its inputs (`id`: its id). */
export type FakeOutputs = (
  type: string,
  name: string,
  inputs: Record<string, unknown>,
) => Record<string, unknown> | Promise<Record<string, unknown>>;

export interface Recording {
  resources: Recorded[];
  byName(name: string): Recorded;
  ofType(type: string): Recorded[];
  /** The state the fake cloud returned for a custom resource (inputs echoed plus outputs). */
  state(name: string): Record<string, unknown>;
  /** Resolves once no registration has been in flight for a while (the program is done). */
  settled(): Promise<void>;
}

/**
 * A resource's id, from its logical name: the same in every run of every program shape, as a
 * real resource's id stays across deployments (plans of two configs are diffed by the lab's
 * replay, and a registration's triggers hold its droplet's id).
 */
export const fakeId = (name: string) =>
  String(
    100000 + (parseInt(createHash("sha256").update(name).digest("hex").slice(0, 8), 16) % 900000),
  );

/** Installs the mocks and the recorder. Call once per test file, before importing the program. */
/** Answers a data source call (`token`, e.g. digitalocean:index/getVolume:getVolume); undefined: the default. */
export type FakeCalls = (
  token: string,
  inputs: Record<string, unknown>,
) => Record<string, unknown> | undefined | Promise<Record<string, unknown> | undefined>;

export async function recordProgram(
  fake: FakeOutputs,
  config: Record<string, string> = {},
  calls: FakeCalls = () => undefined,
): Promise<Recording> {
  const inputsByName = new Map<string, Record<string, unknown>>();
  const stateByName = new Map<string, Record<string, unknown>>();
  await pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        inputsByName.set(args.name, args.inputs);
        // A fake may give the id (a droplet replaced under the same name gets a new one).
        const { id: given, ...outputs } = await fake(args.type, args.name, args.inputs);
        const id = typeof given === "string" ? given : fakeId(args.name);
        const state = { ...(reveal(args.inputs) as object), ...outputs };
        stateByName.set(args.name, { ...state, id });
        return { id, state };
      },
      call: async (args) => {
        const answer = await calls(args.token, args.inputs);
        if (answer !== undefined) return answer;
        if (args.token === "digitalocean:index/getVolumeSnapshot:getVolumeSnapshot") {
          return {
            id: `snapshot-id-of-${args.inputs.name}`,
            name: args.inputs.name,
            minDiskSize: 1,
          };
        }
        if (args.token === "digitalocean:index/getSizes:getSizes") {
          return { sizes: FAKE_SIZES };
        }
        if (args.token === "digitalocean:index/getDomains:getDomains") {
          return {
            domains: FAKE_ZONES.map((name) => ({ name, ttl: 1800, urn: `do:domain:${name}` })),
          };
        }
        if (args.token === "docker:index/getRegistryImage:getRegistryImage") {
          // A registry where every tag points at a digest derived from its name.
          const digest = createHash("sha256").update(String(args.inputs.name)).digest("hex");
          return { name: args.inputs.name, sha256Digest: `sha256:${digest}` };
        }
        return {};
      },
    },
    "do-swarm",
    "test",
    false,
  );
  pulumi.runtime.setAllConfig(config);

  const resources: Recorded[] = [];
  let inFlight = 0;
  let lastChange = Date.now();
  // The mock monitor is untyped in the SDK's declarations; these are the grpc request shapes.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const monitor = pulumi.runtime.getMonitor() as any;
  const register = monitor.registerResource.bind(monitor);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  monitor.registerResource = (req: any, cb: (err: unknown, resp: any) => void) => {
    inFlight++;
    lastChange = Date.now();
    register(req, (err: unknown, resp: { getUrn(): string }) => {
      // {beforeUpdateList: [...], onErrorList: [...], ...} -> {beforeUpdate: [...], onError: [...]}
      const hooks = (req.getHooks?.()?.toObject() ?? {}) as Record<string, string[]>;
      const hookNames = Object.fromEntries(
        Object.entries(hooks)
          .filter(([, list]) => list.length > 0)
          .map(([k, list]) => [k.replace(/List$/, ""), list]),
      );
      resources.push({
        type: req.getType(),
        name: req.getName(),
        urn: resp?.getUrn?.() ?? "",
        custom: req.getCustom(),
        rawInputs: inputsByName.get(req.getName()) ?? {},
        parent: req.getParent(),
        dependencies: req.getDependenciesList(),
        propertyDependencies: Object.fromEntries(
          (req.getPropertydependenciesMap().toArray() as [string, [string[]]][]).map(
            ([k, [urns]]) => [k, urns],
          ),
        ),
        additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        ignoreChanges: req.getIgnorechangesList(),
        replaceOnChanges: req.getReplaceonchangesList(),
        deleteBeforeReplace: req.getDeletebeforereplace(),
        hookNames,
      });
      inFlight--;
      lastChange = Date.now();
      cb(err, resp);
    });
  };
  // Hooks need these RPCs, which the mock monitor lacks; under mocks hooks never run anyway.
  monitor.registerResourceHook ??= (_req: unknown, cb: (e: null, r: object) => void) =>
    cb(null, {});
  monitor.registerErrorHook ??= (_req: unknown, cb: (e: null, r: object) => void) => cb(null, {});

  const find = (name: string) => {
    const r = resources.find((x) => x.name === name);
    if (!r)
      throw new Error(
        `no resource named ${name}; have: ${resources.map((x) => x.name).join(", ")}`,
      );
    return r;
  };
  return {
    resources,
    byName: find,
    ofType: (type) => resources.filter((r) => r.type === type),
    state: (name) => stateByName.get(name) ?? {},
    settled: async () => {
      // The SDK's own "program finished" signal (what the CLI host waits for before exiting);
      // internal, hence the require. Looped with the in-flight count until both are quiet.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const settings = require("@pulumi/pulumi/runtime/settings") as {
        waitForRPCs(): Promise<void>;
      };
      do {
        await settings.waitForRPCs();
        await new Promise((r) => setTimeout(r, 50));
      } while (inFlight > 0 || Date.now() - lastChange < 50);
    },
  };
}

/** The zones the fake account has in its DigitalOcean DNS. */
export const FAKE_ZONES = ["example.com", "example.org"];

export const FAKE_SIZES = [
  { slug: "s-1vcpu-1gb", priceMonthly: 6 },
  { slug: "s-1vcpu-2gb", priceMonthly: 12 },
  { slug: "s-2vcpu-4gb", priceMonthly: 24 },
  { slug: "c-2", priceMonthly: 42 },
];

/** A fake DigitalOcean: numbered addresses per droplet, tokens from swarm-init, node IDs from joins. */
export function fakeCloud(): FakeOutputs {
  let droplet = 0;
  return (type, name, inputs) => {
    switch (type) {
      case "digitalocean:index/droplet:Droplet": {
        droplet++;
        return { ipv4Address: `203.0.113.${droplet}`, ipv4AddressPrivate: `10.110.0.${droplet}` };
      }
      case "digitalocean:index/reservedIp:ReservedIp":
        return { ipAddress: "198.51.100.7" };
      case "digitalocean:index/loadBalancer:LoadBalancer":
        return { ip: "192.0.2.80" };
      case "digitalocean:index/sshKey:SshKey":
        return { fingerprint: "aa:bb:cc" };
      case "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials": {
        const auth = Buffer.from(`${name}-token:${name}-token`).toString("base64");
        return {
          dockerCredentials: JSON.stringify({ auths: { "registry.digitalocean.com": { auth } } }),
        };
      }
      case "docker:index/image:Image": {
        const repo = String(inputs.imageName).replace(/:[^:/]+$/, "");
        const digest = createHash("sha256").update(JSON.stringify(inputs.build)).digest("hex");
        return { repoDigest: `${repo}@sha256:${digest}` };
      }
      case "command:remote:Command":
        if (name.endsWith("-swarm-init")) {
          return {
            stdout: JSON.stringify({
              clusterId: "cluster",
              nodeId: `node-${name}`,
              workerToken: "SWMTKN-1-worker-secret",
              managerToken: "SWMTKN-1-manager-secret",
            }),
          };
        }
        if (name.endsWith("-swarm-id")) {
          return { stdout: JSON.stringify({ nodeId: `node-${name}`, clusterId: "cluster" }) };
        }
        return { stdout: name.endsWith("-join") ? `node-${name.replace(/-join$/, "")}\n` : "" };
      default:
        return {};
    }
  };
}

/** A syntactically valid key pair for config; never used to log in anywhere. */
export const TEST_PUBLIC_KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGj5vYt2P3xVdM1T0G7Ey3pQxN4v3W2m2m2m2m2m2m2m test@do-swarm";
export const TEST_PRIVATE_KEY =
  "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n";

/** The config keys every run of the program needs (the test key pair). */
export const TEST_KEYS = {
  "do-swarm:sshPublicKey": TEST_PUBLIC_KEY,
  "do-swarm:sshPrivateKey": TEST_PRIVATE_KEY,
};

/**
 * Runs index.ts afresh (it runs at import), in isolation, with this config, and returns the
 * message it threw ("" when it threw nothing): for the tests of what it refuses.
 */
export function indexError(config: Record<string, string>): string {
  pulumi.runtime.setAllConfig(config);
  let message = "";
  jest.isolateModules(() => {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require("../index");
    } catch (e) {
      message = (e as Error).message;
    }
  });
  return message;
}
