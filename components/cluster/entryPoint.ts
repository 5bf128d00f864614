/** The cluster's entry point: a reserved IP, assigned to manager-0. */
import * as pulumi from "@pulumi/pulumi";
import * as digitalocean from "@pulumi/digitalocean";

export interface EntryPoint {
  /** The address users and `pulumi up` reach the swarm at. */
  address: pulumi.Output<string>;
  /** What must exist before anything reaches the swarm through `address`. */
  ready: pulumi.Resource[];
}

export function createEntryPoint(
  name: string,
  region: string,
  firstManager: digitalocean.Droplet,
  parent: pulumi.Resource,
): EntryPoint {
  const reservedIp = new digitalocean.ReservedIp(`${name}-reserved-ip`, { region }, { parent });
  const assignment = new digitalocean.ReservedIpAssignment(
    `${name}-reserved-ip-assignment`,
    { ipAddress: reservedIp.ipAddress, dropletId: firstManager.id.apply(Number) },
    { parent },
  );
  return { address: reservedIp.ipAddress, ready: [assignment] };
}
