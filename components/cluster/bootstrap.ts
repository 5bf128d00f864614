/**
 * The swarm's bootstrap, as remote commands over SSH (scripts in ../scripts):
 * 1. every node waits for cloud-init and Docker, in parallel;
 * 2. manager-0 creates the swarm (or joins its live peers when it is a replacement);
 * 3. the other managers join one at a time, the workers in parallel;
 * 4. each node is registered (labels, stale entries) from a manager through the entry point;
 *    deleting a registration drains, demotes, leaves and removes the node.
 */
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import * as command from "@pulumi/command";
import { DEFAULTS } from "../config";
import { NodePlan } from "../nodes";
import { scriptCommand, withFinalNewline } from "../remote";

export type Connection = command.types.input.remote.ConnectionArgs;

/** How every command logs in: as root with the program's key, patient while a droplet boots. */
export function sshConnection(
  host: pulumi.Input<string>,
  privateKey: pulumi.Input<string>,
  dialAttempts: number,
): Connection {
  return {
    host,
    user: "root",
    privateKey: pulumi.secret(privateKey),
    dialErrorLimit: dialAttempts,
    perDialTimeout: 10,
  };
}

export interface BootstrapArgs {
  sshPrivateKey: pulumi.Input<string>;
  /** @default 60 */
  sshDialAttempts?: number;
  /** @default "10.200.0.0/16" */
  overlayAddressPool?: string;
  /** The connection to "a manager", through the entry point. */
  managerConnection: Connection;
  /** What must exist before a node's first command (the final firewall). */
  firewall: pulumi.Resource;
  /** What must exist before anything goes through the entry point. */
  entryPointReady: pulumi.Resource[];
  /**
   * By node index, what else the node's registration waits for (its volume mounted, see
   * volumes.ts); its delete then runs before theirs. @default none
   */
  registerAfter?: readonly (readonly pulumi.Resource[])[];
}

export interface Bootstrap {
  /** The registrations: once they exist, every node is in the swarm with its labels. */
  registers: command.remote.Command[];
  /** The swarm's ID: it changes only when the swarm is created anew. */
  clusterId: pulumi.Output<string>;
}

export function bootstrapSwarm(
  name: string,
  nodes: readonly NodePlan[],
  droplets: readonly digitalocean.Droplet[],
  args: BootstrapArgs,
  parent: pulumi.Resource,
): Bootstrap {
  const connection = (host: pulumi.Input<string>) =>
    sshConnection(host, args.sshPrivateKey, args.sshDialAttempts ?? 60);
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
        },
        { parent, dependsOn: [args.firewall] },
      ),
  );

  // 2. manager-0 creates the swarm; its stdout (the join tokens) is secret and never logged.
  //    A replaced manager-0 joins its live peers instead, with a token fetched with the key.
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
    { parent, dependsOn: [ready[0]], additionalSecretOutputs: ["stdout", "stdin"] },
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
  const clusterId = pulumi.unsecret(tokens.apply((t) => t.clusterId));

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
        stdin: tokens.apply((t) => (n.role === "manager" ? t.managerToken : t.workerToken) + "\n"),
        logging: "stderr",
      },
      {
        parent,
        dependsOn: [ready[i], n.role === "manager" ? previousManager : init],
        additionalSecretOutputs: ["stdin"],
      },
    );
    joins[i] = join;
    if (n.role === "manager") previousManager = join;
  });

  // 4. On a manager (through the entry point): wait Ready, apply labels, drop stale entries of
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
        connection: args.managerConnection,
        create: nodeId.apply((id) => scriptCommand("node-register.sh", [id, ...n.labels])),
        delete: nodeId.apply((id) => scriptCommand("node-remove.sh", [id])),
        stdin: keyOnStdin,
        logging: "stderr",
      },
      {
        parent,
        additionalSecretOutputs: ["stdin"],
        dependsOn: [
          ...args.entryPointReady,
          joins[i] ?? init,
          ...(n.role === "manager" && previousManagerRegister ? [previousManagerRegister] : []),
          ...(args.registerAfter?.[i] ?? []),
        ],
      },
    );
    if (n.role === "manager") previousManagerRegister = register;
    return register;
  });
  return { registers, clusterId };
}
