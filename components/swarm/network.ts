/** The cluster's network: its VPC, its tags, the uploaded SSH key, and the tag firewall. */
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import { inboundRules, outboundRules, PublicPort } from "../core/firewall";
import { allTags, NodePlan } from "../core/nodes";
import { DEFAULTS } from "./config";

export interface ClusterNetworkArgs {
  region: string;
  sshPublicKey: pulumi.Input<string>;
  /** @default "10.110.0.0/20" */
  vpcIpRange?: string;
}

export interface ClusterNetwork {
  vpc: digitalocean.Vpc;
  /** Every tag the nodes carry, by name. */
  tags: Map<string, digitalocean.Tag>;
  /** The tag every node of the cluster carries (the firewall's and the load balancer's). */
  clusterTag: digitalocean.Tag;
  sshKey: digitalocean.SshKey;
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
  return { vpc, tags, clusterTag, sshKey };
}

export interface ClusterFirewallArgs {
  /** @default ["0.0.0.0/0", "::/0"] */
  adminCidrs?: string[];
  /** @default [] */
  publicPorts?: PublicPort[];
  /**
   * A load balancer in front: the published ports admit only it.
   * @default undefined (published ports open to the internet)
   */
  loadBalancer?: digitalocean.LoadBalancer;
}

export function createFirewall(
  name: string,
  network: ClusterNetwork,
  args: ClusterFirewallArgs,
  parent: pulumi.Resource,
): digitalocean.Firewall {
  return new digitalocean.Firewall(
    `${name}-firewall`,
    {
      name,
      tags: [network.clusterTag.name],
      inboundRules: inboundRules<pulumi.Input<string>>({
        clusterTag: name,
        adminCidrs: args.adminCidrs ?? [...DEFAULTS.adminCidrs],
        publicPorts: args.publicPorts ?? [],
        loadBalancerUid: args.loadBalancer?.id,
      }),
      outboundRules: outboundRules(),
    },
    { parent, dependsOn: [network.clusterTag] },
  );
}
