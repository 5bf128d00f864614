/**
 * SSH from the machine running Pulumi, through the OpenSSH client (which every such machine has),
 * with the program's key in a private temp file that is gone when the command ends. Its own
 * module so tests can stand in for it (jest.mock) while the code calling it stays the program's.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

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
