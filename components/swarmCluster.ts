import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import * as command from "@pulumi/command";
import { renderUserData } from "./cloudInit";
import { checkPublicPorts, inboundRules, outboundRules, PublicPort } from "./firewall";
import { allTags, faultTolerance, monthlyCost, NodePlan, planNodes } from "./nodes";
import { scriptCommand, withFinalNewline } from "./remote";
import { DEFAULTS } from "./config";
import { maintenanceBinding, MaintenanceContext, MaintenanceLock } from "./maintenance";
import { realMaintenanceOps } from "./maintenanceOps";

/** Resolves an output inside a hook, where the program's values are all known. */
const valueOf = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

export interface SwarmClusterArgs {
  /** DigitalOcean region slug for every resource. */
  region: string;
  /** Manager count (odd, 1..7) and droplet size. */
  managers: { count: number; size: string; resizeDisk?: boolean };
  /** Worker pools; labels become swarm node labels and DigitalOcean tags. */
  workers: {
    name: string;
    count: number;
    size: string;
    labels?: Record<string, string>;
    resizeDisk?: boolean;
  }[];
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
 * SSH by the scripts in ./scripts. Thin on purpose: what to build is decided by the pure modules
 * (nodes, firewall, cloudInit, remote); this class only wires resources.
 */
export class SwarmCluster extends pulumi.ComponentResource {
  /** The entry point: a manager, reachable at a stable address. */
  readonly reservedIp: pulumi.Output<string>;
  readonly managers: NodeAddresses[];
  /** Worker addresses by pool name. */
  readonly workers: Record<string, NodeAddresses[]>;
  /** SSH connection to the entry point, for commands that run on "a manager". */
  readonly managerConnection: command.types.input.remote.ConnectionArgs;
  /** Resources that must exist before anything is deployed to the swarm. */
  readonly ready: pulumi.Resource[];
  /** The swarm's ID: it changes only when the swarm is created anew. */
  readonly clusterId: pulumi.Output<string>;
  readonly faultTolerance: number;
  readonly estimatedMonthlyCostUsd: pulumi.Output<number>;
  readonly droplets: digitalocean.Droplet[];
  readonly nodes: NodePlan[];

  constructor(name: string, args: SwarmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("do-swarm:index:SwarmCluster", name, {}, opts);
    const problems = checkPublicPorts(args.publicPorts ?? []);
    if (problems.length > 0) throw new Error(problems.join("\n"));
    const parent = { parent: this };
    const nodes = planNodes(name, args);
    this.nodes = nodes;

    const vpc = new digitalocean.Vpc(
      `${name}-vpc`,
      { name: `${name}-vpc`, region: args.region, ipRange: args.vpcIpRange ?? DEFAULTS.vpcIpRange },
      parent,
    );
    const tags = new Map(
      allTags(name, nodes).map((t) => [
        t,
        new digitalocean.Tag(`${name}-tag-${t}`, { name: t }, parent),
      ]),
    );
    const clusterTag = tags.get(name)!;
    const sshKey = new digitalocean.SshKey(
      `${name}-ssh-key`,
      { name, publicKey: args.sshPublicKey },
      parent,
    );
    const firewall = new digitalocean.Firewall(
      `${name}-firewall`,
      {
        name,
        tags: [clusterTag.name],
        inboundRules: inboundRules({
          clusterTag: name,
          adminCidrs: args.adminCidrs ?? [...DEFAULTS.adminCidrs],
          publicPorts: args.publicPorts ?? [],
        }),
        outboundRules: outboundRules(),
      },
      { parent: this, dependsOn: [clusterTag] },
    );

    // Rolling resize (see maintenance.ts): hooks on every droplet, one lock for the whole program.
    // The context is filled lazily: hooks run during the update, when every output is known.
    const maintenance: MaintenanceContext = {
      nodes,
      managerDropletIds: () =>
        valueOf(
          pulumi.all(
            droplets.filter((_, i) => nodes[i].role === "manager").map((d) => d.id.apply(Number)),
          ),
        ),
      lock: new MaintenanceLock(),
      timeoutSeconds: args.maintenanceTimeoutSeconds,
      ops: realMaintenanceOps({
        target: () =>
          valueOf(
            pulumi
              .all([this.reservedIp, pulumi.output(args.sshPrivateKey)])
              .apply(([host, privateKey]) => ({ host, user: "root", privateKey })),
          ),
        reservedIp: () => valueOf(this.reservedIp),
        token: () =>
          process.env.DIGITALOCEAN_TOKEN ?? new pulumi.Config("digitalocean").get("token"),
        log: (m) => pulumi.log.info(m, this),
        warn: (m) => pulumi.log.warn(m, this),
      }),
    };

    const userData = renderUserData({
      dockerVersion: args.dockerVersion ?? DEFAULTS.dockerVersion,
    });
    const droplets = nodes.map(
      (n) =>
        new digitalocean.Droplet(
          `${name}-${n.key}`,
          {
            name: n.name,
            region: args.region,
            size: n.size,
            image: args.image ?? DEFAULTS.image,
            vpcUuid: vpc.id,
            sshKeys: [sshKey.fingerprint],
            tags: n.tags.map((t) => tags.get(t)!.name),
            userData,
            monitoring: true,
            resizeDisk: n.resizeDisk,
          },
          {
            parent: this,
            // These only matter at first boot, and changing any of them REPLACES the droplet:
            // a Docker version bump or key rotation must not rebuild every node at once. They
            // apply to droplets created from then on (see README, "What applies to new nodes").
            ignoreChanges: ["userData", "image", "sshKeys"],
            hooks: maintenanceBinding(n, maintenance),
          },
        ),
    );
    this.droplets = droplets;

    const reservedIp = new digitalocean.ReservedIp(
      `${name}-reserved-ip`,
      { region: args.region },
      parent,
    );
    const assignment = new digitalocean.ReservedIpAssignment(
      `${name}-reserved-ip-assignment`,
      { ipAddress: reservedIp.ipAddress, dropletId: droplets[0].id.apply(Number) },
      parent,
    );
    this.reservedIp = reservedIp.ipAddress;

    const connection = (host: pulumi.Input<string>): command.types.input.remote.ConnectionArgs => ({
      host,
      user: "root",
      privateKey: pulumi.secret(args.sshPrivateKey),
      dialErrorLimit: args.sshDialAttempts ?? 60,
      perDialTimeout: 10,
    });
    this.managerConnection = connection(this.reservedIp);
    // For the two steps that must reach a peer over the VPC (see scripts/lib/peer-ssh.sh).
    const keyOnStdin = pulumi.secret(pulumi.output(args.sshPrivateKey).apply(withFinalNewline));

    const managerIdx = nodes.flatMap((n, i) => (n.role === "manager" ? [i] : []));
    const privateIps = droplets.map((d) => d.ipv4AddressPrivate);
    const managerIps = managerIdx.map((i) => privateIps[i]);

    // 1. Every node waits for cloud-init and Docker, all in parallel, behind the final firewall.
    const ready = nodes.map(
      (n, i) =>
        new command.remote.Command(
          `${name}-${n.key}-ready`,
          {
            connection: connection(droplets[i].ipv4Address),
            create: scriptCommand("node-ready.sh"),
            addPreviousOutputInEnv: false, // see the join below
          },
          { parent: this, dependsOn: [firewall] },
        ),
    );

    // 2. manager-0 creates the swarm; its stdout (the join tokens) is secret and never logged.
    //    A replaced manager-0 joins its live peers instead, with a token fetched with the key.
    //    stderr is logged and kept: the scripts mask every token docker prints (mask_tokens in
    //    scripts/lib/swarm.sh), and every command that holds a secret also keeps its stderr
    //    secret in the state, in case a later edit of a script prints one anyway.
    const init = new command.remote.Command(
      `${name}-swarm-init`,
      {
        connection: connection(droplets[0].ipv4Address),
        create: pulumi
          .all(managerIps)
          .apply(([self, ...peers]) =>
            scriptCommand("swarm-init.sh", [
              self,
              args.overlayAddressPool ?? DEFAULTS.overlayAddressPool,
              ...peers,
            ]),
          ),
        stdin: keyOnStdin,
        logging: "stderr",
        // The provider would otherwise send the previous stdout (the tokens) as an SSH
        // environment request on every re-run; sshd drops it, but it need not travel at all.
        addPreviousOutputInEnv: false,
      },
      {
        parent: this,
        dependsOn: [ready[0]],
        additionalSecretOutputs: ["stdout", "stderr", "stdin"],
      },
    );
    const tokens = pulumi.secret(
      init.stdout.apply(
        (s) =>
          JSON.parse(s) as {
            clusterId: string;
            nodeId: string;
            workerToken: string;
            managerToken: string;
          },
      ),
    );
    // Not a credential (any node shows it in `docker info`): unsecret, so that the deploy
    // commands that carry it keep a readable preview.
    this.clusterId = pulumi.unsecret(tokens.apply((t) => t.clusterId));

    // 3. Other managers join ONE AT A TIME (each waits for the previous one to be in the raft);
    //    workers join IN PARALLEL, each needing only the swarm and itself.
    const joins: (command.remote.Command | undefined)[] = [];
    let previousManager: pulumi.Resource = init;
    nodes.forEach((n, i) => {
      if (i === 0) return;
      const join = new command.remote.Command(
        `${name}-${n.key}-join`,
        {
          connection: connection(droplets[i].ipv4Address),
          create: pulumi
            .all([privateIps[i], ...managerIps])
            .apply(([self, ...ms]) =>
              scriptCommand("swarm-join.sh", [n.role, self, ...ms.filter((m) => m !== self)]),
            ),
          stdin: tokens.apply(
            (t) => (n.role === "manager" ? t.managerToken : t.workerToken) + "\n",
          ),
          logging: "stderr",
          // By default the provider sends the previous stdout and stderr as SSH environment
          // requests (PULUMI_COMMAND_STDOUT/STDERR) on every update and delete; stock sshd
          // refuses them (AcceptEnv LANG LC_*) and the provider warns each time. No script
          // reads them.
          addPreviousOutputInEnv: false,
        },
        {
          parent: this,
          dependsOn: [ready[i], n.role === "manager" ? previousManager : init],
          // Not stdout: it is the node ID, which the register command's readable diff shows.
          additionalSecretOutputs: ["stderr", "stdin"],
        },
      );
      joins[i] = join;
      if (n.role === "manager") previousManager = join;
    });

    // 4. On a manager (through the reserved IP): wait Ready, apply labels, drop stale entries of
    //    lost droplets. Deleting it drains, demotes, has the node leave (over the VPC, with the
    //    key on stdin: the delete gets the stdin stored with it) and removes it, before its
    //    droplet goes, from a manager, so it also works when the node itself is already gone.
    //    Manager entries are chained so scale-downs demote one manager at a time.
    let previousManagerRegister: pulumi.Resource | undefined;
    const registers = nodes.map((n, i) => {
      const nodeId =
        i === 0 ? tokens.apply((t) => t.nodeId) : joins[i]!.stdout.apply((s) => s.trim());
      const register = new command.remote.Command(
        `${name}-${n.key}-register`,
        {
          connection: this.managerConnection,
          create: nodeId.apply((id) => scriptCommand("node-register.sh", [id, ...n.labels])),
          delete: nodeId.apply((id) => scriptCommand("node-remove.sh", [id])),
          stdin: keyOnStdin,
          logging: "stderr",
          addPreviousOutputInEnv: false, // see the join above
        },
        {
          parent: this,
          additionalSecretOutputs: ["stderr", "stdin"],
          dependsOn: [
            assignment,
            joins[i] ?? init,
            ...(n.role === "manager" && previousManagerRegister ? [previousManagerRegister] : []),
          ],
        },
      );
      if (n.role === "manager") previousManagerRegister = register;
      return register;
    });
    this.ready = registers;

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
      .getSizesOutput({ filters: [{ key: "slug", values: sizes }] }, parent)
      .sizes.apply((all) =>
        monthlyCost(nodes, Object.fromEntries(all.map((s) => [s.slug, s.priceMonthly]))),
      );

    this.registerOutputs({
      reservedIp: this.reservedIp,
      clusterId: this.clusterId,
      managers: this.managers,
      workers: this.workers,
      faultTolerance: this.faultTolerance,
      estimatedMonthlyCostUsd: this.estimatedMonthlyCostUsd,
    });
  }
}
