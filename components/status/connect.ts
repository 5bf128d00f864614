/**
 * How `npm run status` and `npm run logs` reach a manager: the stack's outputs and config through
 * the Pulumi CLI (so a teammate who has the stack, and its passphrase or Pulumi Cloud login,
 * needs no SSH set-up of their own), or what the options name. The SSH key comes from the
 * stack's secret config into a private temp file that is deleted on exit; it never appears in
 * an argument list or a log.
 */
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { shellQuote } from "../core/remote";

export interface ConnectOptions {
  /** The Pulumi stack (`pulumi -s`). @default the selected stack */
  stack?: string;
  /** A manager's address. @default `pulumi stack output reservedIp` */
  host?: string;
  /** A private key file. @default `pulumi config get sshPrivateKey`, into a temp file */
  keyFile?: string;
  /** known_hosts for this connection. @default ssh's own (~/.ssh/known_hosts) */
  knownHosts?: string;
}

/** Parses the options both commands share; the rest of argv is returned untouched. */
export function parseConnectOptions(argv: string[]): { opts: ConnectOptions; rest: string[] } {
  const opts: ConnectOptions = {};
  const rest: string[] = [];
  const value = (flag: string, v: string | undefined) => {
    if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--stack") opts.stack = value(a, argv[++i]);
    else if (a === "--host") opts.host = value(a, argv[++i]);
    else if (a === "--key") opts.keyFile = value(a, argv[++i]);
    else if (a === "--known-hosts") opts.knownHosts = value(a, argv[++i]);
    else rest.push(a);
  }
  return { opts, rest };
}

export const CONNECT_USAGE =
  "  --stack NAME        the Pulumi stack (default: the selected one)\n" +
  "  --host ADDR         a manager's address (default: pulumi stack output reservedIp)\n" +
  "  --key FILE          the SSH private key (default: the stack's secret sshPrivateKey)\n" +
  "  --known-hosts FILE  known_hosts for this connection (default: ssh's own)\n";

function pulumi(args: string[], stack?: string): string {
  const r = spawnSync("pulumi", [...args, ...(stack ? ["--stack", stack] : [])], {
    encoding: "utf8",
  });
  if (r.error || r.status !== 0) {
    throw new Error(
      `pulumi ${args.join(" ")} failed: ${(r.stderr || r.error?.message || "").trim()} ` +
        "(is the Pulumi CLI installed and logged in to the stack's backend? or pass --host and --key)",
    );
  }
  return r.stdout.trim();
}

/** A stack output, as JSON. */
export function stackOutput(name: string, stack?: string): unknown {
  return JSON.parse(pulumi(["stack", "output", name, "--json"], stack));
}

export interface Connection {
  host: string;
  /** ssh's arguments up to (and with) the destination. */
  sshArgs: string[];
  /** Deletes the temp key, if one was made. */
  close(): void;
}

export function connect(opts: ConnectOptions): Connection {
  const host = opts.host ?? String(stackOutput("reservedIp", opts.stack));
  let keyFile = opts.keyFile;
  let tmp: string | undefined;
  if (keyFile === undefined) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-key-"));
    keyFile = path.join(tmp, "key");
    const key = pulumi(["config", "get", "sshPrivateKey"], opts.stack);
    fs.writeFileSync(keyFile, key.endsWith("\n") ? key : key + "\n", { mode: 0o600 });
  }
  const sshArgs = [
    "-i",
    keyFile,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "StrictHostKeyChecking=accept-new",
    ...(opts.knownHosts ? ["-o", `UserKnownHostsFile=${opts.knownHosts}`] : []),
    "-o",
    "LogLevel=ERROR",
    `root@${host}`,
  ];
  return {
    host,
    sshArgs,
    close: () => {
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Runs a script on the manager (sent on stdin to `bash -s`); its output. */
export function runRemote(
  c: Connection,
  script: string,
  args: readonly string[] = [],
): SpawnSyncReturns<string> {
  return spawnSync("ssh", [...c.sshArgs, "bash", "-s", "--", ...args.map(shellQuote)], {
    input: script,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
}
