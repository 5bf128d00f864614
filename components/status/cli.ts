/**
 * `npm run status -- [options]`: one screen of the live cluster (nodes, services per stack,
 * failing tasks, the reserved IP's holder and the raft leader, each https host's certificate),
 * read over SSH from a manager. Exits 1 when something is degraded (report.ts says what counts),
 * 2 when the cluster could not be read, so CI can use it.
 */
import * as tls from "tls";
import * as path from "path";
import { readScript } from "../core/remote";
import {
  connect,
  CONNECT_USAGE,
  ConnectOptions,
  parseConnectOptions,
  runRemote,
  stackOutput,
} from "./connect";
import { CertStatus, judge, parseCollected, renderReport } from "./report";

export const STATUS_SCRIPTS = path.join(__dirname, "scripts");

const USAGE =
  "usage: npm run status -- [options]\n" +
  "Shows the cluster's nodes, services, failing tasks, entry point and certificates; exits 1\n" +
  "when something is degraded, 2 when the cluster could not be read.\n" +
  CONNECT_USAGE +
  "  --no-certs          skip the certificate checks (by default each https URL of the\n" +
  "                      stack's `urls` output is checked at the entry point)\n" +
  "  --url URL           check this URL's certificate (repeatable; instead of `urls`)\n" +
  "  --entry ADDR        the address the certificates are checked at (default: entryPoint)\n" +
  "The reserved IP's holder is asked of DigitalOcean when DIGITALOCEAN_TOKEN is set\n" +
  "(DIGITALOCEAN_API_URL overrides the API's address).\n";

interface StatusArgs {
  connect: ConnectOptions;
  certs: boolean;
  urls?: string[];
  entry?: string;
}

export function parseStatusArgs(argv: string[]): StatusArgs | "help" {
  const { opts, rest } = parseConnectOptions(argv);
  const args: StatusArgs = { connect: opts, certs: true };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--help" || a === "-h") return "help";
    else if (a === "--no-certs") args.certs = false;
    else if (a === "--url" && rest[i + 1] !== undefined) (args.urls ??= []).push(rest[++i]);
    else if (a === "--entry" && rest[i + 1] !== undefined) args.entry = rest[++i];
    else throw new Error(`unknown option ${a}`);
  }
  return args;
}

/** The certificate `host` is served at `address`:443, and how many days it has left. */
export function checkCertificate(
  address: string,
  host: string,
  timeoutMs = 10000,
): Promise<CertStatus> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: address, port: 443, servername: host, timeout: timeoutMs });
    const done = (c: CertStatus) => {
      socket.destroy();
      resolve(c);
    };
    socket.once("secureConnect", () => {
      const cert = socket.getPeerCertificate();
      const days = Math.floor((Date.parse(cert.valid_to) - Date.now()) / 86400000);
      done({ host, daysLeft: days });
    });
    socket.once("timeout", () => done({ host, error: "no answer within 10 s" }));
    socket.once("error", (e: Error) => done({ host, error: e.message }));
  });
}

/** The droplet the reserved IP points at, from DigitalOcean's API; undefined without a token. */
async function reservedIpHolder(ip: string): Promise<string | undefined> {
  const token = process.env.DIGITALOCEAN_TOKEN;
  if (!token) return undefined;
  const api = process.env.DIGITALOCEAN_API_URL ?? "https://api.digitalocean.com";
  try {
    const r = await fetch(`${api}/v2/reserved_ips/${ip}`, {
      headers: { Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10000),
    });
    if (!r.ok) return `unknown (DigitalOcean answered ${r.status})`;
    const body = (await r.json()) as { reserved_ip?: { droplet?: { name?: string } | null } };
    return body.reserved_ip?.droplet?.name ?? "no droplet";
  } catch (e) {
    return `unknown (${(e as Error).message})`;
  }
}

export async function main(argv: string[]): Promise<number> {
  let args: StatusArgs | "help";
  try {
    args = parseStatusArgs(argv);
  } catch (e) {
    process.stderr.write(`status: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  let conn;
  try {
    conn = connect(args.connect);
  } catch (e) {
    process.stderr.write(`status: ${(e as Error).message}\n`);
    return 2;
  }
  try {
    const r = runRemote(conn, readScript("status-collect.sh", STATUS_SCRIPTS));
    if (r.status !== 0) {
      process.stderr.write(
        `status: could not read the swarm through ${conn.host} (ssh exit ${r.status}): ${(r.stderr ?? "").trim()}\n`,
      );
      return 2;
    }
    const collected = parseCollected(r.stdout);
    let certs: CertStatus[] = [];
    if (args.certs) {
      const urls =
        args.urls ?? (stackOutput("urls", args.connect.stack) as string[] | undefined) ?? [];
      const https = urls.filter((u) => u.startsWith("https://"));
      if (https.length > 0) {
        const entry = args.entry ?? String(stackOutput("entryPoint", args.connect.stack));
        certs = await Promise.all(https.map((u) => checkCertificate(entry, new URL(u).hostname)));
      }
    }
    const report = judge(collected, { holder: await reservedIpHolder(conn.host), certs });
    process.stdout.write(renderReport(report));
    return report.problems.length === 0 ? 0 : 1;
  } finally {
    conn.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`status: ${e.message}\n`);
      process.exit(2);
    },
  );
}
