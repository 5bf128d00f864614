/**
 * The reserved IP follows a healthy manager: the agent (scripts/failover-agent.sh) on every
 * manager, installed over SSH once the node is in the swarm. One agent decides: the raft
 * leader's, or, when the holder that went silent was the leader, the lowest-named manager left
 * (the head of the script says why).
 *
 * The token travels on the command's stdin (secret in the state and the preview, never in the
 * command line, `ps` or the logs) into a root-only file on the managers, and nowhere else: a
 * worker never gets it. A changed token, agent or setting re-runs the install in place (no
 * trigger, no droplet replaced). There is no `delete` step: it would have to reach a droplet
 * that may be gone; the agent removes itself and its token once its node has left the swarm
 * (which removing a node makes it do, node-remove.sh), and a deleted droplet takes its disk.
 */
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import * as command from "@pulumi/command";
import {
  agentInstallArgs,
  DIGITALOCEAN_API_URL,
  ENTRY_POINT_SCRIPTS,
  FailoverTiming,
} from "./entryPointPlan";
import { NodePlan } from "../core/nodes";
import { scriptCommand, sshConnection } from "../core/remote";

export interface FailoverArgs extends FailoverTiming {
  /** A DigitalOcean token with reserved_ip:update and tag:read (README: the failover token). Secret. */
  token: pulumi.Input<string>;
  reservedIp: pulumi.Output<string>;
  /** The tag only the cluster's managers carry: where the agent looks for candidates. */
  managerTag: string;
  /** DigitalOcean's API (another address only for a stand-in). @default "https://api.digitalocean.com" */
  apiUrl?: string;
  sshPrivateKey: pulumi.Input<string>;
  /** @default 60 */
  sshDialAttempts?: number;
}

export function installFailoverAgents(
  name: string,
  nodes: readonly NodePlan[],
  droplets: readonly digitalocean.Droplet[],
  /** Per node: once it exists, the node is in the swarm (its registration). */
  inSwarm: readonly pulumi.Resource[],
  args: FailoverArgs,
  parent: pulumi.Resource,
): command.remote.Command[] {
  const stdin = pulumi.secret(pulumi.output(args.token).apply((t) => `${t.trim()}\n`));
  return nodes.flatMap((n, i) =>
    n.role !== "manager"
      ? []
      : [
          new command.remote.Command(
            `${name}-${n.key}-failover-agent`,
            {
              connection: sshConnection(
                droplets[i].ipv4Address,
                args.sshPrivateKey,
                args.sshDialAttempts ?? 60,
              ),
              create: args.reservedIp.apply((ip) =>
                scriptCommand(
                  "failover-agent.sh",
                  agentInstallArgs(ip, args.apiUrl ?? DIGITALOCEAN_API_URL, args.managerTag, args),
                  ENTRY_POINT_SCRIPTS,
                ),
              ),
              stdin,
              logging: "stderr",
              addPreviousOutputInEnv: false,
            },
            { parent, dependsOn: [inSwarm[i]], additionalSecretOutputs: ["stdin"] },
          ),
        ],
  );
}
