/**
 * volume-release.sh (issue 21, item 9), the unmount before a volume's detach, run as Pulumi runs
 * it (the exact command string, token and key on stdin) against the lab's DigitalOcean stand-in
 * (tests/lab/do-volumes.ts) on loopback. Its SSH is a stand-in that runs the droplet's part here,
 * with stand-ins first on PATH for `docker`, `mountpoint`, `findmnt` and `umount` (state in files
 * under $FAKE, every call logged to $FAKE/calls), as tests/scripts.test.ts does.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { AddressInfo } from "net";
import { scriptCommand } from "../components/core/remote";
import { DATA_SCRIPTS } from "../components/data/volumes";
import { Backend, handle, LAB_TOKEN, serve } from "./lab/do-volumes";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n";
const MOUNT = "/mnt/do-swarm-data";
/** A device no mount namespace of this machine has (the script also reads /proc/*\/mountinfo). */
const DEVICE = "/dev/disk/by-id/scsi-0DO_Volume_do-swarm-release-test-nowhere";
const DROPLET = 4242;
let dir: string;
let backend: Backend;
let server: http.Server;
let api: string;
let volumeId: string;

const STANDINS: Record<string, string> = {
  // Runs the droplet's part here: `ssh [opts] root@HOST bash -s -- 'MOUNT' 'TIMEOUT'`.
  ssh: `#!/usr/bin/env bash
printf 'ssh %s\\n' "$*" >>"$FAKE/calls"
[ "\${FAKE_SSH:-}" != fail ] || { echo "ssh: connect to host: Connection timed out" >&2; exit 255; }
n=$#; eval "set -- \${@:n-1}"
exec bash -s -- "$@"
`,
  mountpoint: `#!/usr/bin/env bash
grep -qx -- "\${@: -1}" "$FAKE/mounted"
`,
  findmnt: `#!/usr/bin/env bash
case "$*" in
  *" -M "*) echo "${DEVICE}" ;;
  *" -S "*) cat "$FAKE/mounted" ;;
esac
`,
  umount: `#!/usr/bin/env bash
echo "umount $1" >>"$FAKE/calls"
if [ -s "$FAKE/busy" ]; then
  n=$(cat "$FAKE/busy"); [ "$n" = always ] || echo $((n - 1)) >"$FAKE/busy"
  [ "$n" = 1 ] && : >"$FAKE/busy"
  echo "umount: $1: target is busy." >&2; exit 32
fi
grep -vx -- "$1" "$FAKE/mounted" >"$FAKE/m" || true; cat "$FAKE/m" >"$FAKE/mounted"
`,
  // Containers: "$FAKE/containers" lines of "ID NAME SOURCE"; a stop of one may start another
  // ("$FAKE/restart": swarm restarting its task before the unmount).
  docker: `#!/usr/bin/env bash
case "$1" in
  ps) awk '{ print $1 }' "$FAKE/containers" ;;
  inspect) shift 3; for id in "$@"; do awk -v i="$id" '$1 == i { print $1, "/" $2, $3 }' "$FAKE/containers"; done ;;
  stop) shift; for id in "$@"; do echo "docker stop $id" >>"$FAKE/calls"
    awk -v i="$id" '$1 != i' "$FAKE/containers" >"$FAKE/c"; cat "$FAKE/c" >"$FAKE/containers"; done
    if [ -s "$FAKE/restart" ]; then cat "$FAKE/restart" >>"$FAKE/containers"; : >"$FAKE/restart"; fi
    echo "$@" ;;
  *) echo "docker $*: unexpected" >&2; exit 1 ;;
esac
`,
  fuser: `#!/usr/bin/env bash
echo "$2: 4711m (postgres)"
`,
};

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-release-"));
  backend = new Backend(path.join(dir, "api"), path.join(dir, "lab"));
  const [, body] = handle(backend, "POST", new URL("http://x/v2/volumes"), {
    name: "prod-db-0",
    region: "lab1",
    size_gigabytes: 1,
  });
  volumeId = (body as { volume: { id: string } }).volume.id;
  server = serve(backend, 0);
  await new Promise((r) => server.once("listening", r));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fs.mkdirSync(path.join(dir, "bin"));
  for (const [name, text] of Object.entries(STANDINS)) {
    fs.writeFileSync(path.join(dir, "bin", name), text, { mode: 0o755 });
  }
});

afterAll(() => {
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The droplet's state: the volume attached to `attachedTo`, mounted, these containers. */
function world(o: {
  attachedTo?: number[];
  mounted?: string[];
  containers?: string[];
  busy?: string;
  restart?: string;
}) {
  const s = backend.load();
  s.volumes[volumeId].droplet_ids = o.attachedTo ?? [DROPLET];
  backend.save(s);
  const put = (f: string, lines: string[] | string) =>
    fs.writeFileSync(
      path.join(dir, f),
      Array.isArray(lines) ? lines.map((l) => `${l}\n`).join("") : lines,
    );
  put("mounted", o.mounted ?? [MOUNT]);
  put("containers", o.containers ?? []);
  put("busy", o.busy ?? "");
  put("restart", o.restart ? `${o.restart}\n` : "");
  put("calls", "");
}
const calls = () => fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");

function run(opts: { stdin?: string; id?: string; env?: Record<string, string> } = {}) {
  const command = scriptCommand(
    "volume-release.sh",
    [opts.id ?? volumeId, "prod-db-0", String(DROPLET), "203.0.113.9", MOUNT, api, "2"],
    DATA_SCRIPTS,
  );
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
      child.stdin.end(opts.stdin ?? `${LAB_TOKEN}\n${KEY}`);
    },
  );
}

test("attached to this droplet with a writer: the writer is stopped, then the volume unmounted", async () => {
  world({ containers: [`c1 db.1.abc ${MOUNT}/data`, "c2 web.1.def /srv"] });
  const r = await run();
  expect(r.stderr).toContain(`stopping the containers that use ${MOUNT}: /db.1.abc`);
  expect(r.status).toBe(0);
  const c = calls();
  expect(c[0]).toMatch(/^ssh .* root@203\.0\.113\.9 bash -s -- '\/mnt\/do-swarm-data' '2'$/);
  // The writer, and only it, stopped BEFORE the unmount.
  expect(c.slice(1)).toEqual(["docker stop c1", `umount ${MOUNT}`]);
  expect(r.stderr).toContain(`unmounted ${DEVICE} from ${MOUNT}`);
  expect(r.stdout.trim()).toBe(
    `volume prod-db-0 unmounted on droplet ${DROPLET}: it can be detached`,
  );
  // The token reached neither the command line nor the output; the key went to a file.
  expect(`${r.command}${r.stdout}${r.stderr}${c.join("\n")}`).not.toContain(LAB_TOKEN);
  expect(c[0]).toMatch(/-i \S+\/key /);
});

test("swarm restarts the task before the unmount: it is stopped too, and every mount of the device goes", async () => {
  world({
    mounted: [MOUNT, "/mnt/prod_db_0"],
    containers: [`c1 db.1.abc ${MOUNT}/data`],
    restart: `c9 db.1.xyz ${MOUNT}/data`,
    busy: "1",
  });
  const r = await run();
  expect(r.status).toBe(0);
  expect(calls().slice(1)).toEqual([
    "docker stop c1",
    "umount /mnt/prod_db_0", // busy: c9 started meanwhile
    `umount ${MOUNT}`,
    "docker stop c9",
    "umount /mnt/prod_db_0",
  ]);
});

test("something still holds the mount: fails after the timeout, naming it; never a lazy unmount", async () => {
  world({ containers: [], busy: "always" });
  const r = await run();
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(
    `${DEVICE} is still in use after 2s: umount: ${MOUNT}: target is busy.`,
  );
  expect(r.stderr).toContain("volume prod-db-0 could not be unmounted on droplet 4242");
  expect(r.stderr).toContain("so it is NOT detached");
  expect(r.stderr).toContain(`doctl compute volume-action detach ${volumeId} ${DROPLET}`);
  expect(
    calls()
      .filter((c) => c.startsWith("umount"))
      .every((c) => c === `umount ${MOUNT}`),
  ).toBe(true);
  expect(r.command).not.toMatch(/umount -l|umount -f|--lazy|--force/);
});

test("the droplet cannot be reached while the volume is attached to it: fails, the volume stays", async () => {
  world({ containers: [`c1 db.1.abc ${MOUNT}/data`] });
  const r = await run({ env: { FAKE_SSH: "fail" } });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain("so it is NOT detached");
  expect(calls()).toHaveLength(1);
});

test("attached elsewhere (a lost droplet's volume, already detached): nothing to do, no SSH", async () => {
  for (const attachedTo of [[], [5151]]) {
    world({ attachedTo });
    const r = await run();
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`volume prod-db-0 is not attached to droplet ${DROPLET}`);
    expect(calls()).toEqual([""]);
  }
});

test("the volume gone: nothing to do; the API refusing: fails, the volume stays attached", async () => {
  world({});
  const gone = await run({ id: "7f5a0000-0000-4000-8000-000000000000" });
  expect(gone.status).toBe(0);
  expect(gone.stderr).toContain("no longer exists: nothing to unmount");
  const refused = await run({ stdin: `wrong-token\n${KEY}` });
  expect(refused.status).toBe(1);
  expect(refused.stderr).toContain("answered HTTP 401");
  expect(refused.stderr).toContain("it stays attached");
  expect(refused.stderr).not.toContain("wrong-token");
  expect(calls()).toEqual([""]);
});

test("not mounted on the droplet (already released): nothing to unmount", async () => {
  world({ mounted: [] });
  const r = await run();
  expect(r.status).toBe(0);
  expect(r.stderr).toContain(`${MOUNT} is not mounted: nothing to unmount`);
  expect(calls().slice(1)).toEqual([]);
});

test("the script parses", () => {
  expect(
    spawnSync("bash", ["-n", path.join(__dirname, "../components/data/scripts/volume-release.sh")])
      .status,
  ).toBe(0);
});
