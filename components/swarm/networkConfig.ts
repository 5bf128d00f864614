/** Config of the network: who may reach the nodes, and the private ranges. */
import { isValidCidr } from "../core/cidr";
import { Fail } from "../core/config";

export const NETWORK_DEFAULTS = {
  adminCidrs: ["0.0.0.0/0", "::/0"],
  vpcIpRange: "10.110.0.0/20",
  overlayAddressPool: "10.200.0.0/16",
} as const;

export interface NetworkSettings {
  adminCidrs: string[];
  vpcIpRange: string;
  overlayAddressPool: string;
}

/** Checks adminCidrs, vpcIpRange and overlayAddressPool (and that the two ranges are disjoint). */
export function validateNetwork(
  raw: { adminCidrs?: unknown; vpcIpRange?: unknown; overlayAddressPool?: unknown },
  fail: Fail,
): NetworkSettings {
  const adminCidrs = raw.adminCidrs ?? NETWORK_DEFAULTS.adminCidrs;
  if (!Array.isArray(adminCidrs) || adminCidrs.length === 0) {
    fail(
      "adminCidrs",
      adminCidrs,
      'give a non-empty list of CIDRs allowed to SSH, e.g. ["203.0.113.7/32"]',
    );
  } else {
    adminCidrs.forEach((c, i) => {
      if (typeof c !== "string" || !isValidCidr(c)) {
        fail(`adminCidrs[${i}]`, c, "use a CIDR such as 203.0.113.7/32 or 2001:db8::/32");
      }
    });
  }

  const vpcIpRange = raw.vpcIpRange ?? NETWORK_DEFAULTS.vpcIpRange;
  const overlayAddressPool = raw.overlayAddressPool ?? NETWORK_DEFAULTS.overlayAddressPool;
  for (const [key, value] of [
    ["vpcIpRange", vpcIpRange],
    ["overlayAddressPool", overlayAddressPool],
  ] as const) {
    if (typeof value !== "string" || !isValidCidr(value) || value.includes(":")) {
      fail(key, value, "use a private IPv4 CIDR such as 10.110.0.0/20");
    }
  }
  if (
    typeof vpcIpRange === "string" &&
    typeof overlayAddressPool === "string" &&
    isValidCidr(vpcIpRange) &&
    isValidCidr(overlayAddressPool) &&
    !`${vpcIpRange}${overlayAddressPool}`.includes(":") &&
    cidrsOverlap(vpcIpRange, overlayAddressPool)
  ) {
    fail(
      "overlayAddressPool",
      overlayAddressPool,
      `it overlaps vpcIpRange ${vpcIpRange}; overlay networks would shadow the droplets' private addresses: pick a disjoint range`,
    );
  }
  return {
    adminCidrs: adminCidrs as string[],
    vpcIpRange: vpcIpRange as string,
    overlayAddressPool: overlayAddressPool as string,
  };
}

/** Whether two IPv4 CIDRs share any address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const range = (c: string) => {
    const [ip, bits] = c.split("/");
    const n = ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
    const size = 2 ** (32 - Number(bits));
    const start = n - (n % size);
    return [start, start + size - 1];
  };
  const [a0, a1] = range(a);
  const [b0, b1] = range(b);
  return a0 <= b1 && b0 <= a1;
}
