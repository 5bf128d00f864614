// The route options' validation (each bad value refused with its key, the value and the fix),
// their plan (checkRoutes, planSites) and their rendered lines. Real Caddy runs them in
// tests/edgeOptions.test.ts; `caddy validate` checks the fixtures (tests/fixtures/edge/cases.ts).
import { checkRoutes, planEdge } from "../components/edge";
import {
  COMPRESSED_TYPES,
  DEFAULT_VPC_IP_RANGE,
  withBasicAuthHashes,
} from "../components/edge/caddyfile";
import { basicAuthKeys, isBcryptHash, validateEdge } from "../components/edge/config";
import { NETWORK_DEFAULTS } from "../components/swarm/networkConfig";
import { ROUTE_OPTIONS } from "./fixtures/edge/cases";

const problems = (raw: unknown) => {
  const out: string[] = [];
  validateEdge(raw, (key, value, fix) =>
    out.push(`do-swarm:${key} = ${JSON.stringify(value)}: ${fix}`),
  );
  return out;
};
const route = { host: "app.example.com", stack: "shop", service: "web", port: 3000 };

test("the options' fixture is valid as it is", () => {
  expect(problems(ROUTE_OPTIONS.edge)).toEqual([]);
});

test("bad options: one problem each, naming key, value and fix", () => {
  expect(
    problems({
      hsts: "yes",
      compression: 0,
      routes: [
        { ...route, redirect: { url: "https://x.example.com" } },
        {
          host: "app.example.com",
          path: "/a",
          redirect: { url: "ftp://x", code: 303, keepPath: 1, to: 1 },
        },
        { ...route, path: "/b", stripPrefix: "yes" },
        { ...route, path: "/c", basicAuth: { users: { alice: "$2a$14$abc" } } },
        { ...route, path: "/d", basicAuth: { users: {} } },
        { ...route, path: "/e", maintenance: "on" },
        { ...route, path: "/f", redirectFrom: ["WWW.example.com"] },
        { ...route, path: "/g", basicAuth: { users: { "al ice": "aliceHash" } } },
        { host: "other.example.com", stack: "shop", service: "web", port: 3000, stripPrefix: true },
      ],
    }),
  ).toEqual([
    'do-swarm:edge.hsts = "yes": use true or false (default true)',
    "do-swarm:edge.compression = 0: use true or false (default true)",
    'do-swarm:edge.routes[0].stack = "shop": a redirect route proxies nothing: remove this setting, or remove redirect',
    'do-swarm:edge.routes[0].service = "web": a redirect route proxies nothing: remove this setting, or remove redirect',
    "do-swarm:edge.routes[0].port = 3000: a redirect route proxies nothing: remove this setting, or remove redirect",
    "do-swarm:edge.routes[1].redirect.to = 1: unknown setting; use url, code or keepPath",
    'do-swarm:edge.routes[1].redirect.url = "ftp://x": use an absolute http(s) URL such as https://new.example.com (no spaces, braces or quotes)',
    "do-swarm:edge.routes[1].redirect.code = 303: use 301 or 308 (permanent: browsers cache it) or 302 or 307 (temporary)",
    "do-swarm:edge.routes[1].redirect.keepPath = 1: use true (append the request's path and query to url) or false",
    'do-swarm:edge.routes[2].stripPrefix = "yes": use true or false',
    `do-swarm:edge.routes[3].basicAuth.users.alice = "(a hash)": name the config key holding alice's bcrypt hash (not the hash itself), e.g. "edgeAdminHash", set with: pulumi config set --secret edgeAdminHash "$(caddy hash-password)"`,
    `do-swarm:edge.routes[4].basicAuth = {"users":{}}: use { "users": { "alice": "<name of a secret config key holding alice's bcrypt hash>" } }`,
    'do-swarm:edge.routes[5].maintenance = "on": use true (answer 503 with a maintenance page) or false',
    `do-swarm:edge.routes[6].redirectFrom = ["WWW.example.com"]: use a list of host names out of do-swarm:domains, or "www" for the host's www twin (www.example.com for example.com and the reverse)`,
    'do-swarm:edge.routes[7].basicAuth.users = "al ice": use user names of letters, digits and . _ @ - (no colon or space)',
    'do-swarm:edge.routes[8].stripPrefix = true: strip a prefix only with a path: add "path": "/prefix" or remove it',
  ]);
});

test("paths differing only in case are refused: Caddy's path matcher would let one shadow the other", () => {
  expect(
    problems({
      routes: [
        { ...route, path: "/api" },
        { ...route, path: "/API", port: 8080 },
      ],
    }),
  ).toEqual([
    `do-swarm:edge.routes[1] = {"host":"app.example.com","path":"/API"}: this path differs only in case from edge.routes[0]'s, and Caddy matches paths case-insensitively, so one would shadow the other: merge them or give a different path`,
  ]);
});

test("redirectFrom: itself, twice, or a host that is also routed are refused", () => {
  expect(
    problems({
      routes: [
        { ...route, host: "example.com", redirectFrom: ["www", "example.com"] },
        { ...route, host: "shop.example.com", redirectFrom: ["www.example.com"] },
        { ...route, host: "www.example.com" },
      ],
    }),
  ).toEqual([
    'do-swarm:edge.routes[0].redirectFrom = ["www","example.com"]: a host cannot redirect to itself: remove it',
    'do-swarm:edge.routes[1].redirectFrom = ["www.example.com"]: www.example.com is already redirected by edge.routes[0]: name it once',
    'do-swarm:edge.routes[2].host = "www.example.com": edge.routes[0].redirectFrom redirects every request of www.example.com: remove this route or the redirect',
  ]);
});

test("a redirected host must be one of domains (its DNS record and certificate); redirect routes name no stack", () => {
  const edge = validateEdge(
    {
      routes: [
        { ...route, host: "example.com", redirectFrom: ["www"] },
        { host: "example.com", path: "/old", redirect: { url: "https://new.example.com" } },
      ],
    },
    () => undefined,
  )!;
  expect(
    checkRoutes(edge.routes, {
      stacks: [{ name: "shop", file: "shop.yml", services: { web: [3000] } }],
      domains: [{ name: "example.com", https: true }],
      configured: ["shop"],
    }),
  ).toEqual([
    `do-swarm:edge.routes[0].redirectFrom = ["www"]: www.example.com is not one of do-swarm:domains (example.com); add { "name": "www.example.com", "zone": "..." } to domains (its DNS record and certificate), or remove it`,
  ]);
});

test("basic-auth config keys are read from the raw config; hashes in both of Caddy's forms", () => {
  expect(basicAuthKeys(ROUTE_OPTIONS.edge)).toEqual(["edgeAliceHash"]);
  const mcf = "$2a$14$V7Zh4qsFLbiPFEZ4v9Zwy.iTxUG9FsYdTBusBddXdL3gTA/FGY4GW";
  expect(isBcryptHash(mcf)).toBe(true);
  expect(isBcryptHash(Buffer.from(mcf).toString("base64"))).toBe(true);
  expect(isBcryptHash("hunter2")).toBe(false);
  expect(isBcryptHash("$2a$14$short")).toBe(false);
});

test("rendered: the options' exact lines", () => {
  const c = planEdge(ROUTE_OPTIONS.edge, ROUTE_OPTIONS.domains, "reservedIp").caddyfile;
  // HSTS on the https site, one `header ?Field` per field; not on the plain-HTTP one.
  expect(c).toContain(
    "\theader @closing Connection close\n" +
      '\theader ?Strict-Transport-Security "max-age=31536000"\n' +
      '\theader ?X-Content-Type-Options "nosniff"\n' +
      '\theader ?Referrer-Policy "strict-origin-when-cross-origin"\n' +
      '\theader ?X-Frame-Options "SAMEORIGIN"\n' +
      "\tencode zstd gzip {\n\t\tmatch {\n" +
      COMPRESSED_TYPES.map((t) => `\t\t\theader Content-Type ${t}\n`).join("") +
      "\t\t}\n\t}\n" +
      "\tlog {\n\t\toutput stdout\n\t\tformat json\n\t}\n",
  );
  expect(c.match(/Strict-Transport-Security/g)).toHaveLength(2); // example.com, www.example.com
  expect(c).toContain("https://www.example.com {\n\ttls {\n\t\ton_demand\n\t}\n");
  expect(c).toContain("\thandle {\n\t\tredir https://example.com{uri} 301\n\t}\n");
  expect(c).toContain(
    "\t@route3 path /old /old/*\n\thandle @route3 {\n\t\tredir https://new.example.com{uri} 308\n\t}\n",
  );
  expect(c).toContain(
    "\thandle @route0 {\n\t\tbasicauth {\n\t\t\talice [secret:edgeAliceHash]\n\t\t}\n" +
      "\t\tvars edge_service shop/web\n\t\treverse_proxy {",
  );
  expect(c).toContain(
    "\t\tvars edge_service shop/api\n\t\turi strip_prefix /api\n\t\treverse_proxy {",
  );
  expect(c).toContain('\t\theader Retry-After 120\n\t\trespond "<!DOCTYPE html>');
  expect(c).toContain(
    "\thandle_errors {\n\t\t@no_task expression {http.error.status_code} == 503\n" +
      '\t\theader @no_task Content-Type "text/plain; charset=utf-8"\n' +
      '\t\trespond @no_task "503 no task of {http.vars.edge_service} is running',
  );
  // The on-demand gate admits the redirected https host too (it needs its certificate).
  expect(c).toContain("@allowed query domain=example.com domain=www.example.com");
  // The hash goes in only where the edge runs it.
  expect(withBasicAuthHashes(c, { edgeAliceHash: "$2a$x" })).toContain("\t\t\talice $2a$x\n");
  expect(() => withBasicAuthHashes(c, {})).toThrow("edgeAliceHash");
});

test("switched off: no HSTS, no security headers, no compression, no access log", () => {
  const c = planEdge(
    {
      ...ROUTE_OPTIONS.edge,
      hsts: false,
      securityHeaders: false,
      compression: false,
      accessLog: false,
    },
    ROUTE_OPTIONS.domains,
    "reservedIp",
  ).caddyfile;
  for (const s of ["Strict-Transport-Security", "X-Content-Type-Options", "encode", "\tlog {"]) {
    expect(c).not.toContain(s);
  }
});

test("behind the load balancer: HSTS on the https domains (the balancer serves them over HTTPS), X-Forwarded-* trusted from the VPC only", () => {
  const c = planEdge(
    ROUTE_OPTIONS.edge,
    ROUTE_OPTIONS.domains,
    "loadBalancer",
    false,
    "10.9.0.0/20",
  ).caddyfile;
  expect(c).toContain("http://example.com {");
  expect(c).toContain('\theader ?Strict-Transport-Security "max-age=31536000"');
  expect(c).toContain("\t\t\ttrusted_proxies 10.9.0.0/20\n");
  expect(c).not.toContain("private_ranges");
  expect(DEFAULT_VPC_IP_RANGE).toBe(NETWORK_DEFAULTS.vpcIpRange);
});
