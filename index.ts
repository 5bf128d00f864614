import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import {
  checkEntryPointPorts,
  checkVolumeNames,
  ClusterConfig,
  ConfigError,
  RawConfig,
  StackConfig,
  validateConfig,
  volumeGroupsOf,
} from "./components/config";
import { secretEnvKeys, unknownConfigKeyProblems } from "./components/configKeys";
import { engineFeatures, engineProblems, requireEngineVersion } from "./components/engine";
import { PublicPort } from "./components/firewall";
import { validateEdge } from "./components/config/edge";
import { validateEntryPoint } from "./components/config/entryPoint";
import { encryptedNetworks, planStackRender } from "./components/stackBundle";
import { SwarmCluster } from "./components/swarmCluster";
import { SwarmStack } from "./components/swarmStack";
import { checkPublicPorts } from "./components/firewall";
import { hostnameProblems, planNodes } from "./components/nodes";
import {
  checkRoutes,
  EdgePlan,
  planEdge,
  portConflicts,
  servicePorts,
  StackFacts,
  SwarmEdge,
} from "./components/edge";
import * as fs from "fs";
import * as path from "path";

const config = new pulumi.Config();
const projectDir = __dirname;

const raw: RawConfig = {
  region: config.get("region"),
  managers: config.getObject("managers"),
  workers: config.getObject("workers"),
  image: config.get("image"),
  dockerVersion: config.get("dockerVersion"),
  sshPublicKey: config.get("sshPublicKey"),
  // Read here only to check its form before anything is created; resources get requireSecret.
  sshPrivateKey: config.get("sshPrivateKey"),
  adminCidrs: config.getObject("adminCidrs"),
  vpcIpRange: config.get("vpcIpRange"),
  overlayAddressPool: config.get("overlayAddressPool"),
  stacks: config.getObject("stacks"),
  registry: config.get("registry"),
  entryPoint: config.get("entryPoint"),
  loadBalancer: config.getObject("loadBalancer"),
  domains: config.getObject("domains"),
  // Read here only to check its form; the agent gets it with requireSecret.
  failoverToken: config.get("failoverToken"),
  edge: config.getObject("edge"),
  volumeDevicePrefix: config.get("volumeDevicePrefix"),
};
const clusterName = config.get("clusterName") ?? `swarm-${pulumi.getStack()}`;
const registryServer = (name: string | undefined) =>
  name === undefined ? undefined : `registry.digitalocean.com/${name}`;

/**
 * Everything is checked before any resource exists, and every problem is reported at once:
 * the config, then each stack's file (rendered with placeholders for its secrets), then the
 * ports the stacks would open in the firewall, then the edge's routes against the stacks as
 * rendered and the domains.
 */
function validateAll(): { cfg: ClusterConfig; publicPorts: PublicPort[]; edge?: EdgePlan } {
  const problems: string[] = [];
  let cfg: ClusterConfig | undefined;
  let stacks: StackConfig[] = [];
  try {
    cfg = validateConfig(raw);
    stacks = cfg.stacks;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(...e.problems);
    stacks = e.wellFormedStacks;
  }
  if (!/^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/.test(clusterName)) {
    problems.push(
      `do-swarm:clusterName = ${JSON.stringify(clusterName)}: use a lowercase DNS label (a-z, 0-9, '-')`,
    );
  } else if (cfg !== undefined) {
    problems.push(...hostnameProblems(clusterName, planNodes(clusterName, cfg)));
  }
  problems.push(...checkVolumeNames(clusterName, volumeGroupsOf(raw)));
  const publicPorts: PublicPort[] = [];
  const facts: StackFacts[] = [];
  for (const stack of stacks) {
    for (const [variable, key] of Object.entries(stack.secretEnv ?? {})) {
      if (config.get(key) === undefined) {
        problems.push(
          `do-swarm:stacks[${stack.name}].secretEnv.${variable} names config key '${key}', which is not set: pulumi config set --secret ${key} VALUE`,
        );
      }
    }
    try {
      const { result: rendered } = planStackRender(
        stack,
        projectDir,
        registryServer(typeof raw.registry === "string" ? raw.registry : undefined),
      );
      rendered.warnings.forEach((w) => pulumi.log.warn(`stack ${stack.name}: ${w}`));
      for (const network of encryptedNetworks(rendered.yaml)) {
        pulumi.log.warn(
          `stack ${stack.name}: network ${network} is an encrypted overlay; swarm encrypts it with IPsec ESP ` +
            "(IP protocol 50), which DigitalOcean cloud firewalls cannot allow, so traffic on it between " +
            "droplets is likely dropped. Remove the encrypted option (the VPC is private) or test it first.",
        );
      }
      facts.push({
        name: stack.name,
        file: [stack.file].flat().join(" + "),
        services: servicePorts(rendered.yaml, readSources(stack.file)),
      });
      publicPorts.push(
        ...rendered.publishedPorts.map((p) => ({
          port: p.port,
          protocol: p.protocol,
          source: `stack ${stack.name}, service ${p.service}`,
        })),
      );
    } catch (e) {
      const list = (e as { problems?: string[] }).problems;
      problems.push(
        ...(list ?? [(e as Error).message]).map(
          (p) => `do-swarm:stacks[${stack.name}] (${[stack.file].flat().join(" + ")}): ${p}`,
        ),
      );
    }
  }
  problems.push(...checkPublicPorts(publicPorts));
  // A mistyped key would be ignored silently; keys a stack's secretEnv names are known too.
  problems.push(
    ...unknownConfigKeyProblems(
      pulumi.runtime.allConfig(),
      pulumi.getProject(),
      secretEnvKeys(raw.stacks),
    ),
  );
  problems.push(...engineProblems(engineFeatures()));
  // The routes are checked even when the config has problems (with what of it is well formed),
  // so that one run reports everything.
  const routing = cfg ? { ...cfg, stackNames: cfg.stacks.map((s) => s.name) } : wellFormedEdge();
  let edge: EdgePlan | undefined;
  if (routing.edge.routes.length > 0) {
    edge = planEdge(
      routing.edge,
      routing.domains,
      routing.entryPoint,
      raw.failoverToken !== undefined,
    );
    problems.push(
      ...checkRoutes(routing.edge.routes, {
        stacks: facts,
        domains: routing.domains,
        configured: routing.stackNames,
      }),
      ...portConflicts(edge.publicPorts, publicPorts),
    );
    publicPorts.push(...edge.publicPorts);
  }
  if (cfg !== undefined) problems.push(...checkEntryPointPorts(cfg, publicPorts));
  if (problems.length > 0 || cfg === undefined) throw new ConfigError(problems);
  return { cfg, publicPorts, edge };
}

/** What of the edge, the domains and the stack names is well formed (their problems are reported). */
function wellFormedEdge() {
  const ignore = () => undefined;
  const stacks = Array.isArray(raw.stacks) ? (raw.stacks as unknown[]) : [];
  return {
    edge: validateEdge(raw.edge, ignore) ?? { routes: [], image: "" },
    ...validateEntryPoint(raw, "unset", ignore, []),
    stackNames: stacks.flatMap((x) =>
      typeof (x as { name?: unknown })?.name === "string" ? [(x as { name: string }).name] : [],
    ),
  };
}

/** A stack's compose files as written (for what the render drops, such as expose:). */
function readSources(file: string | string[]): string[] {
  return [file].flat().flatMap((f) => {
    try {
      return [fs.readFileSync(path.resolve(projectDir, f), "utf8")];
    } catch {
      return []; // the render has reported it
    }
  });
}

const { cfg, publicPorts, edge: edgePlan } = validateAll();
void requireEngineVersion();

const cluster = new SwarmCluster(clusterName, {
  region: cfg.region,
  managers: cfg.managers,
  workers: cfg.workers,
  image: cfg.image,
  dockerVersion: cfg.dockerVersion,
  sshPublicKey: cfg.sshPublicKey,
  sshPrivateKey: config.requireSecret("sshPrivateKey"),
  adminCidrs: cfg.adminCidrs,
  publicPorts,
  vpcIpRange: cfg.vpcIpRange,
  overlayAddressPool: cfg.overlayAddressPool,
  entryPoint: cfg.entryPoint,
  loadBalancer: cfg.loadBalancer,
  domains: cfg.domains,
  failover:
    raw.failoverToken === undefined
      ? undefined
      : {
          token: config.requireSecret("failoverToken"),
          // The provider's own setting: the agent calls the API the provider calls.
          apiUrl: digitalocean.config.apiEndpoint,
        },
  // The volumes' restore points call the API the provider calls (digitalocean:apiEndpoint).
  digitaloceanApiUrl: digitalocean.config.apiEndpoint,
  volumeDevicePrefix: cfg.volumeDevicePrefix,
  // The provider's token, when it is in config, for the volumes' restore points (a secret on
  // their stdin); otherwise they use DIGITALOCEAN_TOKEN from the environment.
  digitaloceanToken: new pulumi.Config("digitalocean").getSecret("token"),
});

// Build-only services are pushed with write credentials; the nodes pull with read-only ones.
const registry =
  cfg.registry === undefined
    ? undefined
    : {
        server: registryServer(cfg.registry)!,
        push: new digitalocean.ContainerRegistryDockerCredentials(`${clusterName}-registry-push`, {
          registryName: cfg.registry,
          write: true,
        }),
        pull: new digitalocean.ContainerRegistryDockerCredentials(`${clusterName}-registry-pull`, {
          registryName: cfg.registry,
          write: false,
        }),
      };

// The edge first: its network must exist before a routed stack joins it (and a routed stack is
// removed before the edge on destroy).
const edge =
  edgePlan &&
  new SwarmEdge(`${clusterName}-edge`, {
    plan: edgePlan,
    // Not the reserved IP: an edge update moves it (the Caddy on its holder has it moved away
    // before it stops), which would cut the deploy's own session.
    connection: edgePlan.handOff ? cluster.firstManagerConnection : cluster.managerConnection,
    after: cluster.ready,
    clusterId: cluster.clusterId,
  });

const stacks = cfg.stacks.map(
  (stack) =>
    new SwarmStack(`${clusterName}-stack-${stack.name}`, {
      stack,
      projectDir,
      connection: cluster.managerConnection,
      after:
        edge && edgePlan?.attachments.has(stack.name) ? [...cluster.ready, edge] : cluster.ready,
      edgeNetwork: edgePlan?.attachments.has(stack.name)
        ? { services: edgePlan.attachments.get(stack.name)! }
        : undefined,
      clusterId: cluster.clusterId,
      registry: registry && {
        server: registry.server,
        pushCredentials: pulumi.secret(registry.push.dockerCredentials),
      },
      registryAuth: registry && pulumi.secret(registry.pull.dockerCredentials),
      secretEnv: Object.fromEntries(
        Object.entries(stack.secretEnv ?? {}).map(([variable, key]) => [
          variable,
          config.requireSecret(key),
        ]),
      ),
    }),
);

export const reservedIp = cluster.reservedIp;
/** Where visitors enter: the reserved IP, or the load balancer's address. */
export const entryPoint = cluster.entryAddress;
export const urls = cluster.urls;
export const managers = cluster.managers;
export const workers = cluster.workers;
export const ssh = pulumi.interpolate`ssh root@${cluster.reservedIp}`;
export const dockerHost = pulumi.interpolate`ssh://root@${cluster.reservedIp}`;
export const faultTolerance = cluster.faultTolerance;
export const estimatedMonthlyCostUsd = cluster.estimatedMonthlyCostUsd;
/** Each node's data volume (name, GiB), mounted at /mnt/do-swarm-data; services bind /mnt/do-swarm-data/data. */
export const dataVolumes = cluster.nodes.flatMap((n) =>
  n.volume ? [{ node: n.name, volume: n.volume.name, sizeGb: n.volume.sizeGb }] : [],
);
export const deployedStacks = stacks.map((s) => s.urn);
/** The Caddyfile the edge runs (also shown in full, with the edge stack, in every preview). */
export const edgeConfig = edge?.caddyfile;
