/**
 * The rolling-resize cycle on the lab (issues 5 and 14), as `pulumi up` runs it after a size
 * change of every node: the REAL program (index.ts) runs under the engine-order driver
 * (tests/engine/engine.ts), which starts every droplet's update at once, calls the hooks the
 * program registered through the SDK's callback server, and answers each droplet only after its
 * after hooks, as the engine does. The hooks are the program's, with the context the program
 * builds (components/swarm/droplets.ts): its operations SSH to the lab hosts with the lab key
 * and call DigitalOcean's API at the lab's stand-in (tests/lab/do-api.ts, by
 * DIGITALOCEAN_API_URL), which lists the lab hosts as droplets by tag and moves the reserved
 * IP's stand-in address between hosts when an assign action completes.
 *
 * Not the program's own, and why: the engine (no Pulumi CLI can run here; the driver keeps the
 * engine's order, see engine.ts), DigitalOcean's API (the stand-in behaves as documented:
 * actions that take time, 422 while one is pending), and the provider's resize (the lab powers
 * the host off and on, as DigitalOcean does around a resize).
 *
 *   ts-node tests/lab/maintenance.ts --hosts HOSTS.json --key KEY --reserved-ip ADDR
 *     --service NAME --replicas N [--poll-seconds 1] [--skip HOST ...] [--only HOST ...]
 *     [--max-unavailable M]
 *
 * Prints the minimum number of running tasks seen, the most workers in maintenance at once and
 * whether quorum was ever lost; exits 1 when the service dropped below N-1 (N-M with the worker
 * pool's maxUnavailable M: the surge-less worst case of a batch), more than M workers (1
 * without it) were in maintenance at once, quorum was lost, or any step failed.
 */
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { sshRun, SshTarget } from "../../components/maintenance/maintenanceOps";
import { startEngine } from "../engine/engine";
import { fakeCloud } from "../harness";
import { startDoApi, StandInDroplet } from "./do-api";

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
/** The same, without blocking this process (the poller and the API stand-in keep running). */
const labAsync = (script: string) =>
  new Promise<void>((resolve, reject) => {
    const child = execFile("bash", ["-c", `set -euo pipefail; . "${LAB_SH}"; ${script}`], (e) =>
      e ? reject(e) : resolve(),
    );
    child.stdout?.pipe(process.stderr);
    child.stderr?.pipe(process.stderr);
  });
const stamp = () => new Date().toISOString().slice(11, 19);
const say = (m: string) => console.error(`    [${stamp()}] ${m}`);

async function main() {
  // --skip NAME: a host the scenarios already removed from the cluster.
  const skipped = process.argv.flatMap((a, i) => (process.argv[i - 1] === "--skip" ? [a] : []));
  // --only NAME: resize only these nodes this run (the others keep their size, so the engine
  // does not update them); the lab's edge scenario resizes one node per run for per-node figures.
  const only = process.argv.flatMap((a, i) => (process.argv[i - 1] === "--only" ? [a] : []));
  const allHosts: Host[] = JSON.parse(fs.readFileSync(arg("--hosts"), "utf8"));
  const hosts = allHosts.filter((h) => !skipped.includes(h.name));
  const keyFile = arg("--key");
  const key = fs.readFileSync(keyFile, "utf8");
  const reservedIp = arg("--reserved-ip");
  const service = arg("--service");
  const replicas = Number(arg("--replicas"));
  const pollMs = Number(arg("--poll-seconds", "1")) * 1000;
  // The worker pool's maxUnavailable (a count), as the user would set it.
  const maxUnavailable = process.argv.includes("--max-unavailable")
    ? Number(arg("--max-unavailable"))
    : undefined;
  const managers = hosts.filter((h) => h.name.includes("-manager-")).length;
  const workers = hosts.length - managers;
  const byName = new Map(allHosts.map((h) => [h.name, h]));
  // Lab host indexes are positions in the full hosts.json (lab.sh numbers hosts that way).
  const hostIndex = (name: string) => allHosts.findIndex((h) => h.name === name);

  // DigitalOcean's API, as the lab's stand-in: the droplets are the lab hosts, filled in as the
  // program registers them (with the ids the engine gives them); the reserved IP is on manager-0.
  const token = "lab-token";
  const droplets: StandInDroplet[] = [];
  const idToHost = new Map<number, string>();
  const api = await startDoApi({
    token,
    droplets,
    reservedIps: [{ ip: reservedIp, region: "fra1" }],
    actionSeconds: 3,
    log: say,
    // The action completed: DigitalOcean now routes the IP to the new droplet.
    onMove: async (ip, from, to) => {
      const f = from === undefined ? undefined : hostIndex(idToHost.get(from)!);
      const t = to === undefined ? undefined : hostIndex(idToHost.get(to)!);
      lab(
        (f === undefined
          ? ""
          : `ip -n "$(lab_ns ${f})" addr del ${ip}/24 dev eth0 2>/dev/null || true; `) +
          (t === undefined ? "" : `lab_add_address ${t} ${ip}; `) +
          `ip neigh flush to ${ip} || true`,
      );
      say(`reserved IP ${ip} now on ${t === undefined ? "nothing" : allHosts[t].name}`);
    },
  });
  process.env.DIGITALOCEAN_API_URL = api.url;
  process.env.DIGITALOCEAN_TOKEN = token;

  // Keep Pulumi's mock log on stderr with a timestamp (the program's own messages).
  console.log = (...a: unknown[]) => say(a.map(String).join(" "));

  const previous: Record<string, Record<string, unknown>> = {};
  const resized = hosts.filter((h) => only.length === 0 || only.includes(h.name));
  for (const h of hosts)
    previous[h.name] = { size: resized.includes(h) ? "s-1vcpu-1gb" : "s-2vcpu-2gb" };
  const cloud = fakeCloud();
  let poweredOff = 0;
  let maxOff = 0;
  const engine = await startEngine({
    config: {
      "do-swarm:clusterName": "lab",
      "do-swarm:region": "fra1",
      "do-swarm:managers": JSON.stringify({ count: managers, size: "s-2vcpu-2gb" }),
      "do-swarm:workers": JSON.stringify([
        {
          name: "worker",
          count: workers,
          size: "s-2vcpu-2gb",
          labels: { tier: "app" },
          ...(maxUnavailable !== undefined ? { maxUnavailable } : {}),
        },
      ]),
      "do-swarm:sshPublicKey": fs.readFileSync(`${keyFile}.pub`, "utf8").trim(),
      "do-swarm:sshPrivateKey": key,
    },
    previous,
    fake: (type, _name, inputs) => {
      if (type === "digitalocean:index/droplet:Droplet") {
        const h = byName.get(inputs.name as string);
        if (!h)
          throw new Error(
            `the program wants droplet ${inputs.name}, which the lab has no host for`,
          );
        return { ipv4Address: h.public, ipv4AddressPrivate: h.private };
      }
      if (type === "digitalocean:index/reservedIp:ReservedIp") return { ipAddress: reservedIp };
      if (type === "digitalocean:index/sshKey:SshKey") return { fingerprint: "lab" };
      // The commands are not run (none changes); what they printed last time, in form.
      return cloud(type, _name, inputs);
    },
    onRegister: ({ type, id, state }) => {
      if (type !== "digitalocean:index/droplet:Droplet") return;
      const h = byName.get(String(state.name))!;
      droplets.push({
        id: Number(id),
        name: h.name,
        tags: state.tags as string[],
        publicIp: h.public,
        privateIp: h.private,
      });
      idToHost.set(Number(id), h.name);
      api.setDroplets(droplets);
      if (h.name === "lab-manager-0") api.assignNow(reservedIp, Number(id));
    },
    // DigitalOcean's resize: the droplet is powered off, resized, powered on.
    providerUpdate: async (step) => {
      poweredOff++;
      maxOff = Math.max(maxOff, poweredOff);
      say(`${step.name}: powering off for the resize (provider update)`);
      await labAsync(
        `lab_power_off ${hostIndex(step.name)}; sleep 2; lab_power_on ${hostIndex(step.name)}`,
      );
      poweredOff--;
    },
  });

  // The poller: running tasks of the service and whether the managers answer (quorum).
  const entry: SshTarget = { host: reservedIp, user: "root", privateKey: key };
  let minRunning = Number.POSITIVE_INFINITY;
  // Workers drained or not Ready at once (in maintenance), the most seen.
  let maxWorkersOut = 0;
  let quorumLost = 0;
  let polls = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      try {
        const out = await sshRun(
          entry,
          // Exit 7: this manager cannot list nodes, i.e. the swarm has no leader (no quorum).
          `docker node ls -q >/dev/null 2>&1 || exit 7; docker service ps ${service} --filter desired-state=running --format '{{.CurrentState}}' | grep -c '^Running' || true; ` +
            `docker node ls --filter role=worker --format '{{.Hostname}} {{.Status}} {{.Availability}}'`,
          { connectAttempts: 1 },
        );
        const [first, ...nodes] = out.trim().split("\n");
        const running = Number(first);
        polls++;
        minRunning = Math.min(minRunning, running);
        // Only the workers this run resizes: another may be out for an earlier scenario's reason.
        const out2 = nodes
          .map((l) => l.trim().split(/\s+/))
          .filter(([name]) => resized.some((h) => h.name === name))
          .filter(([, status, availability]) => status !== "Ready" || availability !== "Active");
        maxWorkersOut = Math.max(maxWorkersOut, out2.length);
      } catch (e) {
        // ssh failing (the IP moving) is not a verdict; `docker node ls` failing on a manager is.
        if (/\(exit 7\)/.test(String(e))) quorumLost++;
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  })();

  const t0 = Date.now();
  await import("../../index");
  let timedOut: string | undefined;
  await engine.finished(1800_000).catch((e: Error) => (timedOut = e.message));
  polling = false;
  await poller;
  await api.idle();
  const seconds = Math.round((Date.now() - t0) / 1000);

  const m0 = droplets.find((d) => d.name === "lab-manager-0")!.id;
  const assigns = api.calls.filter((c) =>
    c.startsWith(`POST /v2/reserved_ips/${reservedIp}/actions`),
  );
  console.error(
    `    resized ${engine.steps.size} nodes in ${seconds} s (at most ${maxOff} powered off at once); ` +
      `reserved-IP actions: ${assigns.length}; min running tasks of ${service}: ` +
      `${minRunning} of ${replicas} over ${polls} polls; at most ${maxWorkersOut} worker(s) in ` +
      `maintenance at once (maxUnavailable ${maxUnavailable ?? "1, the default"}); polls without quorum: ${quorumLost}`,
  );
  const problems: string[] = [];
  if (timedOut) problems.push(timedOut);
  for (const [name, s] of engine.steps) if (s !== "ok") problems.push(`${name}: ${s}`);
  if (engine.steps.size !== resized.length)
    problems.push(`${engine.steps.size} droplet updates, expected ${resized.length}`);
  const batch = maxUnavailable ?? 1;
  if (maxOff > batch) problems.push(`${maxOff} hosts were powered off at once (> ${batch})`);
  if (maxWorkersOut > batch)
    problems.push(`${maxWorkersOut} workers were in maintenance at once (> ${batch})`);
  if (api.holder(reservedIp) !== m0)
    problems.push("the reserved IP did not return to lab-manager-0");
  // The IP moves away and back only when its holder, manager-0, is resized.
  const expectedAssigns = resized.some((h) => h.name === "lab-manager-0") ? 2 : 0;
  if (assigns.length !== expectedAssigns)
    problems.push(`${assigns.length} reserved-IP assigns, expected ${expectedAssigns}`);
  if (!(minRunning >= replicas - batch))
    problems.push(`the service dropped to ${minRunning} running tasks (< ${replicas - batch})`);
  if (quorumLost > 0) problems.push(`${quorumLost} polls found no quorum`);
  if (polls === 0) problems.push("no poll succeeded");
  for (const p of problems) console.error(`    CHECK FAILED: ${p}`);
  await api.close();
  process.exit(problems.length === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
