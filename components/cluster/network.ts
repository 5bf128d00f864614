/** The cluster's network: its VPC, its tags, the uploaded SSH key and the tag firewall. */
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import { inboundRules, outboundRules, PublicPort } from "../firewall";
import { allTags, NodePlan } from "../nodes";
import { DEFAULTS } from "../config";

export interface ClusterNetworkArgs {
  region: string;
  sshPublicKey: pulumi.Input<string>;
  /** @default ["0.0.0.0/0", "::/0"] */
  adminCidrs?: string[];
  /** @default [] */
  publicPorts?: PublicPort[];
  /** @default "10.110.0.0/20" */
  vpcIpRange?: string;
}

export interface ClusterNetwork {
  vpc: digitalocean.Vpc;
  /** Every tag the nodes carry, by name. */
  tags: Map<string, digitalocean.Tag>;
  sshKey: digitalocean.SshKey;
  firewall: digitalocean.Firewall;
}

export function createNetwork(
  name: string,
  nodes: readonly NodePlan[],
  args: ClusterNetworkArgs,
  parent: pulumi.Resource,
): ClusterNetwork {
  const vpc = new digitalocean.Vpc(
    `${name}-vpc`,
    { name: `${name}-vpc`, region: args.region, ipRange: args.vpcIpRange ?? DEFAULTS.vpcIpRange },
    { parent },
  );
  const tags = new Map(
    allTags(name, nodes).map((t) => [
      t,
      new digitalocean.Tag(`${name}-tag-${t}`, { name: t }, { parent }),
    ]),
  );
  const clusterTag = tags.get(name)!;
  const sshKey = new digitalocean.SshKey(
    `${name}-ssh-key`,
    { name, publicKey: args.sshPublicKey },
    { parent },
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
    { parent, dependsOn: [clusterTag] },
  );
  return { vpc, tags, sshKey, firewall };
}
