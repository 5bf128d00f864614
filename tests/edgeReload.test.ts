// The edge's wrapper (components/edge/scripts/edge-caddy.sh) with the REAL Caddy (Debian's caddy,
// the one CI installs and the lab's image carries): a changed file is reloaded in place while
// requests keep arriving on new connections, and not one of them is refused or dropped (Caddy
// binds the new config's listeners next to the old ones before it stops those: see the script's
// header). The Caddyfiles bind loopback ports picked here and an admin port of their own, so the
// test needs no root and disturbs nothing on the machine.
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { EDGE_SCRIPTS as SCRIPTS_DIR } from "../components/edge/stack";
import { CLOSE_MARKER, renderCaddyfile, SHARED_DIR } from "../components/edge/caddyfile";
import { freePort } from "./tools/freePort";

/** One GET on a new connection; the body, or the error's code. */
function get(port: number): Promise<{ ok: boolean; body: string }> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: "127.0.0.1", port, path: "/", agent: false, timeout: 2000 },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ ok: res.statusCode === 200, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e: NodeJS.ErrnoException) =>
      resolve({ ok: false, body: e.code ?? e.message }),
    );
  });
}

const caddyfile = (admin: number, health: number, site: number, body: string) => `{
\tadmin localhost:${admin}
\tgrace_period 10s
}

http://127.0.0.1:${health} {
\tbind 127.0.0.1
\trespond /healthz "ok" 200
}

http://127.0.0.1:${site} {
\tbind 127.0.0.1
\trespond "${body}"
}
`;

let tmp: string;
let wrapper: ChildProcess | undefined;
beforeEach(() => {
  if (spawnSync("caddy", ["version"]).status !== 0 || spawnSync("busybox", ["true"]).status !== 0) {
    throw new Error("caddy or busybox not found: apt-get install caddy busybox-static (CI does)");
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-edge-reload-"));
});
afterEach(() => {
  if (wrapper?.pid !== undefined) {
    try {
      process.kill(-wrapper.pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("real Caddy: a new Caddyfile is reloaded in place, every request on a new connection answered", async () => {
  const [admin, health, site] = [await freePort(), await freePort(), await freePort()];
  const shared = path.join(tmp, "shared");
  fs.mkdirSync(shared);
  const install = (body: string) => {
    fs.writeFileSync(path.join(shared, ".new"), caddyfile(admin, health, site, body));
    fs.renameSync(path.join(shared, ".new"), path.join(shared, "Caddyfile"));
  };
  install("A");
  let log = "";
  const w = spawn(
    "busybox",
    [
      "sh",
      path.join(SCRIPTS_DIR, "edge-caddy.sh"),
      shared,
      `http://127.0.0.1:${health}/healthz`,
      "20",
      "0.2",
    ],
    {
      detached: true,
      // Caddy's state (autosave, storage) in the test's directory.
      env: {
        PATH: process.env.PATH,
        HOME: tmp,
        XDG_DATA_HOME: tmp,
        XDG_CONFIG_HOME: tmp,
        TMPDIR: tmp,
      },
    },
  );
  wrapper = w;
  w.stderr.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => w.on("exit", resolve));
  const marker = () => {
    const p = path.join(shared, "loaded");
    return fs.existsSync(p) ? fs.readFileSync(p, "utf8") : "";
  };
  const waitFor = async (what: string, cond: () => boolean) => {
    const until = Date.now() + 15000;
    while (!cond()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; log:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await waitFor("Caddy on A", () => marker().includes('respond "A"'));
  expect((await get(site)).body).toBe("A");

  // Four clients, each a new connection per request, from before the change until after it.
  const answers: { ok: boolean; body: string }[] = [];
  let stop = false;
  const clients = [0, 1, 2, 3].map(async () => {
    while (!stop) answers.push(await get(site));
  });
  await new Promise((r) => setTimeout(r, 300));
  install("B");
  await waitFor("Caddy on B", () => marker().includes('respond "B"'));
  await new Promise((r) => setTimeout(r, 300));
  stop = true;
  await Promise.all(clients);

  // No connection refused (the gap a restart leaves: this fails with a restart instead of the
  // reload), none timed out. The one loss seen here: a connection reset, when a new connection
  // races the old config's listener closing (about 1 run in 10 of this tight loop, 1 or 2 of a
  // few hundred connections; never in the lab at 40 requests/s). Bounded, not hidden.
  const failed = answers.filter((a) => !a.ok);
  expect(failed.filter((a) => a.body !== "ECONNRESET")).toEqual([]);
  expect(failed.length).toBeLessThanOrEqual(Math.ceil(answers.length / 50));
  const bodies = answers.map((a) => a.body);
  expect(bodies).toContain("A");
  expect(bodies).toContain("B");
  // Once B answered, nothing answers A any more.
  expect(bodies.slice(bodies.indexOf("B") + 8)).not.toContain("A");
  expect(answers.length).toBeGreaterThan(20);
  expect(log).toMatch(/reloading Caddy in place/);

  // Swarm's stop: SIGTERM to the wrapper, Caddy's graceful stop, exit 0.
  process.kill(w.pid as number, "SIGTERM");
  expect(await exited).toBe(0);
  expect(log).toContain("Caddy stopped (exit status 0)");
});

test("real Caddy: while the node's close-connections marker exists, the rendered site closes every connection after its response", async () => {
  const [admin, site, upstream] = [await freePort(), await freePort(), await freePort()];
  // The very matcher and header the renderer writes into every site, pointed at this test's
  // directory instead of the edge's volume.
  const rendered = renderCaddyfile({
    sites: [{ host: "app.example.com", https: false, routes: [] }],
  });
  const closing = rendered
    .slice(rendered.indexOf("\t@closing"), rendered.indexOf("Connection close") + 16)
    .split(SHARED_DIR)
    .join(tmp);
  expect(closing).toContain(`try_files ${CLOSE_MARKER}`);
  const file = path.join(tmp, "Caddyfile");
  fs.writeFileSync(
    file,
    `{\n\tadmin localhost:${admin}\n}\n\nhttp://127.0.0.1:${upstream} {\n\tbind 127.0.0.1\n\trespond "up"\n}\n\n` +
      `http://127.0.0.1:${site} {\n\tbind 127.0.0.1\n${closing}\n\thandle {\n\t\treverse_proxy 127.0.0.1:${upstream}\n\t}\n}\n`,
  );
  const caddy = spawn("caddy", ["run", "--config", file, "--adapter", "caddyfile"], {
    detached: true,
    env: { PATH: process.env.PATH, HOME: tmp, XDG_DATA_HOME: tmp, XDG_CONFIG_HOME: tmp },
  });
  wrapper = caddy;
  // Two requests on one keep-alive agent: the sockets it used tell whether the first was kept.
  const twoRequests = async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const one = () =>
      new Promise<{ connection?: string; socket: unknown }>((resolve, reject) => {
        const req = http.get({ host: "127.0.0.1", port: site, path: "/", agent }, (res) => {
          res.resume();
          res.on("end", () => resolve({ connection: res.headers.connection, socket: req.socket }));
        });
        req.on("error", reject);
      });
    const a = await one();
    const b = await one();
    agent.destroy();
    return { header: a.connection, reused: a.socket === b.socket };
  };
  for (let t0 = Date.now(); ; await new Promise((r) => setTimeout(r, 100))) {
    if ((await get(site)).body === "up") break;
    if (Date.now() - t0 > 10000) throw new Error("Caddy did not start");
  }
  expect(await twoRequests()).toEqual({ header: undefined, reused: true });
  fs.writeFileSync(path.join(tmp, CLOSE_MARKER), "");
  expect(await twoRequests()).toEqual({ header: "close", reused: false });
  fs.rmSync(path.join(tmp, CLOSE_MARKER));
  expect(await twoRequests()).toEqual({ header: undefined, reused: true });
});

test("real Caddy: behind the load balancer, the rendered health-check site answers 503 while the marker exists, and the sites still serve", async () => {
  const [admin, port] = [await freePort(), await freePort()];
  const rendered = renderCaddyfile({
    sites: [
      {
        host: "app.example.com",
        https: false,
        routes: [],
      },
    ],
    behindLoadBalancer: true,
  });
  // The rendered sites on a loopback port of the test's (port 80 needs root), the marker in
  // the test's directory: otherwise the very text the edge runs.
  const body = rendered
    .slice(rendered.indexOf("\nhttp://app.example.com {"))
    .split("http://app.example.com {")
    .join(`http://app.example.com:${port} {`)
    .split("http:// {")
    .join(`http://:${port} {`)
    .split(SHARED_DIR)
    .join(tmp);
  const file = path.join(tmp, "Caddyfile");
  fs.writeFileSync(file, `{\n\tadmin localhost:${admin}\n}\n${body}`);
  const caddy = spawn("caddy", ["run", "--config", file, "--adapter", "caddyfile"], {
    detached: true,
    env: { PATH: process.env.PATH, HOME: tmp, XDG_DATA_HOME: tmp, XDG_CONFIG_HOME: tmp },
  });
  wrapper = caddy;
  const ask = (host: string) =>
    new Promise<{ status: number }>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port, path: "/", headers: { host }, agent: false }, (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0 }));
        })
        .on("error", reject);
    });
  for (let t0 = Date.now(); ; await new Promise((r) => setTimeout(r, 100))) {
    if ((await ask("10.0.0.5").catch(() => ({ status: 0 }))).status === 200) break;
    if (Date.now() - t0 > 10000) throw new Error("Caddy did not start");
  }
  // The balancer asks for the node's address: no site's host.
  expect((await ask("10.0.0.5")).status).toBe(200);
  // The site has no route here: its own 404, not the check's answer.
  expect((await ask("app.example.com")).status).toBe(404);
  fs.writeFileSync(path.join(tmp, CLOSE_MARKER), "");
  expect((await ask("10.0.0.5")).status).toBe(503);
  expect((await ask("app.example.com")).status).toBe(404);
});
