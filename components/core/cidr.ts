import * as net from "net";

/** Whether `c` is an IPv4 or IPv6 CIDR (address/prefix) with a prefix that fits the family. */
export function isValidCidr(c: string): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(c);
  if (!m) return false;
  const family = net.isIP(m[1]);
  const bits = Number(m[2]);
  return (family === 4 && bits <= 32) || (family === 6 && bits <= 128);
}
