import * as path from "path";
import { stringify } from "yaml";
import { readScript } from "../core/remote";

/** The swarm's scripts: the installer here, the bootstrap's (swarm/bootstrap.ts), lib/ they source. */
export const SWARM_SCRIPTS = path.join(__dirname, "scripts");

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
 *
 * Swarm's raft election timeout (10-20 s after the leader is lost) cannot be shortened here:
 * dockerd's config struct has `swarm-raft-election-tick`, but no flag, and daemon.json keys
 * without a flag are refused (moby v28.5.2 daemon/config/config.go, findConfigurationConflicts:
 * "the following directives don't match any configuration option"; the lab's dockerd refused to
 * start with them). The failover agent works around the wait instead (failover-agent.sh).
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

/** Where cloud-init puts the installer (components/swarm/scripts/install-docker.sh). */
export const INSTALLER_PATH = "/usr/local/lib/do-swarm/install-docker.sh";
/** The Docker version the installer reads when run without one (node-ready.sh's retry). */
export const DOCKER_VERSION_PATH = "/etc/do-swarm/docker-version";

/**
 * What cloud-init runs once, at first boot, as ONE `/bin/sh` script (cc_runcmd joins the items
 * with util.shellify, which adds no `set -e`): its exit status is cloud-init's verdict.
 * - `set -eu` first, so a failed step fails the script (and `cloud-init status`), not just the
 *   last one.
 * - sshd: write_files has put the drop-in in place in the network stage, which runs
 *   Before=sshd.service; on Ubuntu 24.04 sshd is socket-activated (ssh.socket) and usually not
 *   started yet, and `systemctl reload ssh` FAILS on an inactive unit. `try-reload-or-restart`
 *   reloads a running sshd (an image that started it early) and does nothing otherwise: the next
 *   connection starts sshd with the drop-in read. It runs before the install so the hardening
 *   applies even when the install fails.
 * - The install last: one script of its own (set -euo pipefail, marker written last).
 */
export const RUNCMD: readonly (string | readonly string[])[] = [
  "set -eu",
  ["systemctl", "try-reload-or-restart", "ssh.service"],
  [INSTALLER_PATH],
];

/** The `#cloud-config` every node boots with. Pure: same input, same bytes. */
export function renderUserData(args: UserDataArgs): string {
  const config = {
    // No `packages:`/`package_update:`: cloud-init's apt step waits 30 s for the dpkg lock,
    // which unattended-upgrades holds for minutes on a fresh droplet. The installer installs
    // what it needs (ca-certificates, curl) waiting for the lock itself.
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
      { path: DOCKER_VERSION_PATH, permissions: "0644", content: `${args.dockerVersion}\n` },
      {
        path: INSTALLER_PATH,
        permissions: "0755",
        content: readScript("install-docker.sh", SWARM_SCRIPTS),
      },
    ],
    runcmd: RUNCMD,
  };
  return "#cloud-config\n" + stringify(config, { lineWidth: 0 });
}
