// The route options as renderCaddyfile writes them, run by the REAL Caddy (Debian's 2.6.2, the
// one CI installs; every directive is also checked against v2.11.4's source, see caddyfile.ts):
// the whole rendered Caddyfile, with only what a test machine needs changed: the sites' port
// (`http_port`), the internal listener's port, the admin endpoint, and each service's
// `dynamic a` (swarm's DNS) replaced by the address of a local upstream. The sites are http://
// (no certificate here); HSTS is asserted on an http site planned with `hsts` set.
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { planEdge } from "../components/edge";
import { HSTS_VALUE, MAINTENANCE_PAGE, withBasicAuthHashes } from "../components/edge/caddyfile";
import { EdgeSettings } from "../components/edge/config";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  ms: number;
}

function get(port: number, host: string, p: string, headers: http.OutgoingHttpHeaders = {}) {
  const t0 = Date.now();
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path: p, headers: { Host: host, ...headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            ms: Date.now() - t0,
          }),
        );
      },
    );
    req.setTimeout(20000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/** A backend that answers with the path it received (and what the test asks for). */
function backend(name: string) {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.url ?? "");
    if (req.url?.startsWith("/big")) {
      res.setHeader("Content-Type", "text/html; charset=utf-8");
      res.end(`<p>${name}</p>`.repeat(200));
      return;
    }
    if (req.url?.startsWith("/stream")) {
      res.setHeader("Content-Type", "text/event-stream");
      res.end("data: x\n\n".repeat(200));
      return;
    }
    if (req.url?.startsWith("/framed")) res.setHeader("X-Frame-Options", "DENY");
    res.setHeader("Content-Type", "text/plain");
    res.end(`${name} ${req.url}`);
  });
  return {
    seen,
    listen: () =>
      new Promise<number>((r) =>
        server.listen(0, "127.0.0.1", () => r((server.address() as net.AddressInfo).port)),
      ),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const PASSWORD = "correct horse";
let tmp: string;
let caddy: ChildProcess | undefined;
let stdout = "";
let site: number;
const web = backend("web");
const api = backend("api");
let hash: string;

const edge: EdgeSettings = {
  image: "caddy:2.11.4-alpine",
  routes: [
    { host: "example.com", stack: "shop", service: "web", port: 3000, redirectFrom: ["www"] },
    {
      host: "example.com",
      stack: "shop",
      service: "api",
      port: 8080,
      path: "/api",
      stripPrefix: true,
    },
    {
      host: "example.com",
      stack: "shop",
      service: "web",
      port: 3000,
      path: "/admin",
      basicAuth: { users: { alice: "edgeAliceHash" } },
    },
    {
      host: "example.com",
      stack: "shop",
      service: "web",
      port: 3000,
      path: "/down",
      maintenance: true,
    },
    { host: "example.com", path: "/old", redirect: { url: "https://new.example.com", code: 308 } },
    {
      host: "example.com",
      path: "/docs",
      redirect: { url: "https://docs.example.com/", code: 302, keepPath: false },
    },
    { host: "example.com", stack: "shop", service: "gone", port: 80, path: "/gone" },
  ],
};
const domains = [
  // Plain HTTP here (no certificate on a test machine); HSTS asked for by the domain's https
  // would need TLS: the test plans the sites, then marks example.com's as HSTS (below).
  { name: "example.com", https: false },
  { name: "www.example.com", https: false },
];

beforeAll(async () => {
  if (spawnSync("caddy", ["version"]).status !== 0) {
    throw new Error("caddy not found: apt-get install caddy (CI does)");
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-edge-options-"));
  hash = spawnSync("caddy", ["hash-password", "--plaintext", PASSWORD]).stdout.toString().trim();
  const [webPort, apiPort] = [await web.listen(), await api.listen()];
  const [admin, internal] = [await freePort(), await freePort()];
  site = await freePort();
  const plan = planEdge(edge, domains, "reservedIp");
  expect(plan.basicAuthKeys).toEqual(["edgeAliceHash"]);
  expect(plan.caddyfile).toContain("\t\t\talice [secret:edgeAliceHash]\n");
  let text = withBasicAuthHashes(plan.caddyfile, { edgeAliceHash: hash });
  expect(text).not.toContain("[secret:");
  // HSTS as an https domain's site gets it (asserted line by line in tests/edge.test.ts).
  text = text.replace(
    "http://example.com {\n",
    `http://example.com {\n\theader ?Strict-Transport-Security "${HSTS_VALUE}"\n`,
  );
  const upstreams: Record<string, string> = {
    "tasks.shop_web": `to 127.0.0.1:${webPort}`,
    "tasks.shop_api": `to 127.0.0.1:${apiPort}`,
  };
  text = text
    .replace(/dynamic a \{\n\t*name (\S+)\n[^}]*\}/g, (whole, name: string) =>
      // shop/gone keeps swarm's DNS name: no such name here, as for a service with no task.
      name in upstreams ? upstreams[name] : whole.replace(name, "tasks.shop-gone.invalid"),
    )
    .replace("127.0.0.1:9180", `127.0.0.1:${internal}`)
    .replace("{\n", `{\n\tadmin localhost:${admin}\n\thttp_port ${site}\n`);
  const file = path.join(tmp, "Caddyfile");
  fs.writeFileSync(file, text);
  caddy = spawn("caddy", ["run", "--config", file, "--adapter", "caddyfile"], {
    env: { PATH: process.env.PATH, HOME: tmp, XDG_DATA_HOME: tmp, XDG_CONFIG_HOME: tmp },
  });
  let stderr = "";
  caddy.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  caddy.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const until = Date.now() + 15000;
  for (;;) {
    const up = await get(site, "example.com", "/").then(
      (a) => a.status === 200,
      () => false,
    );
    if (up) break;
    if (Date.now() > until) throw new Error(`Caddy did not start:\n${stderr}\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 30000);

afterAll(async () => {
  if (caddy?.pid !== undefined) process.kill(caddy.pid, "SIGKILL");
  await web.close();
  await api.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("a redirect route answers its code and Location, with or without the request's path", async () => {
  const a = await get(site, "example.com", "/old/page?x=1");
  expect(a.status).toBe(308);
  expect(a.headers.location).toBe("https://new.example.com/old/page?x=1");
  const b = await get(site, "example.com", "/docs/anything");
  expect(b.status).toBe(302);
  expect(b.headers.location).toBe("https://docs.example.com/");
});

test("redirectFrom www: every request of the www twin goes to the host, path and query kept", async () => {
  const a = await get(site, "www.example.com", "/shop/item?id=3");
  expect(a.status).toBe(301);
  expect(a.headers.location).toBe("http://example.com/shop/item?id=3");
});

test("stripPrefix: the service gets the path without the prefix (any case, as the matcher)", async () => {
  expect((await get(site, "example.com", "/api/orders?n=1")).body.toString()).toBe(
    "api /orders?n=1",
  );
  expect((await get(site, "example.com", "/API/orders")).body.toString()).toBe("api /orders");
  expect((await get(site, "example.com", "/api")).body.toString()).toBe("api /");
  // Not the prefix of another word: /apiary is the catch-all's, unchanged.
  expect((await get(site, "example.com", "/apiary")).body.toString()).toBe("web /apiary");
});

test("basic auth: 401 without or with wrong credentials, the service with them", async () => {
  const none = await get(site, "example.com", "/admin/users");
  expect(none.status).toBe(401);
  expect(none.headers["www-authenticate"]).toMatch(/^Basic /);
  const auth = (pw: string) => ({
    Authorization: `Basic ${Buffer.from(`alice:${pw}`).toString("base64")}`,
  });
  expect((await get(site, "example.com", "/admin/users", auth("wrong"))).status).toBe(401);
  const ok = await get(site, "example.com", "/admin/users", auth(PASSWORD));
  expect(ok.status).toBe(200);
  expect(ok.body.toString()).toBe("web /admin/users");
});

test("security headers and HSTS where the service set none; the service's own value kept", async () => {
  const a = await get(site, "example.com", "/");
  expect(a.headers["strict-transport-security"]).toBe(HSTS_VALUE);
  expect(a.headers["x-content-type-options"]).toBe("nosniff");
  expect(a.headers["referrer-policy"]).toBe("strict-origin-when-cross-origin");
  expect(a.headers["x-frame-options"]).toBe("SAMEORIGIN");
  const framed = await get(site, "example.com", "/framed");
  expect(framed.headers["x-frame-options"]).toBe("DENY");
  // The other security headers are still set (one directive per field).
  expect(framed.headers["x-content-type-options"]).toBe("nosniff");
});

test("compression: gzip or zstd when accepted, never for an event stream", async () => {
  const gz = await get(site, "example.com", "/big", { "Accept-Encoding": "gzip" });
  expect(gz.headers["content-encoding"]).toBe("gzip");
  expect(zlib.gunzipSync(gz.body).toString()).toBe("<p>web</p>".repeat(200));
  const plain = await get(site, "example.com", "/big");
  expect(plain.headers["content-encoding"]).toBeUndefined();
  const sse = await get(site, "example.com", "/stream", { "Accept-Encoding": "gzip" });
  expect(sse.headers["content-encoding"]).toBeUndefined();
});

test("maintenance: 503 with the page, the service not asked", async () => {
  const before = web.seen.length;
  const a = await get(site, "example.com", "/down/anything");
  expect(a.status).toBe(503);
  expect(a.headers["content-type"]).toBe("text/html; charset=utf-8");
  expect(a.headers["retry-after"]).toBe("120");
  expect(a.body.toString()).toBe(MAINTENANCE_PAGE);
  expect(web.seen.length).toBe(before);
});

test("a service with no task: after the retries, a 503 that says which service", async () => {
  const a = await get(site, "example.com", "/gone/x");
  expect(a.status).toBe(503);
  expect(a.body.toString()).toContain("503 no task of shop/gone is running");
  expect(a.headers["content-type"]).toBe("text/plain; charset=utf-8");
  // The retries still wait for a task to come (PROXY_TIMING: 20 x 250 ms).
  expect(a.ms).toBeGreaterThanOrEqual(4500);
}, 20000);

test("access log: one JSON line per request on stdout", async () => {
  await get(site, "example.com", "/logged-path");
  await new Promise((r) => setTimeout(r, 300));
  const lines = stdout
    .split("\n")
    .filter((l) => l.includes("/logged-path"))
    .map(
      (l) =>
        JSON.parse(l) as { logger: string; request: { uri: string; host: string }; status: number },
    );
  expect(lines).toHaveLength(1);
  expect(lines[0].logger).toMatch(/^http\.log\.access/);
  expect(lines[0].request).toMatchObject({ uri: "/logged-path", host: "example.com" });
  expect(lines[0].status).toBe(200);
});
