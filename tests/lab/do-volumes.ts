/**
 * The lab's stand-in for DigitalOcean block storage (issue 12): the API routes the program and
 * the provider use for volumes and their snapshots, answering as DigitalOcean documents them
 * (api-reference, "Block Storage", "Block Storage Actions", "Snapshots"), on a private address.
 *
 * A volume is a sparse filesystem image; attaching it to a droplet (lab host i is droplet 1000+i)
 * sets it up as a loop device that appears ONLY in that host, at
 * /tmp/lab-disks/scsi-0DO_Volume_<name> (the host's own /tmp; on a droplet the same link is
 * /dev/disk/by-id/scsi-0DO_Volume_<name>); a snapshot is a copy of the image; resizing grows the
 * image and the loop device's capacity, online. As unkind as DigitalOcean documents (issue 21):
 * - Automount: a pre-formatted volume (created with a filesystem_type) is mounted at its FIRST
 *   attach, never again, by a systemd mount unit in the droplet's /etc/systemd/system, not an
 *   fstab line: the mount point is /mnt/<name with '-' as '_'>, the unit mnt-<that>.mount,
 *   What=/dev/disk/by-id/scsi-0DO_Volume_<name> (docs.digitalocean.com/products/volumes/details/
 *   naming-conventions/ and /products/volumes/how-to/mount/: "automatically formatted and
 *   mounted" volumes; "Volumes are only automatically mounted when first attached"). The lab's
 *   hosts run no systemd: the unit file (and its multi-user.target.wants link, which a "boot",
 *   lab.sh lab_power_on, honours) is written in the host's own /etc/systemd/system, and the
 *   mount it makes is made at once, in the host's mount namespace.
 * - Detach: DigitalOcean says "Unmount volumes before resizing or detaching them to protect data
 *   integrity" (docs.digitalocean.com/products/volumes/how-to/detach/); a detach does not
 *   unmount the droplet's filesystem: the device goes from under it. Here a filesystem still
 *   mounted at the detach is shut down where it is (`xfs_io -x -c shutdown`, no log flush: what
 *   had not reached the disk is lost, as with a vanished device) and LEFT MOUNTED: every access
 *   fails with an I/O error. The event is logged ("detach-while-mounted", with the mount points)
 *   for the lab to check. A "power off" (lab.sh) unmounts everything, as a reboot does.
 *
 *   ts-node do-volumes.ts serve --state DIR --port N        the API (Bearer lab-token)
 *   ts-node do-volumes.ts apply --plan NEW.json --state STATE.json [--api URL]
 *                                                           the provider's creates and updates;
 *     each volume's id goes to the replay's STATE as the output "volume:<name>" (the plan's
 *     commands name a volume by that placeholder, as Pulumi would pass the real id)
 *   ts-node do-volumes.ts delete --plan NEW.json --prev OLD.json [--api URL]   its deletes
 *   ts-node do-volumes.ts lose-droplet --host I [--api URL]  a droplet destroyed: its volumes detached
 *   ts-node do-volumes.ts get --path PATH [--api URL]        GET PATH, the JSON on stdout
 *
 * `apply` and `delete` are what the Pulumi provider would do for the plan's Volume and
 * VolumeAttachment resources (plan.ts lists them under "volumes"), through the same API.
 */
import { execFileSync } from "child_process";
import { randomUUID } from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";

export const LAB_TOKEN = "lab-token";
/** DigitalOcean's volume snapshot limits, enforced by POST /v2/volumes/{id}/snapshots. */
export const SNAPSHOT_LIMITS = { perVolume: 25, intervalMs: 10 * 60 * 1000 };
export const LAB_DEVICE_PREFIX = "/tmp/lab-disks/scsi-0DO_Volume_";
const GiB = 1024 * 1024 * 1024;

interface Volume {
  id: string;
  name: string;
  region: { slug: string };
  size_gigabytes: number;
  filesystem_type: string;
  droplet_ids: number[];
  created_at: string;
  description: string;
  tags: string[];
}
interface Snapshot {
  id: string;
  name: string;
  regions: string[];
  created_at: string;
  resource_id: string;
  resource_type: "volume";
  min_disk_size: number;
  size_gigabytes: number;
  tags: string[];
}
interface State {
  volumes: Record<string, Volume>;
  snapshots: Record<string, Snapshot>;
  /** Loop device of each attached volume. */
  loops: Record<string, string>;
  /** What happened, in order: the lab checks a snapshot came before its volume's delete. */
  events: { at: string; what: string; volume: string; snapshot?: string; mounts?: string[] }[];
  /** Volume ids created pre-formatted (a filesystem_type): DigitalOcean automounts those. */
  preformatted?: string[];
  /** Volume ids attached at least once: the automount happens only at the first attach. */
  attachedBefore?: string[];
}

/** DigitalOcean's automount point and unit name for a volume (naming-conventions, above). */
export function automountOf(name: string) {
  const dir = `mnt-${name.replace(/-/g, "_")}`;
  return { where: `/${dir.replace("-", "/")}`, unit: `${dir}.mount` };
}

// --- the backend: images, loop devices, hosts ---------------------------------------------

class Backend {
  /** The stand-in's clock (tests move it on instead of waiting 10 minutes). */
  now: () => number = () => Date.now();
  /** Every request handled, as "METHOD /path?query", in order (not persisted). */
  readonly requests: string[] = [];
  constructor(
    readonly dir: string,
    readonly labRun: string,
  ) {
    fs.mkdirSync(path.join(dir, "img"), { recursive: true });
  }
  private get file() {
    return path.join(this.dir, "state.json");
  }
  load(): State {
    return fs.existsSync(this.file)
      ? (JSON.parse(fs.readFileSync(this.file, "utf8")) as State)
      : { volumes: {}, snapshots: {}, loops: {}, events: [] };
  }
  save(s: State) {
    fs.writeFileSync(this.file, JSON.stringify(s, null, 2));
  }
  image(kind: "vol" | "snap", id: string) {
    return path.join(this.dir, "img", `${kind}-${id}.img`);
  }
  /** Lab host index of a droplet id (lab.sh's numbering; maintenance.ts uses the same). */
  host(dropletId: number) {
    const i = dropletId - 1000;
    if (!(i >= 0 && fs.existsSync(path.join(this.labRun, `h${i}`)))) {
      throw new ApiError(404, "not_found", `droplet ${dropletId} does not exist`);
    }
    return i;
  }
  /** The device link as the host sees it (its /tmp is the lab's h<i>/tmp). */
  link(i: number, name: string) {
    return path.join(this.labRun, `h${i}`, "tmp", LAB_DEVICE_PREFIX.slice("/tmp/".length) + name);
  }
  holder(i: number) {
    return fs.readFileSync(path.join(this.labRun, `h${i}`, "holder.pid"), "utf8").trim();
  }
  /** Runs a shell command in host i's mount namespace; its stdout. */
  inHost(i: number, script: string, ...args: string[]) {
    return execFileSync(
      "nsenter",
      ["--target", this.holder(i), "--mount", "--", "sh", "-c", script, "sh", ...args],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
  }
  /** The host's own /etc/systemd/system (lab.sh LAB_HOST_DIRS: a per-host directory). */
  unitDir(i: number) {
    return path.join(this.labRun, `h${i}`, "disk", "etc", "systemd", "system");
  }
  /** DigitalOcean's first-attach automount of a pre-formatted volume (see the module comment). */
  automount(i: number, v: Volume) {
    const { where, unit } = automountOf(v.name);
    const dir = this.unitDir(i);
    const what = LAB_DEVICE_PREFIX + v.name;
    fs.mkdirSync(path.join(dir, "multi-user.target.wants"), { recursive: true });
    fs.writeFileSync(
      path.join(dir, unit),
      [
        "[Unit]",
        `Description=Mount DO Volume ${v.name}`,
        "",
        "[Mount]",
        `What=${what}`,
        `Where=${where}`,
        "Options=defaults,nofail,discard,noatime",
        `Type=${v.filesystem_type}`,
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
      ].join("\n"),
    );
    fs.rmSync(path.join(dir, "multi-user.target.wants", unit), { force: true });
    fs.symlinkSync(`../${unit}`, path.join(dir, "multi-user.target.wants", unit));
    try {
      this.inHost(
        i,
        'mkdir -p "$1" && mount -t "$3" -o discard,noatime "$2" "$1"',
        where,
        what,
        v.filesystem_type,
      );
    } catch {
      // a host that is down mounts it at its next boot (the unit is enabled)
    }
  }
  attach(s: State, v: Volume, dropletId: number) {
    const i = this.host(dropletId);
    const loop = execFileSync("losetup", ["--find", "--show", this.image("vol", v.id)], {
      encoding: "utf8",
    }).trim();
    s.loops[v.id] = loop;
    fs.mkdirSync(path.dirname(this.link(i, v.name)), { recursive: true });
    fs.rmSync(this.link(i, v.name), { force: true });
    fs.symlinkSync(loop, this.link(i, v.name));
    v.droplet_ids = [dropletId];
    const first = !(s.attachedBefore ?? []).includes(v.id);
    s.attachedBefore = [...(s.attachedBefore ?? []), ...(first ? [v.id] : [])];
    if (first && (s.preformatted ?? []).includes(v.id)) this.automount(i, v);
  }
  detach(s: State, v: Volume) {
    const loop = s.loops[v.id];
    for (const dropletId of v.droplet_ids) {
      let i: number | undefined;
      try {
        i = this.host(dropletId);
      } catch {
        continue;
      }
      fs.rmSync(this.link(i, v.name), { force: true });
      // The device goes from under whatever the droplet still has mounted from it: that
      // filesystem stays mounted, dead (see the module comment).
      if (loop) {
        let mounts: string[] = [];
        try {
          mounts = this.inHost(
            i,
            'findmnt -rn -S "$1" -o TARGET | sort -r | while read -r m; do xfs_io -x -c shutdown "$m" >&2 || true; echo "$m"; done',
            loop,
          )
            .split("\n")
            .filter(Boolean);
        } catch {
          // a host that is down has nothing mounted
        }
        if (mounts.length > 0) {
          s.events.push({
            at: new Date(this.now()).toISOString(),
            what: "detach-while-mounted",
            volume: v.name,
            mounts,
          });
        }
      }
    }
    // Still mounted somewhere: the loop device goes when that mount does (autoclear).
    if (loop) execFileSync("losetup", ["-d", loop], { stdio: "ignore" });
    delete s.loops[v.id];
    v.droplet_ids = [];
  }
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// --- the API ------------------------------------------------------------------------------

type Body = Record<string, unknown>;

export function handle(b: Backend, method: string, url: URL, body: Body): [number, unknown] {
  const s = b.load();
  const now = new Date(b.now()).toISOString();
  b.requests.push(`${method} ${url.pathname}${url.search}`);
  const volume = (id: string) => {
    const v = s.volumes[id];
    if (!v)
      throw new ApiError(404, "not_found", "The resource you were accessing could not be found.");
    return v;
  };
  const done = (type: string, resourceId: string) => ({
    action: {
      id: Math.floor(Math.random() * 1e9),
      status: "completed",
      type,
      started_at: now,
      completed_at: now,
      resource_id: 0,
      resource_type: "volume",
      region_slug: "lab1",
    },
    resource: resourceId,
  });
  const p = url.pathname.replace(/\/+$/, "");
  let m: RegExpExecArray | null;
  let result: [number, unknown];
  if (method === "GET" && p === "/v2/volumes") {
    const name = url.searchParams.get("name");
    result = [200, { volumes: Object.values(s.volumes).filter((v) => !name || v.name === name) }];
  } else if (method === "POST" && p === "/v2/volumes") {
    const name = String(body.name ?? "");
    const size = Number(body.size_gigabytes);
    if (!/^[a-z][a-z0-9-]{0,63}$/.test(name))
      throw new ApiError(422, "unprocessable_entity", "invalid volume name");
    if (Object.values(s.volumes).some((v) => v.name === name)) {
      throw new ApiError(409, "conflict", `a volume named ${name} already exists in this region`);
    }
    const id = randomUUID();
    const img = b.image("vol", id);
    let fsType = String(body.filesystem_type ?? "");
    if (body.snapshot_id !== undefined) {
      const snap = s.snapshots[String(body.snapshot_id)];
      if (!snap) throw new ApiError(404, "not_found", `snapshot ${body.snapshot_id} not found`);
      if (size < snap.min_disk_size) {
        throw new ApiError(
          422,
          "unprocessable_entity",
          `the volume must be at least ${snap.min_disk_size} GiB`,
        );
      }
      execFileSync("cp", ["--sparse=always", b.image("snap", snap.id), img]);
      fsType = s.volumes[snap.resource_id]?.filesystem_type ?? "xfs";
    }
    execFileSync("truncate", ["-s", String(size * GiB), img]);
    if (body.snapshot_id === undefined && fsType) execFileSync(`mkfs.${fsType}`, ["-q", img]);
    const v: Volume = {
      id,
      name,
      region: { slug: String(body.region ?? "lab1") },
      size_gigabytes: size,
      filesystem_type: fsType,
      droplet_ids: [],
      created_at: now,
      description: "",
      tags: [],
    };
    s.volumes[id] = v;
    if (body.snapshot_id === undefined && fsType) s.preformatted = [...(s.preformatted ?? []), id];
    s.events.push({ at: now, what: "create", volume: name, snapshot: body.snapshot_id as string });
    result = [201, { volume: v }];
  } else if ((m = /^\/v2\/volumes\/([^/]+)$/.exec(p))) {
    const v = volume(m[1]);
    if (method === "GET") result = [200, { volume: v }];
    else if (method === "DELETE") {
      if (v.droplet_ids.length > 0) {
        throw new ApiError(409, "conflict", "the volume is attached to a droplet: detach it first");
      }
      fs.rmSync(b.image("vol", v.id), { force: true });
      delete s.volumes[v.id];
      s.events.push({ at: now, what: "delete", volume: v.name });
      result = [204, null];
    } else throw new ApiError(405, "method_not_allowed", method);
  } else if (method === "POST" && (m = /^\/v2\/volumes\/([^/]+)\/actions$/.exec(p))) {
    const v = volume(m[1]);
    const type = String(body.type);
    if (type === "attach") {
      if (v.droplet_ids.length > 0) {
        throw new ApiError(
          422,
          "unprocessable_entity",
          "the volume is already attached to a droplet",
        );
      }
      b.attach(s, v, Number(body.droplet_id));
    } else if (type === "detach") {
      if (!v.droplet_ids.includes(Number(body.droplet_id))) {
        throw new ApiError(
          422,
          "unprocessable_entity",
          "the volume is not attached to this droplet",
        );
      }
      b.detach(s, v);
    } else if (type === "resize") {
      const size = Number(body.size_gigabytes);
      if (!(size > v.size_gigabytes)) {
        throw new ApiError(422, "unprocessable_entity", "volumes can only be resized upwards");
      }
      execFileSync("truncate", ["-s", String(size * GiB), b.image("vol", v.id)]);
      if (s.loops[v.id]) execFileSync("losetup", ["-c", s.loops[v.id]]);
      v.size_gigabytes = size;
    } else throw new ApiError(422, "unprocessable_entity", `unknown action ${type}`);
    s.events.push({ at: now, what: type, volume: v.name });
    result = [202, done(type, v.id)];
  } else if (method === "GET" && (m = /^\/v2\/volumes\/([^/]+)\/snapshots$/.exec(p))) {
    const v = volume(m[1]);
    const of = Object.values(s.snapshots).filter((x) => x.resource_id === v.id);
    result = [200, { snapshots: of, links: {}, meta: { total: of.length } }];
  } else if (method === "POST" && (m = /^\/v2\/volumes\/([^/]+)\/snapshots$/.exec(p))) {
    const v = volume(m[1]);
    // DigitalOcean's limits (docs.digitalocean.com/products/snapshots/details/limits/): at most
    // 25 snapshots of a volume, one snapshot of a volume every 10 minutes. The 10-minute
    // refusal is DigitalOcean's own answer (429, as logged in digitalocean/velero-plugin#6);
    // the answer at 25 is not documented anywhere we found: this 422 and its wording are ours.
    const of = Object.values(s.snapshots).filter((x) => x.resource_id === v.id);
    if (of.length >= SNAPSHOT_LIMITS.perVolume) {
      throw new ApiError(
        422,
        "unprocessable_entity",
        `volume ${v.id} already has ${of.length} snapshots, the maximum`,
      );
    }
    const last = Math.max(0, ...of.map((x) => Date.parse(x.created_at)));
    if (b.now() - last < SNAPSHOT_LIMITS.intervalMs) {
      throw new ApiError(
        429,
        "too_many_requests",
        "failed to create snapshot: this operation is rate-limited - one request per 10m0s",
      );
    }
    const id = randomUUID();
    execFileSync("cp", ["--sparse=always", b.image("vol", v.id), b.image("snap", id)]);
    const snap: Snapshot = {
      id,
      name: String(body.name ?? `${v.name}-snapshot`),
      regions: [v.region.slug],
      created_at: now,
      resource_id: v.id,
      resource_type: "volume",
      min_disk_size: v.size_gigabytes,
      size_gigabytes: Math.ceil(fs.statSync(b.image("snap", id)).blocks / 2 / 1024 / 1024),
      tags: Array.isArray(body.tags) ? body.tags.map(String) : [],
    };
    s.snapshots[id] = snap;
    s.events.push({ at: now, what: "snapshot", volume: v.name, snapshot: snap.name });
    result = [201, { snapshot: snap }];
  } else if (method === "GET" && p === "/v2/snapshots") {
    result = [200, { snapshots: Object.values(s.snapshots) }];
  } else if ((m = /^\/v2\/snapshots\/([^/]+)$/.exec(p))) {
    const snap = s.snapshots[m[1]];
    if (!snap)
      throw new ApiError(404, "not_found", "The resource you were accessing could not be found.");
    if (method === "GET") result = [200, { snapshot: snap }];
    else if (method === "DELETE") {
      fs.rmSync(b.image("snap", snap.id), { force: true });
      delete s.snapshots[snap.id];
      result = [204, null];
    } else throw new ApiError(405, "method_not_allowed", method);
  } else {
    throw new ApiError(404, "not_found", `no route ${method} ${p}`);
  }
  b.save(s);
  return result;
}

export function serve(b: Backend, port: number, host = "127.0.0.1"): http.Server {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let status: number;
      let out: unknown;
      try {
        if (req.headers.authorization !== `Bearer ${LAB_TOKEN}`) {
          throw new ApiError(401, "Unauthorized", "Unable to authenticate you");
        }
        const text = Buffer.concat(chunks).toString("utf8");
        [status, out] = handle(
          b,
          req.method ?? "GET",
          new URL(req.url ?? "/", "http://lab"),
          text ? (JSON.parse(text) as Body) : {},
        );
      } catch (e) {
        status = e instanceof ApiError ? e.status : 500;
        out = {
          id: e instanceof ApiError ? e.code : "server_error",
          message: String((e as Error).message),
        };
      }
      res.writeHead(status, { "Content-Type": "application/json" });
      // DigitalOcean answers compact JSON.
      res.end(out === null ? "" : JSON.stringify(out));
    });
  });
  server.listen(port, host);
  return server;
}

// --- the provider's side, through the API --------------------------------------------------

export interface PlanVolume {
  resource: string;
  name: string;
  sizeGb: number;
  snapshotId: string | null;
  filesystemType: string | null;
  /** The droplet (lab host name) its attachment joins it to. */
  droplet: string;
  /**
   * Its id (1000 + the host's index): a replaced droplet is another host of the same name.
   * @default the first host of that name
   */
  dropletId?: number;
}

async function call(api: string, method: string, p: string, body?: object) {
  const res = await fetch(`${api}${p}`, {
    method,
    headers: { Authorization: `Bearer ${LAB_TOKEN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: HTTP ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as Record<string, unknown>;
}

const readVolumes = (file: string) =>
  (JSON.parse(fs.readFileSync(file, "utf8")) as { volumes?: PlanVolume[] }).volumes ?? [];

function dropletIdOf(labRun: string, host: string): number {
  const line = fs
    .readFileSync(path.join(labRun, "hosts.tsv"), "utf8")
    .split("\n")
    .find((l) => l.split("\t")[1] === host);
  if (!line) throw new Error(`no lab host ${host}`);
  return 1000 + Number(line.split("\t")[0]);
}

async function byName(api: string, name: string): Promise<Volume | undefined> {
  const r = (await call(api, "GET", `/v2/volumes?name=${name}`)) as { volumes: Volume[] };
  return r.volumes[0];
}

/** Creates, grows and attaches what the plan says, in the provider's order. */
async function apply(api: string, labRun: string, planFile: string, stateFile: string) {
  const outputs = fs.existsSync(stateFile)
    ? (JSON.parse(fs.readFileSync(stateFile, "utf8")) as Record<string, string>)
    : {};
  for (const pv of readVolumes(planFile)) {
    let v = await byName(api, pv.name);
    if (!v) {
      v = (
        (await call(api, "POST", "/v2/volumes", {
          name: pv.name,
          region: "lab1",
          size_gigabytes: pv.sizeGb,
          ...(pv.snapshotId ? { snapshot_id: pv.snapshotId } : {}),
          ...(pv.filesystemType ? { filesystem_type: pv.filesystemType } : {}),
        })) as { volume: Volume }
      ).volume;
      console.log(
        `  created volume ${pv.name} (${pv.sizeGb} GiB${pv.snapshotId ? `, from snapshot ${pv.snapshotId}` : ""})`,
      );
    } else if (pv.sizeGb > v.size_gigabytes) {
      await call(api, "POST", `/v2/volumes/${v.id}/actions`, {
        type: "resize",
        size_gigabytes: pv.sizeGb,
      });
      console.log(`  resized volume ${pv.name}: ${v.size_gigabytes} -> ${pv.sizeGb} GiB`);
    }
    const droplet = pv.dropletId || dropletIdOf(labRun, pv.droplet);
    // A replaced droplet: the old attachment's delete (the provider detaches), then the new one.
    for (const old of v.droplet_ids.filter((d) => d !== droplet)) {
      await call(api, "POST", `/v2/volumes/${v.id}/actions`, { type: "detach", droplet_id: old });
      console.log(`  detached volume ${pv.name} from droplet ${old} (its attachment replaced)`);
    }
    if (!v.droplet_ids.includes(droplet)) {
      await call(api, "POST", `/v2/volumes/${v.id}/actions`, {
        type: "attach",
        droplet_id: droplet,
      });
      console.log(`  attached volume ${pv.name} to ${pv.droplet} (droplet ${droplet})`);
    }
    outputs[`volume:${pv.name}`] = v.id;
  }
  fs.writeFileSync(stateFile, JSON.stringify(outputs, null, 2));
}

/** Detaches and deletes the volumes the new plan no longer has. */
async function remove(api: string, planFile: string, prevFile: string) {
  const kept = new Set(readVolumes(planFile).map((v) => v.resource));
  for (const pv of readVolumes(prevFile).filter((v) => !kept.has(v.resource))) {
    const v = await byName(api, pv.name);
    if (!v) continue;
    for (const d of v.droplet_ids) {
      await call(api, "POST", `/v2/volumes/${v.id}/actions`, { type: "detach", droplet_id: d });
    }
    await call(api, "DELETE", `/v2/volumes/${v.id}`);
    console.log(`  detached and deleted volume ${pv.name}`);
  }
}

async function loseDroplet(api: string, host: number) {
  const r = (await call(api, "GET", "/v2/volumes")) as { volumes: Volume[] };
  for (const v of r.volumes.filter((x) => x.droplet_ids.includes(1000 + host))) {
    await call(api, "POST", `/v2/volumes/${v.id}/actions`, {
      type: "detach",
      droplet_id: 1000 + host,
    });
    console.log(`  droplet ${1000 + host} destroyed: volume ${v.name} detached`);
  }
}

async function main(argv: string[]) {
  const opt = (flag: string, fallback?: string) => {
    const i = argv.indexOf(flag);
    const v = i >= 0 ? argv[i + 1] : fallback;
    if (v === undefined) throw new Error(`${flag} is required`);
    return v;
  };
  const labRun = opt("--lab-run", path.join(__dirname, ".run"));
  const api = opt("--api", "http://127.0.0.1:18731");
  switch (argv[0]) {
    case "serve": {
      const b = new Backend(opt("--state"), labRun);
      serve(b, Number(opt("--port")));
      break;
    }
    case "apply":
      return apply(api, labRun, opt("--plan"), opt("--state"));
    case "delete":
      return remove(api, opt("--plan"), opt("--prev"));
    case "lose-droplet":
      return loseDroplet(api, Number(opt("--host")));
    case "get":
      process.stdout.write(JSON.stringify(await call(api, "GET", opt("--path"))) + "\n");
      return;
    default:
      throw new Error("usage: do-volumes.ts serve|apply|delete|lose-droplet|get ...");
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(`do-volumes: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}

export { Backend };
