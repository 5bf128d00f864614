/**
 * The rolling-resize cycle on the lab (issue 5), driven by the program's own hook functions
 * (components/maintenance.ts) and scripts, exactly as `pulumi up` would after a size change of
 * every node: the engine starts every droplet update at once; the hooks serialise them, drain,
 * hand the reserved IP away and back, and reactivate. The provider's resize (power off, resize,
 * power on) is the lab's power off and on of that host. A poller watches the lab service and
 * the control plane the whole time.
 *
 *   ts-node tests/lab/maintenance.ts --hosts HOSTS.json --key KEY --reserved-ip ADDR
 *     --service NAME --replicas N [--poll-seconds 1] [--skip HOST ...] [--only HOST ...]
 *
 * Prints the minimum number of running tasks seen and whether quorum was ever lost; exits 1
 * when the service dropped below N-1, quorum was lost, or any step failed.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { maintenanceHooks, MaintenanceLock, MaintenanceOps } from "../../components/maintenance";
import { sshRun, SshTarget } from "../../components/maintenanceOps";
import { planNodes } from "../../components/nodes";

interface Host {
  name: string;
  public: string;
  private: string;
}

const arg = (flag: string, fallback?: string) => {
  const i = process.argv.indexOf(flag);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`${flag} is required`);
  return v;
};
const LAB_SH = path.join(__dirname, "lab.sh");
const lab = (script: string) =>
  execFileSync("bash", ["-c", `set -euo pipefail; . "${LAB_SH}"; ${script}`], {
    stdio: ["ignore", "inherit", "inherit"],
  });
const stamp = () => new Date().toISOString().slice(11, 19);
const say = (m: string) => console.log(`    [${stamp()}] ${m}`);

async function main() {
  // --skip NAME: a host the scenarios already removed from the cluster.
  const skipped = process.argv.flatMap((a, i) => (process.argv[i - 1] === "--skip" ? [a] : []));
  // --only NAME: resize only these nodes this run (the others are not updated, as when only
  // their size changed); the lab's edge scenario resizes one node per run for per-node figures.
  const only = process.argv.flatMap((a, i) => (process.argv[i - 1] === "--only" ? [a] : []));
  const allHosts: Host[] = JSON.parse(fs.readFileSync(arg("--hosts"), "utf8"));
  const hosts = allHosts.filter((h) => !skipped.includes(h.name));
  const key = fs.readFileSync(arg("--key"), "utf8");
  const reservedIp = arg("--reserved-ip");
  const service = arg("--service");
  const replicas = Number(arg("--replicas"));
  const pollMs = Number(arg("--poll-seconds", "1")) * 1000;
  const managers = hosts.filter((h) => h.name.includes("-manager-")).length;
  const nodes = planNodes("lab", {
    managers: { count: managers, size: "s-1vcpu-2gb" },
    workers: [{ name: "worker", count: hosts.length - managers, size: "s-1vcpu-1gb" }],
  });
  // Lab host indexes are positions in the full hosts.json (lab.sh numbers hosts that way).
  const hostIndex = (name: string) => allHosts.findIndex((h) => h.name === name);
  const dropletId = (name: string) => 1000 + hostIndex(name);
  for (const n of nodes) if (hostIndex(n.name) < 0) throw new Error(`no lab host for ${n.name}`);

  const entry: SshTarget = { host: reservedIp, user: "root", privateKey: key };
  let holder = dropletId("lab-manager-0");
  const ops: MaintenanceOps = {
    onManager: (command) => sshRun(entry, command, { connectAttempts: 6, onStderr: (l) => say(l) }),
    reservedIpHolder: async () => holder,
    // DigitalOcean routes the reserved IP to its new droplet; the lab moves the address.
    assignReservedIp: async (id) => {
      const from = holder - 1000;
      const to = id - 1000;
      lab(
        `ip -n "$(lab_ns ${from})" addr del ${reservedIp}/24 dev eth0 2>/dev/null || true; ` +
          `lab_add_address ${to} ${reservedIp}; ip neigh flush to ${reservedIp} || true`,
      );
      holder = id;
      say(`reserved IP ${reservedIp} now on ${allHosts[to].name}`);
    },
    log: (m) => say(m),
    warn: (m) => say(`WARNING ${m}`),
  };
  const ctx = {
    nodes,
    managerDropletIds: async () =>
      nodes.filter((n) => n.role === "manager").map((n) => dropletId(n.name)),
    ops,
    lock: new MaintenanceLock(),
    timeoutSeconds: 240,
  };

  // The poller: running tasks of the service and whether the managers answer (quorum).
  let minRunning = Number.POSITIVE_INFINITY;
  let quorumLost = 0;
  let polls = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      try {
        const out = await sshRun(
          entry,
          // Exit 7: this manager cannot list nodes, i.e. the swarm has no leader (no quorum).
          `docker node ls -q >/dev/null 2>&1 || exit 7; docker service ps ${service} --filter desired-state=running --format '{{.CurrentState}}' | grep -c '^Running' || true`,
          { connectAttempts: 1 },
        );
        const running = Number(out.trim());
        polls++;
        minRunning = Math.min(minRunning, running);
      } catch (e) {
        // ssh failing (the IP moving) is not a verdict; `docker node ls` failing on a manager is.
        if (/\(exit 7\)/.test(String(e))) quorumLost++;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  })();

  // The engine: every droplet's update starts at once; the hooks bracket the provider's resize.
  const t0 = Date.now();
  const failures: string[] = [];
  const resized = nodes.filter((n) => only.length === 0 || only.includes(n.name));
  await Promise.all(
    resized.map(async (node) => {
      const hooks = maintenanceHooks(node, ctx);
      const u = {
        id: String(dropletId(node.name)),
        oldInputs: { size: "s-1vcpu-1gb" },
        newInputs: { size: "s-2vcpu-2gb" },
      };
      try {
        await hooks.before(u);
        say(`${node.name}: powering off for the resize`);
        lab(`lab_power_off ${hostIndex(node.name)}; sleep 2; lab_power_on ${hostIndex(node.name)}`);
        await hooks.after(u);
        say(`${node.name}: resized and active`);
      } catch (e) {
        hooks.failed();
        failures.push(`${node.name}: ${(e as Error).message}`);
      }
    }),
  );
  polling = false;
  await poller;
  const seconds = Math.round((Date.now() - t0) / 1000);

  console.log(
    `    resized ${resized.length} nodes one at a time in ${seconds} s; min running tasks of ${service}: ` +
      `${minRunning} of ${replicas} over ${polls} polls; polls without quorum: ${quorumLost}`,
  );
  const problems = [...failures];
  if (holder !== dropletId("lab-manager-0"))
    problems.push("the reserved IP did not return to lab-manager-0");
  if (!(minRunning >= replicas - 1))
    problems.push(`the service dropped to ${minRunning} running tasks (< ${replicas - 1})`);
  if (quorumLost > 0) problems.push(`${quorumLost} polls found no quorum`);
  if (polls === 0) problems.push("no poll succeeded");
  for (const p of problems) console.log(`    CHECK FAILED: ${p}`);
  process.exit(problems.length === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
