/**
 * The cluster's front door (README, "The entry point"):
 * - the reserved IP, the admin path (`pulumi up`, SSH, DOCKER_HOST) in both modes and the
 *   visitors' entry with `entryPoint: reservedIp`; with a failover token it follows a healthy
 *   manager (failover.ts), otherwise it stays on manager-0;
 * - with `entryPoint: loadBalancer`, a DigitalOcean Load Balancer in the VPC in front of every
 *   node (by the cluster tag), a Let's Encrypt certificate for the https domains;
 * - an A record per domain, to whichever of the two visitors use.
 */
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";
import type { DomainConfig, EntryPointKind, LoadBalancerSettings } from "./config";
import {
  certificateName,
  dnsRecords,
  forwardingRules,
  healthCheck,
  httpsNames,
  missingZones,
  redirectsHttpToHttps,
} from "./entryPointPlan";
import type { PublicPort } from "../core/firewall";

/**
 * What the load balancer needs of the swarm's network (swarm/network.ts's ClusterNetwork fits):
 * written here, as the entry point is on a floor below the swarm (docs/architecture.md).
 */
export interface LoadBalancerNetwork {
  vpc: digitalocean.Vpc;
  /** The tag every node of the cluster carries. */
  clusterTag: digitalocean.Tag;
}

/**
 * The reserved IP, created on manager-0 by the provider (no ReservedIpAssignment).
 *
 * Why this shape: a `ReservedIpAssignment` is read back as deleted once the IP sits on another
 * droplet (its Read drops it), so after a failover a `pulumi refresh` forgets it and the next
 * `up` creates it again: the IP is pulled back to manager-0, onto the droplet that failed. The
 * ReservedIp's own `dropletId` is read back as the droplet that holds the IP now, and with
 * `ignoreChanges: ["dropletId"]` the program's "manager-0" only counts at creation: a refresh
 * records where the agent put the IP, an `up` leaves it there, and nothing in the program can
 * move it (terraform-provider-digitalocean, resource_reserved_ip.go: dropletId is neither
 * ForceNew nor Computed; an update of it is an assign). Without the agent nothing moves the IP,
 * and `dropletId` is followed as before: a replaced manager-0 gets the IP on its new droplet.
 */
export function createReservedIp(
  name: string,
  region: string,
  firstManager: digitalocean.Droplet,
  followsHealthyManager: boolean,
  parent: pulumi.Resource,
): digitalocean.ReservedIp {
  return new digitalocean.ReservedIp(
    `${name}-reserved-ip`,
    { region, dropletId: firstManager.id.apply(Number) },
    { parent, ignoreChanges: followsHealthyManager ? ["dropletId"] : [] },
  );
}

export interface LoadBalancerArgs {
  region: string;
  settings: LoadBalancerSettings;
  publicPorts: readonly PublicPort[];
  domains: readonly DomainConfig[];
  /**
   * The zone check (checkZones): the certificate and the load balancer wait for it. A
   * Let's Encrypt certificate whose zone is missing would stay pending until the provider's
   * 10-minute create timeout. @default nothing to wait for
   */
  zonesChecked?: Promise<pulumi.Resource[]>;
}

export interface LoadBalancerEntry {
  loadBalancer: digitalocean.LoadBalancer;
  certificate?: digitalocean.Certificate;
}

export function createLoadBalancer(
  name: string,
  network: LoadBalancerNetwork,
  args: LoadBalancerArgs,
  parent: pulumi.Resource,
): LoadBalancerEntry {
  const names = httpsNames(args.domains);
  const zonesChecked = args.zonesChecked ?? Promise.resolve([]);
  // DigitalOcean issues and renews it (the DNS challenge needs the zones in its DNS). The name
  // changes with the set of names, so a replacement is created before the old one is deleted,
  // and the rule refers to it by name: a renewal changes the certificate's id, not its name.
  const certificate =
    names.length === 0
      ? undefined
      : new digitalocean.Certificate(
          `${name}-certificate`,
          { name: certificateName(name, names), type: "lets_encrypt", domains: names },
          { parent, deleteBeforeReplace: false, dependsOn: zonesChecked },
        );
  const lbAfter: Promise<pulumi.Resource[]> = zonesChecked.then((r) => [...r, network.clusterTag]);
  const loadBalancer = new digitalocean.LoadBalancer(
    `${name}-lb`,
    {
      name: `${name}-lb`,
      region: args.region,
      vpcUuid: network.vpc.id,
      // By tag: a node added by a scale-out is behind it with no change here.
      dropletTag: network.clusterTag.name,
      sizeUnit: args.settings.sizeUnit,
      forwardingRules: forwardingRules(args.settings, args.publicPorts, certificate?.name),
      healthcheck: healthCheck(args.settings, args.publicPorts),
      // Only when every domain is https: the redirect applies to every host (redirectsHttpToHttps).
      redirectHttpToHttps: certificate !== undefined && redirectsHttpToHttps(args.domains),
      // The A records are the program's own (one per domain, to this load balancer).
      disableLetsEncryptDnsRecords: true,
    },
    { parent, dependsOn: lbAfter },
  );
  return { loadBalancer, certificate };
}

/**
 * Fails with the fix when a domain's zone is not in the account's DigitalOcean DNS. Resolves to
 * no resources: the droplets, the certificate, the load balancer and the DNS records take it as
 * a dependency (the firewall in load-balancer mode too, through the load balancer's id), so none
 * of them is created before it passes (`pulumi preview` runs the lookup too and fails the same
 * way). Call it once per cluster: one lookup, one error. A plain promise, not an
 * Output: its one rejection is the program's error, with no derived promises left unhandled.
 */
export async function checkZones(
  domains: readonly DomainConfig[],
  parent: pulumi.Resource,
): Promise<pulumi.Resource[]> {
  if (domains.length === 0) return [];
  const found = await digitalocean.getDomains({}, { parent });
  const problems = missingZones(
    domains,
    (found.domains ?? []).map((d) => d.name),
  );
  if (problems.length > 0) {
    throw new Error(
      `do-swarm configuration has ${problems.length} problem(s):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
  }
  return [];
}

/** An A record per domain, to the address visitors use, once the zone check has passed. */
export function createDnsRecords(
  name: string,
  domains: readonly DomainConfig[],
  target: pulumi.Output<string>,
  parent: pulumi.Resource,
  zonesChecked: Promise<pulumi.Resource[]> = Promise.resolve([]),
): digitalocean.DnsRecord[] {
  return dnsRecords(domains).map(
    (r) =>
      new digitalocean.DnsRecord(
        `${name}-dns-${r.key}`,
        { domain: r.zone, type: "A", name: r.name, value: target, ttl: r.ttl },
        { parent, dependsOn: zonesChecked },
      ),
  );
}

/** Which address visitors use in each mode. */
export const visitorAddress = (
  kind: EntryPointKind,
  reservedIp: pulumi.Output<string>,
  lb: digitalocean.LoadBalancer | undefined,
) => (kind === "loadBalancer" && lb !== undefined ? lb.ip : reservedIp);
