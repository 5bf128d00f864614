/**
 * Prints the remote commands the REAL program (index.ts) would run against the lab hosts, as a
 * plan for tests/lab/replay.ts. It runs index.ts under Pulumi mocks with the lab's addresses as
 * the droplets' IPs, records every `command:remote:Command` (host, create, update, delete,
 * stdin, triggers and what replaces it, dependencies) in the order the engine would register them, and leaves the values only
 * known at run time (join tokens, node IDs) as placeholders the replay fills from the stdout of
 * the commands it ran: {{stdout:NAME}} and {{stdout:NAME|json:FIELD}}.
 *
 *   npx ts-node --transpile-only tests/lab/plan.ts --hosts HOSTS.json [--key KEY]
 *     [--managers 3] [--workers 2] [--stack NAME=FILE[,OVERRIDE...] ...] [--env STACK.VAR=VALUE ...]
 *     [--stack-timeout STACK=SECONDS ...]
 *     [--reserved-ip ADDR] [--failover-token-file FILE --api-url URL] [--domains JSON] [--edge JSON]
 *     [--volume-gb N [--restore-from SNAPSHOT]] [--do-api URL]
 *
 * --volume-gb gives the worker pool a volume per node; --do-api points the program's
 * DigitalOcean steps (and the lookups the provider would make: a volume's current size, a
 * snapshot by name) at the lab's stand-in (do-volumes.ts), with the lab's device path.
 * Local commands (the volumes' restore points) are recorded with host "local"; the Volume and
 * VolumeAttachment resources under "volumes", for do-volumes.ts to create as the provider would.
 *
 * HOSTS.json: [{"name": "lab-manager-0", "public": "10.77.0.10", "private": "10.78.0.10"}, ...]
 */
import * as fs from "fs";
import * as path from "path";
import { recordProgram, reveal } from "../harness";
import { LAB_DEVICE_PREFIX, LAB_TOKEN, PlanVolume } from "./do-volumes";

interface Host {
  name: string;
  public: string;
  private: string;
}

function parseArgs(argv: string[]) {
  const opts = {
    hosts: "",
    key: path.join(__dirname, ".run", "id_ed25519"),
    managers: 3,
    workers: 2,
    stacks: [] as {
      name: string;
      file: string | string[];
      env: Record<string, string>;
      timeoutSeconds?: number;
    }[],
    env: [] as string[],
    reservedIp: undefined as string | undefined,
    failoverTokenFile: undefined as string | undefined,
    apiUrl: undefined as string | undefined,
    /** do-swarm:domains and do-swarm:edge as JSON, as `pulumi config set --path` would hold them. */
    domains: undefined as string | undefined,
    edge: undefined as string | undefined,
    volumeGb: undefined as number | undefined,
    restoreFrom: undefined as string | undefined,
    doApi: undefined as string | undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${argv[i - 1]} needs a value`);
      return v;
    };
    switch (argv[i]) {
      case "--hosts":
        opts.hosts = value();
        break;
      case "--key":
        opts.key = value();
        break;
      case "--managers":
        opts.managers = Number(value());
        break;
      case "--workers":
        opts.workers = Number(value());
        break;
      case "--reserved-ip":
        opts.reservedIp = value();
        break;
      case "--failover-token-file":
        opts.failoverTokenFile = value();
        break;
      case "--api-url":
        opts.apiUrl = value();
        break;
      case "--volume-gb":
        opts.volumeGb = Number(value());
        break;
      case "--restore-from":
        opts.restoreFrom = value();
        break;
      case "--do-api":
        opts.doApi = value();
        break;
      case "--stack": {
        // NAME=FILE, or NAME=BASE,OVERRIDE,... merged in order as `docker stack deploy -c ... -c ...`.
        const [name, spec] = value().split("=");
        const files = spec
          .split(",")
          .map((f) => path.relative(path.resolve(__dirname, "../.."), path.resolve(f)));
        opts.stacks.push({ name, file: files.length === 1 ? files[0] : files, env: {} });
        break;
      }
      case "--domains":
        opts.domains = value();
        break;
      case "--edge":
        opts.edge = value();
        break;
      case "--env":
        opts.env.push(value());
        break;
      case "--stack-timeout": {
        const [name, seconds] = value().split("=");
        const stack = opts.stacks.find((s) => s.name === name);
        if (!stack) throw new Error(`--stack-timeout ${name}: give its --stack first`);
        stack.timeoutSeconds = Number(seconds);
        break;
      }
      default:
        throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  for (const e of opts.env) {
    const m = /^([^.]+)\.([^=]+)=(.*)$/.exec(e);
    const stack = m && opts.stacks.find((s) => s.name === m[1]);
    if (!m || !stack)
      throw new Error(`--env ${e}: expected STACK.VAR=VALUE for a --stack given before`);
    stack.env[m[2]] = m[3];
  }
  if (!opts.hosts) throw new Error("--hosts HOSTS.json is required");
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const hosts: Host[] = JSON.parse(fs.readFileSync(opts.hosts, "utf8"));
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const manager0 = byName.get("lab-manager-0");
  if (!manager0) throw new Error("hosts.json has no lab-manager-0");
  const reservedIp = opts.reservedIp ?? manager0.public;

  // What the provider's data sources would answer, asked of the stand-in like DigitalOcean.
  const doGet = async (p: string) => {
    const res = await fetch(`${opts.doApi}${p}`, {
      headers: { Authorization: `Bearer ${LAB_TOKEN}` },
    });
    if (!res.ok) throw new Error(`stand-in GET ${p}: HTTP ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const calls = async (token: string, inputs: Record<string, unknown>) => {
    // The account's DNS, as the lab has it: every zone the plan's domains name is there.
    if (token === "digitalocean:index/getDomains:getDomains" && opts.domains !== undefined) {
      const zones = [
        ...new Set((JSON.parse(opts.domains) as { zone: string }[]).map((d) => d.zone)),
      ];
      return { domains: zones.map((name) => ({ name, ttl: 1800, urn: `do:domain:${name}` })) };
    }
    if (!opts.doApi) return undefined;
    if (token === "digitalocean:index/getVolume:getVolume") {
      const { volumes } = (await doGet(`/v2/volumes?name=${inputs.name}`)) as {
        volumes: { size_gigabytes: number }[];
      };
      if (volumes.length === 0) throw new Error(`no volume ${inputs.name}`);
      return { name: inputs.name, size: volumes[0].size_gigabytes };
    }
    if (token === "digitalocean:index/getVolumeSnapshot:getVolumeSnapshot") {
      const { snapshots } = (await doGet("/v2/snapshots?resource_type=volume")) as {
        snapshots: { id: string; name: string; min_disk_size: number; created_at: string }[];
      };
      const found = snapshots
        .filter((x) => x.name === inputs.name)
        .sort((a, b) => b.created_at.localeCompare(a.created_at))[0];
      if (!found) throw new Error(`no volume snapshot named ${inputs.name}`);
      return { id: found.id, name: found.name, minDiskSize: found.min_disk_size };
    }
    return undefined;
  };

  // Keep stdout for the plan: Pulumi's mock logging and warnings go to stderr.
  console.log = (...a: unknown[]) => console.error(...a);

  const rec = await recordProgram(
    (type, name, inputs) => {
      if (type === "digitalocean:index/droplet:Droplet") {
        const h = byName.get(inputs.name as string);
        if (!h)
          throw new Error(
            `the program wants droplet ${inputs.name}, which the lab has no host for`,
          );
        // Droplet ids as the lab numbers its hosts (1000 + i, host i at 10.77.0.(10 + i); the
        // DigitalOcean stand-ins use the same): stable from plan to plan like a real droplet's,
        // and a droplet replaced by another host of the same name (a new droplet) gets a new id.
        return {
          id: String(1000 + Number(h.public.split(".")[3]) - 10),
          ipv4Address: h.public,
          ipv4AddressPrivate: h.private,
        };
      }
      if (type === "digitalocean:index/reservedIp:ReservedIp") return { ipAddress: reservedIp };
      if (type === "digitalocean:index/sshKey:SshKey") return { fingerprint: "lab" };
      // A volume's id is DigitalOcean's (the stand-in's), known once do-volumes.ts has made
      // it: a placeholder its `apply` fills in the replay's state.
      if (type === "digitalocean:index/volume:Volume") {
        return { id: `{{stdout:volume:${inputs.name}}}` };
      }
      // Stable from plan to plan, as the provider's "<droplet>-<volume>-..." id is.
      if (type === "digitalocean:index/volumeAttachment:VolumeAttachment") {
        return { id: `${inputs.dropletId}-${reveal(inputs.volumeId)}` };
      }
      if (type === "command:remote:Command") {
        const field = (f: string) => `{{stdout:${name}|json:${f}}}`;
        // swarm-init prints JSON the program parses: hand it placeholders field by field.
        if (name.endsWith("-swarm-init")) {
          return {
            stdout: JSON.stringify({
              clusterId: field("clusterId"),
              nodeId: field("nodeId"),
              workerToken: field("workerToken"),
              managerToken: field("managerToken"),
            }),
          };
        }
        if (name.endsWith("-swarm-id")) {
          return {
            stdout: JSON.stringify({ nodeId: field("nodeId"), clusterId: field("clusterId") }),
          };
        }
        return { stdout: `{{stdout:${name}}}`, stderr: "" };
      }
      return {};
    },
    {
      "do-swarm:clusterName": "lab",
      "do-swarm:region": "fra1",
      "do-swarm:managers": JSON.stringify({ count: opts.managers, size: "s-1vcpu-2gb" }),
      "do-swarm:workers": JSON.stringify([
        {
          name: "worker",
          count: opts.workers,
          size: "s-1vcpu-1gb",
          labels: { tier: "app" },
          ...(opts.volumeGb === undefined
            ? {}
            : {
                volume: {
                  sizeGb: opts.volumeGb,
                  ...(opts.restoreFrom ? { restoreFrom: opts.restoreFrom } : {}),
                },
              }),
        },
      ]),
      ...(opts.doApi
        ? {
            "digitalocean:apiEndpoint": opts.doApi,
            "do-swarm:volumeDevicePrefix": LAB_DEVICE_PREFIX,
            "digitalocean:token": LAB_TOKEN,
          }
        : {}),
      "do-swarm:sshPublicKey": fs.readFileSync(`${opts.key}.pub`, "utf8").trim(),
      "do-swarm:sshPrivateKey": fs.readFileSync(opts.key, "utf8"),
      "do-swarm:stacks": JSON.stringify(opts.stacks),
      // The failover agent, pointed at the lab's DigitalOcean API stand-in through the
      // provider's own setting (what the program reads; nothing else differs).
      ...(opts.failoverTokenFile === undefined
        ? {}
        : { "do-swarm:failoverToken": fs.readFileSync(opts.failoverTokenFile, "utf8").trim() }),
      ...(opts.apiUrl === undefined ? {} : { "digitalocean:apiEndpoint": opts.apiUrl }),
      ...(opts.domains === undefined ? {} : { "do-swarm:domains": opts.domains }),
      ...(opts.edge === undefined ? {} : { "do-swarm:edge": opts.edge }),
    },
    calls,
  );
  await import("../../index");
  await rec.settled();

  const commands = rec.resources.filter(
    (r) => r.type === "command:remote:Command" || r.type === "command:local:Command",
  );
  const nameByUrn = new Map(commands.map((c) => [c.urn, c.name]));
  const plan = {
    commands: commands.map((c) => {
      const i = reveal(c.rawInputs) as {
        connection?: { host: string };
        create: string;
        update?: string;
        delete?: string;
        stdin?: string;
        triggers?: unknown[];
      };
      return {
        name: c.name,
        host: i.connection?.host ?? "local",
        create: i.create,
        update: i.update ?? null,
        delete: i.delete ?? null,
        stdin: i.stdin ?? null,
        triggers: i.triggers ?? null,
        replaceOnChanges: c.replaceOnChanges,
        deleteBeforeReplace: c.deleteBeforeReplace,
        dependsOn: c.dependencies.flatMap((u) => (nameByUrn.has(u) ? [nameByUrn.get(u)!] : [])),
      };
    }),
  };
  const dropletById = new Map(
    rec
      .ofType("digitalocean:index/droplet:Droplet")
      .map((d) => [String(rec.state(d.name).id), String(reveal(d.rawInputs.name))]),
  );
  const volumes: PlanVolume[] = rec.ofType("digitalocean:index/volume:Volume").map((v) => {
    const i = reveal(v.rawInputs) as Record<string, unknown>;
    const attachment = rec
      .ofType("digitalocean:index/volumeAttachment:VolumeAttachment")
      .find((a) => String(reveal(a.rawInputs.volumeId)) === String(rec.state(v.name).id));
    return {
      resource: v.name,
      name: String(i.name),
      sizeGb: Number(i.size),
      snapshotId: (i.snapshotId as string | undefined) ?? null,
      filesystemType: (i.initialFilesystemType as string | undefined) ?? null,
      droplet: dropletById.get(String(reveal(attachment?.rawInputs.dropletId))) ?? "",
      dropletId: Number(reveal(attachment?.rawInputs.dropletId)),
    };
  });
  process.stdout.write(JSON.stringify({ ...plan, volumes }, null, 2) + "\n");
}

main().catch((e) => {
  console.error(`plan: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
