/**
 * The real side effects of rolling maintenance: SSH to the cluster's entry point with the
 * program's key (through the OpenSSH client, which every machine running Pulumi has), and the
 * DigitalOcean API for the reserved IP. Nothing here logs a key or a token.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MaintenanceOps } from "./maintenance";

export interface SshTarget {
  host: string;
  user: string;
  privateKey: string;
}

/**
 * Runs `command` over SSH with `stdin`, the way @pulumi/command does (the remote login shell
 * runs it). Retries only connection failures (ssh exits 255), e.g. while a droplet reboots.
 */
export async function sshRun(
  target: SshTarget,
  command: string,
  opts: { stdin?: string; connectAttempts?: number; onStderr?: (line: string) => void } = {},
): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-ssh-"));
  const key = path.join(dir, "key");
  fs.writeFileSync(
    key,
    target.privateKey.endsWith("\n") ? target.privateKey : target.privateKey + "\n",
    { mode: 0o600 },
  );
  try {
    const attempts = opts.connectAttempts ?? 30;
    for (let attempt = 1; ; attempt++) {
      const { code, stdout, stderr } = await new Promise<{
        code: number;
        stdout: string;
        stderr: string;
      }>((resolve, reject) => {
        const child = spawn(
          "ssh",
          [
            "-i",
            key,
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            // Droplets are new, and the reserved IP moves between them: their host keys cannot
            // be known in advance (the same trade-off @pulumi/command makes).
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ConnectTimeout=10",
            // A node that dies mid-command (a resize powers droplets off) must fail the
            // session within seconds, not hang it until TCP gives up.
            "-o",
            "ServerAliveInterval=5",
            "-o",
            "ServerAliveCountMax=3",
            `${target.user}@${target.host}`,
            command,
          ],
          { stdio: ["pipe", "pipe", "pipe"] },
        );
        let out = "";
        let err = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => {
          err += d.toString();
          d.toString()
            .split("\n")
            .filter(Boolean)
            .forEach((l) => opts.onStderr?.(l));
        });
        child.on("error", reject);
        child.on("close", (c) => resolve({ code: c ?? 1, stdout: out, stderr: err }));
        child.stdin.end(opts.stdin ?? "");
      });
      if (code === 0) return stdout;
      if (code === 255 && attempt < attempts) {
        await new Promise((r) => setTimeout(r, 5000));
        continue;
      }
      const tail = stderr.trim().split("\n").slice(-5).join("\n");
      throw new Error(`command on ${target.host} failed (exit ${code}):\n${tail}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Minimal DigitalOcean API client for the reserved IP. */
export function reservedIpApi(token: string, ip: string, fetchFn: typeof fetch = fetch) {
  const call = async (method: string, url: string, body?: object) => {
    const res = await fetchFn(`https://api.digitalocean.com/v2${url}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok)
      throw new Error(`DigitalOcean API ${method} ${url}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  return {
    async holder(): Promise<number | undefined> {
      const r = (await call("GET", `/reserved_ips/${ip}`)) as {
        reserved_ip: { droplet?: { id: number } | null };
      };
      return r.reserved_ip.droplet?.id ?? undefined;
    },
    async assign(dropletId: number, timeoutSeconds = 180): Promise<void> {
      const r = (await call("POST", `/reserved_ips/${ip}/actions`, {
        type: "assign",
        droplet_id: dropletId,
      })) as {
        action: { id: number };
      };
      const deadline = Date.now() + timeoutSeconds * 1000;
      for (;;) {
        const a = (await call("GET", `/reserved_ips/${ip}/actions/${r.action.id}`)) as {
          action: { status: string };
        };
        if (a.action.status === "completed") return;
        if (a.action.status === "errored")
          throw new Error(`assigning ${ip} to droplet ${dropletId} failed`);
        if (Date.now() > deadline)
          throw new Error(
            `assigning ${ip} to droplet ${dropletId} did not finish in ${timeoutSeconds}s`,
          );
        await new Promise((res) => setTimeout(res, 3000));
      }
    },
  };
}

/** The operations a real `pulumi up` uses, from values the program resolves lazily. */
export function realMaintenanceOps(args: {
  target: () => Promise<SshTarget>;
  reservedIp: () => Promise<string>;
  token: () => string | undefined;
  log: (m: string) => void;
  warn: (m: string) => void;
}): MaintenanceOps {
  const api = async () => {
    const token = args.token();
    if (!token)
      throw new Error(
        "moving the reserved IP needs the DigitalOcean token (digitalocean:token or DIGITALOCEAN_TOKEN)",
      );
    return reservedIpApi(token, await args.reservedIp());
  };
  return {
    onManager: async (command) => sshRun(await args.target(), command, { onStderr: args.log }),
    reservedIpHolder: async () => (await api()).holder(),
    assignReservedIp: async (id) => (await api()).assign(id),
    log: args.log,
    warn: args.warn,
  };
}
