/**
 * One inbound or outbound rule, in the shape `digitalocean.Firewall` takes. `L` is how a load
 * balancer's id is given (a string here, an Output where the component wires it).
 */
export interface FirewallRule<L = string> {
  protocol: "tcp" | "udp" | "icmp";
  portRange?: string;
  sourceAddresses?: string[];
  sourceTags?: string[];
  sourceLoadBalancerUids?: L[];
  destinationAddresses?: string[];
}

/** A port a stack publishes to the internet. */
export interface PublicPort {
  port: number;
  protocol: "tcp" | "udp";
  /** Which stack/service publishes it: named in errors. */
  source?: string;
}

const ANYWHERE = ["0.0.0.0/0", "::/0"];

/** Swarm's own ports: cluster-internal only, never at the perimeter. */
export const SWARM_PORTS: readonly { port: number; protocol: "tcp" | "udp"; use: string }[] = [
  { port: 2377, protocol: "tcp", use: "swarm cluster management (managers)" },
  { port: 7946, protocol: "tcp", use: "swarm node gossip" },
  { port: 7946, protocol: "udp", use: "swarm node gossip" },
  { port: 4789, protocol: "udp", use: "overlay network VXLAN data" },
];

/** Ports no stack may publish: SSH is admin-only, swarm is internal, 2375/2376 is the Docker API. */
const FORBIDDEN_PUBLIC: readonly { port: number; why: string }[] = [
  { port: 22, why: "SSH is reachable only from adminCidrs" },
  { port: 2375, why: "it is the unauthenticated Docker API: anyone reaching it owns the node" },
  {
    port: 2376,
    why: "it is the Docker API (TLS); reach Docker over SSH instead (DOCKER_HOST=ssh://...)",
  },
  ...SWARM_PORTS.map((p) => ({
    port: p.port,
    why: `it is ${p.use}, which must stay inside the cluster`,
  })),
];

/** Problems with ports stacks want to publish; empty when all are fine. */
export function checkPublicPorts(ports: readonly PublicPort[]): string[] {
  const problems: string[] = [];
  for (const p of ports) {
    const bad = FORBIDDEN_PUBLIC.find((f) => f.port === p.port);
    if (bad) {
      problems.push(
        `${p.source ?? "a stack"} publishes ${p.port}/${p.protocol}, which cannot be opened to the internet: ${bad.why}. Publish the service on another port.`,
      );
    } else if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      problems.push(
        `${p.source ?? "a stack"} publishes port ${p.port}, which is not a TCP/UDP port (1-65535)`,
      );
    }
  }
  return problems;
}

/**
 * The cluster's inbound rules: SSH from the admins and from the cluster's own droplets, swarm
 * ports only between the cluster's own droplets (by tag, so new nodes are covered without a
 * firewall change), ICMP for path-MTU and diagnostics, and exactly the ports the stacks publish.
 * DigitalOcean firewalls deny everything not listed, including VPC traffic between droplets.
 */
export function inboundRules<L = string>(args: {
  clusterTag: string;
  adminCidrs: readonly string[];
  publicPorts: readonly PublicPort[];
  /**
   * With a load balancer in front, the published ports admit only it (its id), never the
   * internet. @default undefined: published ports are open to 0.0.0.0/0 and ::/0
   */
  loadBalancerUid?: L;
}): FirewallRule<L>[] {
  const rules: FirewallRule<L>[] = [
    // SSH between nodes lets a manager, handed the program's key on stdin for one step, reach a
    // peer over the VPC: a replaced manager-0 fetches a join token, a removed node leaves the
    // swarm. One rule with both sources: DigitalOcean merges same-port rules, which would diff.
    {
      protocol: "tcp",
      portRange: "22",
      sourceAddresses: [...args.adminCidrs],
      sourceTags: [args.clusterTag],
    },
    ...SWARM_PORTS.map((p): FirewallRule<L> => ({
      protocol: p.protocol,
      portRange: String(p.port),
      sourceTags: [args.clusterTag],
    })),
    { protocol: "icmp", sourceAddresses: [...ANYWHERE] },
  ];
  // One rule per distinct port/protocol, in a stable order so an unchanged set never diffs.
  const distinct = new Map<string, PublicPort>();
  for (const p of args.publicPorts) distinct.set(`${p.protocol}/${p.port}`, p);
  const ports = [...distinct.values()].sort(
    (a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol),
  );
  const lb = args.loadBalancerUid;
  for (const p of ports) {
    rules.push(
      lb === undefined
        ? { protocol: p.protocol, portRange: String(p.port), sourceAddresses: [...ANYWHERE] }
        : { protocol: p.protocol, portRange: String(p.port), sourceLoadBalancerUids: [lb] },
    );
  }
  return rules;
}

/** Outbound is open: nodes pull images, packages and reach their peers. */
export function outboundRules(): FirewallRule[] {
  return (["tcp", "udp"] as const)
    .map((protocol): FirewallRule => ({
      protocol,
      portRange: "1-65535",
      destinationAddresses: [...ANYWHERE],
    }))
    .concat([{ protocol: "icmp", destinationAddresses: [...ANYWHERE] }]);
}
