/**
 * The swarm's bootstrap, as remote commands over SSH (scripts in ./scripts):
 * 1. every node waits for cloud-init and Docker, in parallel;
 * 2. manager-0 creates the swarm (or joins its live peers when it is a replacement);
 * 3. the other managers join one at a time, the workers in parallel;
 * 4. each node is registered (labels, stale entries) from a manager through the entry point;
 *    deleting a registration drains, demotes, leaves and removes the node.
 */
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import * as command from "@pulumi/command";
import { SWARM_SCRIPTS } from "./cloudInit";
import { DEFAULTS } from "./config";
import { NodePlan } from "../core/nodes";
import { Connection, scriptCommand, sshConnection, withFinalNewline } from "../core/remote";

export type { Connection } from "../core/remote";

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
          create: scriptCommand("node-ready.sh", [], SWARM_SCRIPTS),
          addPreviousOutputInEnv: false, // see the join below
        },
        { parent, dependsOn: [args.firewall] },
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
          scriptCommand(
            "swarm-init.sh",
            [self, args.overlayAddressPool ?? DEFAULTS.overlayAddressPool, ...peers],
            SWARM_SCRIPTS,
          ),
        ),
      stdin: keyOnStdin,
      logging: "stderr",
      // The provider would otherwise send the previous stdout (the tokens) as an SSH
      // environment request on every re-run; sshd drops it, but it need not travel at all.
      addPreviousOutputInEnv: false,
    },
    { parent, dependsOn: [ready[0]], additionalSecretOutputs: ["stdout", "stderr", "stdin"] },
  );
  // 2b. The swarm's identity, read on manager-0 by a command of its own. Why not init's stdout:
  //     whenever init's inputs change (a manager's IP, the key, an edit of swarm-init.sh), the
  //     engine marks ALL its outputs unknown in preview, and every join, registration and deploy
  //     that took them would show `~ update` with unknown values while `up` changes nothing.
  //     This command's inputs change only with manager-0's droplet (its address) or the key, and
  //     then re-reading the IDs is what `up` does. Init's stdout (the tokens) is read by nobody.
  const swarmId = new command.remote.Command(
    `${name}-swarm-id`,
    {
      connection: connection(droplets[0].ipv4Address),
      create: scriptCommand("swarm-id.sh", [], SWARM_SCRIPTS),
      logging: "stderr",
      addPreviousOutputInEnv: false, // see the join below
    },
    { parent, dependsOn: [init] },
  );
  const ids = swarmId.stdout.apply((s) => JSON.parse(s) as { nodeId: string; clusterId: string });
  const manager0NodeId = ids.apply((i) => i.nodeId);
  const clusterId = ids.apply((i) => i.clusterId);

  // 3. Other managers join ONE AT A TIME (each waits for the previous one to be in the raft);
  //    workers join IN PARALLEL, each needing only the swarm and itself. The join token is
  //    fetched by the script from a manager over the VPC with the key (stdin); the command names
  //    the swarm's ID, so a swarm created anew (its only manager lost) makes every node join it.
  const joins: (command.remote.Command | undefined)[] = [];
  let previousManager: pulumi.Resource = swarmId;
  nodes.forEach((n, i) => {
    if (i === 0) return;
    const join = new command.remote.Command(
      `${name}-${n.key}-join`,
      {
        connection: connection(droplets[i].ipv4Address),
        create: pulumi
          .all([clusterId, privateIps[i], ...managerIps])
          .apply(([swarm, self, ...ms]) =>
            [
              `# do-swarm: join swarm ${swarm}`,
              scriptCommand(
                "swarm-join.sh",
                [n.role, self, ...ms.filter((m) => m !== self)],
                SWARM_SCRIPTS,
              ),
            ].join("\n"),
          ),
        stdin: keyOnStdin,
        logging: "stderr",
        // By default the provider sends the previous stdout and stderr as SSH environment
        // requests (PULUMI_COMMAND_STDOUT/STDERR) on every update and delete; stock sshd
        // refuses them (AcceptEnv LANG LC_*) and the provider warns each time. No script
        // reads them.
        addPreviousOutputInEnv: false,
      },
      {
        parent,
        dependsOn: [ready[i], n.role === "manager" ? previousManager : swarmId],
        // Not stdout: it is the node ID, which the register command's readable diff shows.
        additionalSecretOutputs: ["stderr", "stdin"],
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
  //    A REPLACED droplet (`pulumi up --replace`, a region change) is a new swarm node under the
  //    same name, while the old droplet lives on until the engine deletes it after every create
  //    and update: updating the registration would leave the old node in the swarm (a Down
  //    raft member, for a manager, once its droplet goes). So the registration is replaced with
  //    its droplet (triggers: the droplet's id), deleting the old one first: its delete runs
  //    node-remove.sh for the OLD node (drain, demote, leave, rm) while the old droplet still
  //    runs, after the new node has joined (the registration waits for its join). The engine
  //    deletes nothing else first: only dependents through inputs are replaced with it
  //    (step_generator.go calculateDependentReplacements), and the stacks and the next
  //    manager's registration depend on it through dependsOn only.
  let previousManagerRegister: pulumi.Resource | undefined;
  const registers = nodes.map((n, i) => {
    const nodeId = i === 0 ? manager0NodeId : joins[i]!.stdout.apply((s) => s.trim());
    const register = new command.remote.Command(
      `${name}-${n.key}-register`,
      {
        connection: args.managerConnection,
        create: nodeId.apply((id) =>
          scriptCommand("node-register.sh", [id, ...n.labels], SWARM_SCRIPTS),
        ),
        delete: nodeId.apply((id) => scriptCommand("node-remove.sh", [id], SWARM_SCRIPTS)),
        stdin: keyOnStdin,
        logging: "stderr",
        addPreviousOutputInEnv: false, // see the join above
        triggers: [droplets[i].id],
      },
      {
        parent,
        deleteBeforeReplace: true,
        additionalSecretOutputs: ["stderr", "stdin"],
        dependsOn: [
          ...args.entryPointReady,
          joins[i] ?? swarmId,
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
