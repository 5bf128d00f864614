import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import * as command from "@pulumi/command";
import type { DomainConfig, EntryPointKind, LoadBalancerSettings } from "./config";
import { DEFAULTS } from "./config";
import { FailoverTiming, loadBalancerMonthlyCost, urls } from "../entryPoint/entryPointPlan";
import { checkPublicPorts, PublicPort } from "../core/firewall";
import { faultTolerance, GroupData, monthlyCost, NodePlan, planNodes } from "../core/nodes";
import { createFirewall, createNetwork } from "./network";
import { createDroplets } from "./droplets";
import { MaxUnavailable } from "../maintenance/batches";
import {
  checkZones,
  createDnsRecords,
  createLoadBalancer,
  createReservedIp,
  visitorAddress,
} from "../entryPoint/entryPoint";
import { installFailoverAgents } from "../entryPoint/failover";
import { bootstrapSwarm } from "./bootstrap";
import { sshConnection } from "../core/remote";
import { createVolumes, NodeVolumeResources } from "../data/volumes";

export interface SwarmClusterArgs {
  /** DigitalOcean region slug for every resource. */
  region: string;
  /** Manager count (odd, 1..7) and droplet size; a volume per manager and backups, optional. */
  managers: { count: number; size: string; resizeDisk?: boolean } & GroupData;
  /** Worker pools; labels become swarm node labels and DigitalOcean tags. */
  workers: ({
    name: string;
    count: number;
    size: string;
    labels?: Record<string, string>;
    resizeDisk?: boolean;
    /** Nodes of the pool in maintenance at once: a count or a percentage ("25%"). @default 1 */
    maxUnavailable?: MaxUnavailable;
  } & GroupData)[];
  /** OpenSSH public key installed for root on every droplet. */
  sshPublicKey: pulumi.Input<string>;
  /** The matching private key the bootstrap commands log in with. Kept secret. */
  sshPrivateKey: pulumi.Input<string>;
  /** Droplet image slug. @default "ubuntu-24-04-x64" */
  image?: string;
  /** Docker Engine version installed and held by cloud-init. @default "28.5" */
  dockerVersion?: string;
  /** Who may SSH to the nodes. @default ["0.0.0.0/0", "::/0"] (key-only auth) */
  adminCidrs?: string[];
  /** Ports the deployed stacks publish, opened to the internet. @default [] */
  publicPorts?: PublicPort[];
  /** The VPC's private range. @default "10.110.0.0/20" */
  vpcIpRange?: string;
  /** CIDR swarm carves overlay networks from; must not overlap the VPC. @default "10.200.0.0/16" */
  overlayAddressPool?: string;
  /** Attempts to reach a booting droplet over SSH before a command fails. @default 60 */
  sshDialAttempts?: number;
  /** Seconds a node may take to drain or to come back during a rolling resize. @default 600 */
  maintenanceTimeoutSeconds?: number;
  /**
   * How visitors enter: the reserved IP, or a load balancer in front of every node (the
   * reserved IP stays the admin path). @default "reservedIp"
   */
  entryPoint?: EntryPointKind;
  /** @default { httpPort: 80, healthCheckPath: "/", sizeUnit: 1 } */
  loadBalancer?: LoadBalancerSettings;
  /** Names visitors use: an A record each, in zones of the account's DigitalOcean DNS. @default [] */
  domains?: DomainConfig[];
  /**
   * The reserved IP follows a healthy manager (an agent on every manager with this token).
   * @default undefined: the reserved IP stays on manager-0
   */
  failover?: FailoverTiming & {
    /** reserved_ip:update and the read scopes it requires. Secret. */
    token: pulumi.Input<string>;
    /** @default "https://api.digitalocean.com" */
    apiUrl?: string;
  };
  /** DigitalOcean's API, for the volumes' restore points. @default "https://api.digitalocean.com" */
  digitaloceanApiUrl?: string;
  /** Where a volume's device appears on a droplet. @default "/dev/disk/by-id/scsi-0DO_Volume_" */
  volumeDevicePrefix?: string;
  /**
   * API token for the volumes' restore points (secret).
   * @default none: DIGITALOCEAN_TOKEN of the environment `pulumi` runs in
   */
  digitaloceanToken?: pulumi.Input<string | undefined>;
}

/** Addresses of one node, as outputs. */
export interface NodeAddresses {
  name: string;
  publicIp: pulumi.Output<string>;
  privateIp: pulumi.Output<string>;
}

/**
 * A Docker Swarm on DigitalOcean: droplets in their own VPC behind a tag-based cloud firewall,
 * a reserved IP on the first manager as the stable entry point, and the swarm bootstrapped over
 * SSH by the scripts in ./scripts. Thin on purpose: each capability is a creation function in
 * ./cluster (network, droplets, entryPoint, bootstrap) and what to build is decided by the pure
 * modules (nodes, firewall, cloudInit, remote); this class only calls them in order.
 */
export class SwarmCluster extends pulumi.ComponentResource {
  /** A manager, reachable at a stable address: the admin path (and visitors' in reservedIp mode). */
  readonly reservedIp: pulumi.Output<string>;
  /** The address visitors reach: the reserved IP, or the load balancer's. */
  readonly entryAddress: pulumi.Output<string>;
  /** One URL per configured domain. */
  readonly urls: string[];
  readonly loadBalancer?: digitalocean.LoadBalancer;
  /** The tag every droplet of the cluster carries (its Tag's name: waits for the Tag). */
  readonly clusterTag: pulumi.Output<string>;
  readonly managers: NodeAddresses[];
  /** Worker addresses by pool name. */
  readonly workers: Record<string, NodeAddresses[]>;
  /** SSH connection to the entry point, for commands that run on "a manager". */
  readonly managerConnection: command.types.input.remote.ConnectionArgs;
  /**
   * SSH connection to manager-0's own address, for a command whose own effects move the
   * reserved IP: the edge's deploy replaces the Caddy on the IP's holder, which first has the
   * IP moved away (edge-caddy.sh), and a session to the reserved IP would be cut by that move.
   */
  readonly firstManagerConnection: command.types.input.remote.ConnectionArgs;
  /** Resources that must exist before anything is deployed to the swarm. */
  readonly ready: pulumi.Resource[];
  /** The swarm's ID: it changes only when the swarm is created anew. */
  readonly clusterId: pulumi.Output<string>;
  readonly faultTolerance: number;
  readonly estimatedMonthlyCostUsd: pulumi.Output<number>;
  readonly droplets: digitalocean.Droplet[];
  readonly nodes: NodePlan[];
  /** By node index: the node's volume and its steps, for nodes of groups with a volume. */
  readonly volumes: (NodeVolumeResources | undefined)[];

  constructor(name: string, args: SwarmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("do-swarm:index:SwarmCluster", name, {}, opts);
    const problems = checkPublicPorts(args.publicPorts ?? []);
    if (problems.length > 0) throw new Error(problems.join("\n"));
    const nodes = planNodes(name, args);
    this.nodes = nodes;

    const kind = args.entryPoint ?? DEFAULTS.entryPoint;
    const domains = args.domains ?? [];
    const network = createNetwork(name, nodes, args, this);
    this.clusterTag = network.clusterTag.name;
    // One lookup; everything that needs the zones waits for it (checkZones).
    const zonesChecked = checkZones(domains, this);
    const lb =
      kind === "loadBalancer"
        ? createLoadBalancer(
            name,
            network,
            {
              region: args.region,
              settings: args.loadBalancer ?? { ...DEFAULTS.loadBalancer },
              publicPorts: args.publicPorts ?? [],
              domains,
              zonesChecked,
            },
            this,
          )
        : undefined;
    this.loadBalancer = lb?.loadBalancer;
    const firewall = createFirewall(
      name,
      network,
      { ...args, loadBalancer: lb?.loadBalancer },
      this,
    );
    const droplets = createDroplets(
      name,
      nodes,
      { ...args, dependsOn: zonesChecked },
      network,
      this,
    );
    this.droplets = droplets;
    const reservedIp = createReservedIp(
      name,
      args.region,
      droplets[0],
      args.failover !== undefined,
      this,
    );
    this.reservedIp = reservedIp.ipAddress;
    if (args.failover === undefined && kind === "reservedIp") {
      pulumi.log.warn(
        "every request enters through one droplet: the reserved IP stays on manager-0, and if " +
          "that droplet fails the site is down until it is back. Either set failoverToken (the IP " +
          "then follows a healthy manager) or use entryPoint loadBalancer; see docs/entry-point.md.",
        this,
      );
    }
    const volumes = createVolumes(
      name,
      nodes,
      droplets,
      { ...args, firewall, tags: network.tags },
      this,
    );
    this.volumes = volumes.byNode;
    this.managerConnection = sshConnection(
      this.reservedIp,
      args.sshPrivateKey,
      args.sshDialAttempts ?? 60,
    );
    this.firstManagerConnection = sshConnection(
      droplets[0].ipv4Address,
      args.sshPrivateKey,
      args.sshDialAttempts ?? 60,
    );
    const swarm = bootstrapSwarm(
      name,
      nodes,
      droplets,
      {
        ...args,
        managerConnection: this.managerConnection,
        firewall,
        entryPointReady: [reservedIp],
        // A node is registered (and gets its volume label) only with its volume mounted.
        registerAfter: volumes.beforeRegister,
      },
      this,
    );
    this.ready = swarm.registers;
    this.clusterId = swarm.clusterId;
    if (args.failover !== undefined) {
      installFailoverAgents(
        name,
        nodes,
        droplets,
        swarm.registers,
        {
          ...args.failover,
          reservedIp: this.reservedIp,
          managerTag: `${name}-manager`,
          sshPrivateKey: args.sshPrivateKey,
          sshDialAttempts: args.sshDialAttempts,
        },
        this,
      );
    }
    this.entryAddress = visitorAddress(kind, this.reservedIp, lb?.loadBalancer);
    createDnsRecords(name, domains, this.entryAddress, this, zonesChecked);
    this.urls = urls(domains);

    const managerIdx = nodes.flatMap((n, i) => (n.role === "manager" ? [i] : []));
    const addresses = (i: number): NodeAddresses => ({
      name: nodes[i].name,
      publicIp: droplets[i].ipv4Address,
      privateIp: droplets[i].ipv4AddressPrivate,
    });
    this.managers = managerIdx.map(addresses);
    this.workers = {};
    nodes.forEach((n, i) => {
      if (n.role === "worker") (this.workers[n.pool] ??= []).push(addresses(i));
    });
    this.faultTolerance = faultTolerance(args.managers.count);
    const sizes = [...new Set(nodes.map((n) => n.size))];
    this.estimatedMonthlyCostUsd = digitalocean
      .getSizesOutput({ filters: [{ key: "slug", values: sizes }] }, { parent: this })
      .sizes.apply(
        (all) =>
          monthlyCost(nodes, Object.fromEntries(all.map((s) => [s.slug, s.priceMonthly]))) +
          (lb === undefined
            ? 0
            : loadBalancerMonthlyCost((args.loadBalancer ?? DEFAULTS.loadBalancer).sizeUnit)),
      );

    this.registerOutputs({
      reservedIp: this.reservedIp,
      entryAddress: this.entryAddress,
      urls: this.urls,
      clusterId: this.clusterId,
      managers: this.managers,
      workers: this.workers,
      faultTolerance: this.faultTolerance,
      estimatedMonthlyCostUsd: this.estimatedMonthlyCostUsd,
    });
  }
}
