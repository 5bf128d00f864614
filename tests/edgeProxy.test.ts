// The edge's reverse_proxy block as renderCaddyfile writes it, run by the REAL Caddy (Debian's
// 2.6.2, the one CI installs) against upstreams that misbehave the way a dead node or a flaky
// task does. Caddy 2.6.2 forgets a dynamic upstream's failures after each request, and 2.11.4
// (the image the edge ships) keeps them (#7539, hosts.go fillDynamicHost), as both versions do
// for static upstreams: so the upstreams here are static (`to`), which gives 2.6.2 the failure
// bookkeeping 2.11.4 has for `dynamic a`. Everything else in the block is the rendered text; only
// the response-header timeout is shortened so that the test takes seconds, not half a minute.
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { PROXY_TIMING, renderCaddyfile } from "../components/edge/caddyfile";
import { freePort } from "./tools/freePort";

interface Answer {
  status: number | string;
  body: string;
  ms: number;
}

function request(port: number, method = "GET", timeoutMs = 15000): Promise<Answer> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const req = http.request(
      { host: "127.0.0.1", port, path: "/", method, agent: false, timeout: timeoutMs },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, ms: Date.now() - t0 }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e: NodeJS.ErrnoException) =>
      resolve({ status: e.code ?? e.message, body: "", ms: Date.now() - t0 }),
    );
    req.end(method === "GET" ? undefined : "x=1");
  });
}

/** An upstream that answers with its name; `drop(n)` makes it reset the next n connections. */
function upstream(name: string, port: number) {
  let drops = 0;
  const server = http.createServer((req, res) => {
    if (drops > 0) {
      drops--;
      req.socket.destroy();
      return;
    }
    res.setHeader("Content-Type", "text/plain");
    res.end(name);
  });
  server.keepAliveTimeout = 60000;
  return {
    drop: (n: number) => (drops = n),
    listen: () => new Promise<void>((r) => server.listen(port, "127.0.0.1", r)),
    close: () => new Promise<void>((r) => server.close(() => r())),
    server,
  };
}

/** An upstream that accepts connections and reads requests but never answers: a dead node's task. */
function silent(port: number) {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on("data", () => undefined);
  });
  return {
    listen: () => new Promise<void>((r) => server.listen(port, "127.0.0.1", r)),
    close: () =>
      new Promise<void>((r) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => r());
      }),
  };
}

/** The rendered proxy block of one route, with its upstreams replaced by `to` addresses. */
function proxyBlock(to: number[], headerTimeout: string): string {
  const c = renderCaddyfile({
    sites: [
      {
        host: "app.example.com",
        https: false,
        routes: [{ stack: "shop", service: "web", port: 80 }],
      },
    ],
  });
  const start = c.indexOf("reverse_proxy {");
  const end = c.indexOf("\n\t\t}\n", start);
  const block = c
    .slice(start, end + 4)
    .replace(/dynamic a \{[^}]*\}/, `to ${to.map((p) => `127.0.0.1:${p}`).join(" ")}`)
    .replace(
      `response_header_timeout ${PROXY_TIMING.responseHeaderTimeout}`,
      `response_header_timeout ${headerTimeout}`,
    );
  if (!block.includes(`response_header_timeout ${headerTimeout}`) || !block.includes("\tto ")) {
    throw new Error(`the rendered proxy block changed shape:\n${block}`);
  }
  return block;
}

let tmp: string;
let caddy: ChildProcess | undefined;
const cleanups: (() => Promise<void>)[] = [];
beforeEach(() => {
  if (spawnSync("caddy", ["version"]).status !== 0) {
    throw new Error("caddy not found: apt-get install caddy (CI does)");
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-edge-proxy-"));
});
afterEach(async () => {
  if (caddy?.pid !== undefined) {
    try {
      process.kill(caddy.pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
  caddy = undefined;
  for (const c of cleanups.splice(0)) await c();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs Caddy with the block on a loopback port; resolves with that port once it answers. */
async function runCaddy(block: string): Promise<number> {
  const [admin, site] = [await freePort(), await freePort()];
  const file = path.join(tmp, "Caddyfile");
  fs.writeFileSync(
    file,
    `{\n\tadmin localhost:${admin}\n}\n\nhttp://127.0.0.1:${site} {\n\tbind 127.0.0.1\n\t${block}\n}\n`,
  );
  let log = "";
  caddy = spawn("caddy", ["run", "--config", file, "--adapter", "caddyfile"], {
    env: { PATH: process.env.PATH, HOME: tmp, XDG_DATA_HOME: tmp, XDG_CONFIG_HOME: tmp },
  });
  caddy.stderr?.on("data", (d: Buffer) => (log += d.toString()));
  const until = Date.now() + 15000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(site, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return site;
    if (Date.now() > until) throw new Error(`Caddy did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("real Caddy: a single-replica service that dropped one request serves the next at once", async () => {
  const port = await freePort();
  const web = upstream("web", port);
  await web.listen();
  cleanups.push(web.close);
  const site = await runCaddy(proxyBlock([port], "5s"));
  expect((await request(site)).body).toBe("web");
  web.drop(1);
  // The dropped request: a GET is retried (Caddy retries GET after a non-dial error), so even
  // this one is answered. What matters is the next ones: with max_fails 1 the only task was
  // skipped for fail_duration, and every request waited out the retries, then got 503.
  const dropped = await request(site);
  expect(dropped.status).toBe(200);
  for (let i = 0; i < 5; i++) {
    const a = await request(site);
    expect(a).toMatchObject({ status: 200, body: "web" });
    expect(a.ms).toBeLessThan(1000);
  }
  // A POST that the task dropped is not retried (it may have been acted on): 502, and the
  // service goes on answering at once.
  web.drop(1);
  expect((await request(site, "POST")).status).toBe(502);
  const next = await request(site, "POST");
  expect(next).toMatchObject({ status: 200, body: "web" });
  expect(next.ms).toBeLessThan(1000);
}, 30000);

/** A silent upstream and a good one behind the rendered block (header timeout 1 s); Caddy's port. */
async function deadAndGood(): Promise<number> {
  const [deadPort, goodPort] = [await freePort(), await freePort()];
  const dead = silent(deadPort);
  const good = upstream("good", goodPort);
  await dead.listen();
  await good.listen();
  cleanups.push(dead.close, good.close);
  // Round robin over [dead, good]: every other pick is the silent one.
  return runCaddy(proxyBlock([deadPort, goodPort], "1s"));
}

test("real Caddy: a GET sent to a task that never answers (a dead node) is answered by another task after the header timeout", async () => {
  const site = await deadAndGood();
  const gets = await Promise.all([0, 1, 2, 3].map(() => request(site)));
  for (const a of gets) expect(a).toMatchObject({ status: 200, body: "good" });
  // At least one met the silent task and was answered after the timeout, not before; a retry
  // can meet it once more (concurrent requests share the round robin) before it is skipped.
  const slow = gets.filter((a) => a.ms >= 1000);
  expect(slow.length).toBeGreaterThanOrEqual(1);
  for (const a of slow) expect(a.ms).toBeLessThan(3500);
  // Three failures in fail_duration: the silent task is skipped, the next GETs are immediate.
  const after = await Promise.all([0, 1, 2, 3].map(() => request(site)));
  for (const a of after) expect(a).toMatchObject({ status: 200, body: "good" });
  expect(Math.max(...after.map((a) => a.ms))).toBeLessThan(1000);
}, 30000);

test("real Caddy: a POST sent to a task that never answers gets 504 after the header timeout, never a hang", async () => {
  const site = await deadAndGood();
  const posts = await Promise.all([0, 1].map(() => request(site, "POST")));
  // One went to the silent task (round robin): not retried, since the task may have acted on it.
  expect(posts.map((a) => a.status).sort()).toEqual([200, 504]);
  const timedOut = posts.find((a) => a.status === 504)!;
  expect(timedOut.ms).toBeGreaterThanOrEqual(1000);
  expect(timedOut.ms).toBeLessThan(2000);
}, 30000);
