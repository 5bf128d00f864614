import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import { RawConfig } from "./components/swarm/config";
import { requireEngineVersion } from "./components/core/engine";
import { registryServer, validateAll } from "./components/program/validate";
import { SwarmCluster } from "./components/swarm/swarmCluster";
import { SwarmStack } from "./components/stacks/swarmStack";
import { SwarmEdge } from "./components/edge";
import { Alerts } from "./components/alerts/alerts";

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
  alerts: config.getObject("alerts"),
};
const clusterName = config.get("clusterName") ?? `swarm-${pulumi.getStack()}`;

// Everything is checked before any resource exists, and every problem is reported at once.
const {
  cfg,
  publicPorts,
  edge: edgePlan,
} = validateAll({
  raw,
  clusterName,
  projectDir,
  getKey: (key) => config.get(key),
  allConfig: pulumi.runtime.allConfig(),
  project: pulumi.getProject(),
});
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
    // The basic-auth users' hashes: secret, only in the deploy's (secret) stdin.
    basicAuthHashes: Object.fromEntries(
      edgePlan.basicAuthKeys.map((key) => [key, config.requireSecret(key)]),
    ),
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

// Alerts on the nodes (by the cluster's tag), the load balancer and each URL (components/alerts).
const alerts =
  cfg.alerts &&
  new Alerts(clusterName, {
    settings: cfg.alerts,
    clusterTag: cluster.clusterTag,
    urls: cluster.urls,
    loadBalancerId: cluster.loadBalancer?.id,
    // A secret from config: never in plain inputs, state or messages.
    slackWebhookUrl: cfg.alerts.slack && config.requireSecret(cfg.alerts.slack.urlKey),
  });

export const reservedIp = cluster.reservedIp;
/** Where visitors enter: the reserved IP, or the load balancer's address. */
export const entryPoint = cluster.entryAddress;
export const urls = cluster.urls;
export const managers = cluster.managers;
export const workers = cluster.workers;
export const ssh = pulumi.interpolate`ssh root@${cluster.reservedIp}`;
export const dockerHost = pulumi.interpolate`ssh://root@${cluster.reservedIp}`;
export const faultTolerance = cluster.faultTolerance;
/** The droplets, the load balancer and the uptime checks (monitor alerts are free). */
export const estimatedMonthlyCostUsd = alerts
  ? cluster.estimatedMonthlyCostUsd.apply((c) => c + alerts.monthlyCostUsd)
  : cluster.estimatedMonthlyCostUsd;
/** Each node's data volume (name, GiB), mounted at /mnt/do-swarm-data; services bind /mnt/do-swarm-data/data. */
export const dataVolumes = cluster.nodes.flatMap((n) =>
  n.volume ? [{ node: n.name, volume: n.volume.name, sizeGb: n.volume.sizeGb }] : [],
);
export const deployedStacks = stacks.map((s) => s.urn);
/** The Caddyfile the edge runs (also shown in full, with the edge stack, in every preview). */
export const edgeConfig = edge?.caddyfile;
