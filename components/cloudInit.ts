import { stringify } from "yaml";

export interface UserDataArgs {
  /** Docker Engine version to install and hold: "28.5" (newest 28.5.x) or "28.5.2". */
  dockerVersion: string;
  /** Maximum size of one container log file before rotation. @default "10m" */
  logMaxSize?: string;
  /** Rotated log files kept per container. @default 5 */
  logMaxFiles?: number;
}

/**
 * Docker's daemon settings for a swarm node. Log rotation keeps container logs from filling the
 * disk. `live-restore` stays off: Docker refuses to start in swarm mode with it on.
 */
export function daemonJson(args: UserDataArgs): Record<string, unknown> {
  return {
    "log-driver": "json-file",
    "log-opts": { "max-size": args.logMaxSize ?? "10m", "max-file": String(args.logMaxFiles ?? 5) },
  };
}

/** sshd hardening: keys only. Root keeps key login because the program bootstraps as root. */
export const SSHD_HARDENING = [
  "# Written by do-swarm cloud-init: keys only, no passwords.",
  "PasswordAuthentication no",
  "KbdInteractiveAuthentication no",
  "PermitRootLogin prohibit-password",
  "MaxAuthTries 3",
  "",
].join("\n");

/**
 * Installs Docker Engine from Docker's apt repository at the newest release matching the pinned
 * version, then holds the packages so unattended upgrades never restart every node's engine at
 * once. Fails cloud-init (and so node-ready.sh) when the version does not exist.
 */
export function installDockerScript(dockerVersion: string): string {
  // [.] rather than \. : awk -v would turn the backslash escape into a plain "any character".
  const pattern = `^5:${dockerVersion.replace(/\./g, "[.]")}[.-]`;
  return [
    "set -eu",
    "install -m 0755 -d /etc/apt/keyrings",
    "curl -fsSL --retry 5 https://download.docker.com/linux/ubuntu/gpg -o /etc/apt/keyrings/docker.asc",
    "chmod a+r /etc/apt/keyrings/docker.asc",
    "# shellcheck source=/dev/null",
    '. /etc/os-release && echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/ubuntu $VERSION_CODENAME stable" > /etc/apt/sources.list.d/docker.list',
    "apt-get update -q",
    `v=$(apt-cache madison docker-ce | awk -v p='${pattern}' '$3 ~ p { print $3; exit }')`,
    `[ -n "$v" ] || { echo "do-swarm: Docker Engine ${dockerVersion} is not in Docker's apt repository" >&2; exit 1; }`,
    'DEBIAN_FRONTEND=noninteractive apt-get install -y -q "docker-ce=$v" "docker-ce-cli=$v" containerd.io docker-buildx-plugin',
    "apt-mark hold docker-ce docker-ce-cli containerd.io",
    "systemctl enable --now docker",
  ].join("\n");
}

/** The `#cloud-config` every node boots with. Pure: same input, same bytes. */
export function renderUserData(args: UserDataArgs): string {
  const config = {
    package_update: true,
    packages: ["ca-certificates", "curl"],
    ssh_pwauth: false,
    write_files: [
      {
        path: "/etc/docker/daemon.json",
        permissions: "0644",
        content: JSON.stringify(daemonJson(args), null, 2) + "\n",
      },
      {
        path: "/etc/ssh/sshd_config.d/60-do-swarm.conf",
        permissions: "0644",
        content: SSHD_HARDENING,
      },
      {
        path: "/usr/local/sbin/do-swarm-install-docker",
        permissions: "0755",
        content: "#!/bin/sh\n" + installDockerScript(args.dockerVersion) + "\n",
      },
    ],
    runcmd: [["/usr/local/sbin/do-swarm-install-docker"], ["systemctl", "reload", "ssh"]],
  };
  return "#cloud-config\n" + stringify(config, { lineWidth: 0 });
}
