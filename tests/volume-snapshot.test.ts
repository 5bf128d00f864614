/**
 * volume-snapshot.sh, the restore point taken before a volume is deleted, run as Pulumi runs
 * it (the exact command string, token and key on stdin) against the lab's DigitalOcean stand-in
 * (tests/lab/do-volumes.ts) on loopback, with a stand-in `ssh` for the node's flush.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { AddressInfo } from "net";
import { scriptCommand } from "../components/core/remote";
import { DATA_SCRIPTS } from "../components/data/volumes";
import { Backend, handle, LAB_TOKEN, serve, SNAPSHOT_LIMITS } from "./lab/do-volumes";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n";
let dir: string;
let backend: Backend;
let server: http.Server;
let api: string;
let volumeId: string;
/** The stand-in's clock runs this far ahead: moved on past the 10-minute rule between tests. */
let ahead = 0;
const later = (ms = SNAPSHOT_LIMITS.intervalMs + 60000) => (ahead += ms);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-snapshot-"));
  backend = new Backend(path.join(dir, "api"), path.join(dir, "lab"));
  backend.now = () => Date.now() + ahead;
  const [, body] = handle(backend, "POST", new URL("http://x/v2/volumes"), {
    name: "prod-db-0",
    region: "lab1",
    size_gigabytes: 1,
  });
  volumeId = (body as { volume: { id: string } }).volume.id;
  fs.writeFileSync(backend.image("vol", volumeId), "records 1..42\n");
  server = serve(backend, 0);
  await new Promise((r) => server.once("listening", r));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The node's flush: a stand-in ssh that logs its arguments (FAKE_SSH=fail: unreachable).
  fs.mkdirSync(path.join(dir, "bin"));
  fs.writeFileSync(
    path.join(dir, "bin", "ssh"),
    '#!/usr/bin/env bash\necho "$*" >>"$FAKE/ssh-calls"\n[ "${FAKE_SSH:-}" != fail ]\n',
    { mode: 0o755 },
  );
});

afterAll(() => {
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function run(
  op: "check" | "snapshot",
  stdin: string,
  opts: { id?: string; url?: string; env?: Record<string, string> } = {},
) {
  const command = scriptCommand(
    "volume-snapshot.sh",
    [
      op,
      opts.id ?? volumeId,
      "prod-db-0",
      "prod",
      opts.url ?? api,
      "203.0.113.9",
      "/mnt/do-swarm-data",
    ],
    DATA_SCRIPTS,
  );
  // Asynchronously: the stand-in API answers from this process.
  return new Promise<{ status: number | null; stdout: string; stderr: string; command: string }>(
    (resolve) => {
      const child = spawn("/bin/sh", ["-c", command], {
        env: {
          PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
          FAKE: dir,
          HOME: dir,
          ...opts.env,
        },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d));
      child.stderr.on("data", (d: Buffer) => (stderr += d));
      child.on("close", (status: number | null) => resolve({ status, stdout, stderr, command }));
      child.stdin.end(stdin);
    },
  );
}

const snapshots = () =>
  (
    handle(backend, "GET", new URL("http://x/v2/snapshots"), {})[1] as {
      snapshots: { id: string; name: string; resource_id: string; tags: string[] }[];
    }
  ).snapshots;

test("check: the token works and the volume exists; a wrong token fails it, naming the volume", async () => {
  const ok = await run("check", `${LAB_TOKEN}\n${KEY}`);
  expect(ok.status).toBe(0);
  expect(ok.stdout).toContain(
    `volume prod-db-0 (${volumeId}): a snapshot will be taken before it is ever deleted`,
  );
  const bad = await run("check", `wrong-token\n${KEY}`);
  expect(bad.status).toBe(1);
  expect(bad.stderr).toContain("the restore point of volume prod-db-0 could not be taken");
  expect(bad.stderr).toContain("HTTP 401 Unable to authenticate you");
  expect(bad.stderr).not.toContain("wrong-token");
});

beforeEach(() => later());

test("snapshot: flushes the node, snapshots the volume, prints what it kept", async () => {
  const before = snapshots().length;
  const r = await run("snapshot", `${LAB_TOKEN}\n${KEY}`);
  expect(r.status).toBe(0);
  const made = snapshots().slice(before);
  expect(made).toHaveLength(1);
  const snap = made[0];
  expect(snap.resource_id).toBe(volumeId);
  expect(snap.name).toMatch(/^prod-db-0-\d{8}-\d{6}$/);
  // No tags: they would need the tag:create scope (openapi shared/attributes/tags_array.yml).
  expect(snap.tags).toEqual([]);
  // A copy of the volume's content.
  expect(fs.readFileSync(backend.image("snap", snap.id), "utf8")).toBe("records 1..42\n");
  expect(r.stdout.trim()).toBe(
    `do-swarm: kept snapshot ${snap.name} (id ${snap.id}) of volume prod-db-0 before deleting it; ` +
      `restore with restoreFrom "${snap.name}"; it bills until: doctl compute snapshot delete ${snap.id}`,
  );
  const ssh = fs.readFileSync(path.join(dir, "ssh-calls"), "utf8");
  expect(ssh).toContain("root@203.0.113.9 sync -f '/mnt/do-swarm-data' 2>/dev/null || sync");
  expect(r.stderr).toContain("flushed /mnt/do-swarm-data on 203.0.113.9");
  // The token reached neither the command nor the output.
  expect(`${r.command}${r.stdout}${r.stderr}`).not.toContain(LAB_TOKEN);
});

test("an unreachable node (a lost droplet) is warned about; the snapshot is still taken", async () => {
  const before = snapshots().length;
  const r = await run("snapshot", `${LAB_TOKEN}\n${KEY}`, { env: { FAKE_SSH: "fail" } });
  expect(r.status).toBe(0);
  expect(r.stderr).toContain("WARNING: could not reach 203.0.113.9 to flush /mnt/do-swarm-data");
  expect(snapshots().length).toBe(before + 1);
});

test("no token on stdin: DIGITALOCEAN_TOKEN from the environment; neither: a clear failure", async () => {
  const fromEnv = await run("snapshot", `\n`, { env: { DIGITALOCEAN_TOKEN: LAB_TOKEN } });
  expect(fromEnv.status).toBe(0);
  later();
  expect(fromEnv.stdout).toContain("kept snapshot prod-db-0-");
  const none = await run("snapshot", `\n`);
  expect(none.status).toBe(1);
  expect(none.stderr).toContain("no DigitalOcean API token: set digitalocean:token");
});

test("a failure keeps the volume: the delete fails (API unreachable, snapshot refused)", async () => {
  const down = await run("snapshot", `${LAB_TOKEN}\n`, { url: "http://127.0.0.1:9" });
  expect(down.status).toBe(1);
  expect(down.stderr).toContain("cannot reach the DigitalOcean API at http://127.0.0.1:9");
});

test("a volume already gone has nothing to keep", async () => {
  const r = await run("snapshot", `${LAB_TOKEN}\n`, {
    id: "00000000-0000-0000-0000-000000000000",
  });
  expect(r.status).toBe(0);
  expect(r.stderr).toContain("no longer exists: nothing to snapshot");
});

test("the snapshot's id and name come from the POST's answer: no poll, no GET /v2/snapshots/{id}", async () => {
  const from = backend.requests.length;
  const r = await run("snapshot", `${LAB_TOKEN}\n${KEY}`);
  const sent = backend.requests.slice(from);
  expect(r.status).toBe(0);
  const snap = snapshots().pop()!;
  expect(r.stdout).toContain(`kept snapshot ${snap.name} (id ${snap.id})`);
  // GET /v2/snapshots/{id} needs snapshot:read, and the POST already answered with the snapshot.
  expect(sent).toEqual([
    `GET /v2/volumes/${volumeId}`,
    `GET /v2/volumes/${volumeId}/snapshots?per_page=200`,
    `POST /v2/volumes/${volumeId}/snapshots`,
  ]);
});

test("one snapshot per volume every 10 minutes: one taken by hand just before is waited out, with a message", async () => {
  // A snapshot taken by hand (doctl) a moment before the scale-in.
  expect(
    handle(backend, "POST", new URL(`http://x/v2/volumes/${volumeId}/snapshots`), {
      name: "by-hand",
    })[0],
  ).toBe(201);
  const before = snapshots().length;
  const from = backend.requests.length;
  // Ten minutes pass (on the stand-in's clock) while the script waits.
  const pass = setTimeout(() => later(), 2500);
  const r = await run("snapshot", `${LAB_TOKEN}\n${KEY}`, {
    env: { DO_SWARM_SNAPSHOT_RETRY_SECONDS: "1", DO_SWARM_SNAPSHOT_WAIT_SECONDS: "30" },
  });
  clearTimeout(pass);
  expect(r.status).toBe(0);
  expect(r.stderr).toContain(
    "DigitalOcean refused the snapshot of prod-db-0 for now (HTTP 429 failed to create snapshot: this operation is rate-limited - one request per 10m0s): it takes one snapshot of a volume every 10 minutes",
  );
  expect(r.stderr).toMatch(/retrying in 1s, for at most \d+s more/);
  expect(snapshots().length).toBe(before + 1);
  const posts = backend.requests.slice(from).filter((q) => q.startsWith("POST"));
  expect(posts.length).toBeGreaterThanOrEqual(2);
  expect(r.stdout).toContain("do-swarm: kept snapshot prod-db-0-");
}, 30000);

test("the wait is bounded: still refused at its end, the delete fails and the volume is kept", async () => {
  handle(backend, "POST", new URL(`http://x/v2/volumes/${volumeId}/snapshots`), { name: "x" });
  const before = snapshots().length;
  const r = await run("snapshot", `${LAB_TOKEN}\n${KEY}`, {
    env: { DO_SWARM_SNAPSHOT_RETRY_SECONDS: "1", DO_SWARM_SNAPSHOT_WAIT_SECONDS: "2" },
  });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(
    "snapshot of prod-db-0 still refused after 2s: HTTP 429 failed to create snapshot: this operation is rate-limited - one request per 10m0s; the volume is kept",
  );
  expect(snapshots().length).toBe(before);
}, 30000);

test("25 snapshots of a volume: fails before taking one, naming the volume and how to delete old ones", async () => {
  const [, body] = handle(backend, "POST", new URL("http://x/v2/volumes"), {
    name: "prod-db-1",
    region: "lab1",
    size_gigabytes: 1,
  });
  const full = (body as { volume: { id: string } }).volume.id;
  for (let i = 0; i < SNAPSHOT_LIMITS.perVolume; i++) {
    later();
    const [status] = handle(backend, "POST", new URL(`http://x/v2/volumes/${full}/snapshots`), {
      name: `old-${i}`,
    });
    expect(status).toBe(201);
  }
  later();
  const from = backend.requests.length;
  const r = await run("snapshot", `${LAB_TOKEN}\n${KEY}`, { id: full });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(
    `volume prod-db-0 (${full}) has 25 snapshots, DigitalOcean's limit is 25 per volume: delete old ones ` +
      "(doctl compute snapshot list --resource volume --format ID,Name,CreatedAt | grep 'prod-db-0-'; " +
      "doctl compute snapshot delete <id>...), then run pulumi again; the volume is kept",
  );
  expect(backend.requests.slice(from).some((q) => q.startsWith("POST"))).toBe(false);
});

test("the stand-in keeps DigitalOcean's snapshot limits and answers the POST with the snapshot", () => {
  const [, body] = handle(backend, "POST", new URL("http://x/v2/volumes"), {
    name: "prod-db-2",
    region: "lab1",
    size_gigabytes: 1,
  });
  const id = (body as { volume: { id: string } }).volume.id;
  const post = () => {
    try {
      return handle(backend, "POST", new URL(`http://x/v2/volumes/${id}/snapshots`), { name: "s" });
    } catch (e) {
      const err = e as { status: number; message: string };
      return [err.status, err.message] as [number, unknown];
    }
  };
  const [status, answer] = post();
  expect(status).toBe(201);
  expect((answer as { snapshot: { resource_id: string } }).snapshot.resource_id).toBe(id);
  expect(post()).toEqual([
    429,
    "failed to create snapshot: this operation is rate-limited - one request per 10m0s",
  ]);
  later(SNAPSHOT_LIMITS.intervalMs - 60000);
  expect(post()[0]).toBe(429);
  later(120000);
  expect(post()[0]).toBe(201);
  for (let i = 2; i < SNAPSHOT_LIMITS.perVolume; i++) {
    later();
    expect(post()[0]).toBe(201);
  }
  later();
  expect(post()[0]).toBe(422);
});

test("the script is the one the program sends", () => {
  expect(
    spawnSync("bash", ["-n", path.join(__dirname, "../components/data/scripts/volume-snapshot.sh")])
      .status,
  ).toBe(0);
});
