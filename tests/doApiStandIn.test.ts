/**
 * The DigitalOcean stand-in (tests/lab/do-api.ts) is as strict as DigitalOcean documents: the
 * scopes per endpoint (SCOPE_RULES, each row with its source in the OpenAPI specification), the
 * rate limit, and one action at a time per reserved IP. Every call the agent and the program's
 * scripts make has a row.
 */
import * as fs from "fs";
import * as path from "path";
import {
  FORBIDDEN,
  missingScopes,
  SCOPE_RULES,
  scopeRule,
  startDoApi,
  DoApiStandIn,
} from "./lab/do-api";
import { DATA_SCRIPTS } from "../components/data/volumes";
import { ENTRY_POINT_SCRIPTS } from "../components/entryPoint/entryPointPlan";

const TOKEN = "dop_v1_stand-in";
const IP = "198.51.100.9";

async function standIn(opts: Partial<Parameters<typeof startDoApi>[0]> = {}) {
  return startDoApi({
    token: TOKEN,
    actionSeconds: 0.5,
    droplets: [
      { id: 1, name: "m0", tags: ["c-manager"], publicIp: "203.0.113.1", privateIp: "10.0.0.1" },
      { id: 2, name: "m1", tags: ["c-manager"], publicIp: "203.0.113.2", privateIp: "10.0.0.2" },
    ],
    reservedIps: [{ ip: IP, region: "fra1", dropletId: 1 }],
    ...opts,
  });
}

const call = (api: DoApiStandIn, method: string, p: string, body?: object) =>
  fetch(`${api.url}${p}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe("the scope table", () => {
  test("every row names its source in the specification", () => {
    for (const r of SCOPE_RULES) {
      expect(r.source).toMatch(/^specification\/resources\/[a-z_A-Z]+\/[A-Za-z_]+\.yml/);
      expect(r.scopes.length).toBeGreaterThan(0);
    }
  });

  test("every DigitalOcean call in the agent and the program's scripts has a row", () => {
    // `api METHOD "PATH..."` and the install's `read_check SCOPE "WHAT" "PATH..."` (a GET) in
    // the scripts; variables stand for one segment (read_check's own `api GET "$path"` is skipped).
    const found: string[] = [];
    for (const [dir, script] of [
      [ENTRY_POINT_SCRIPTS, "failover-agent.sh"],
      [DATA_SCRIPTS, "volume-snapshot.sh"],
      [DATA_SCRIPTS, "volume-release.sh"],
    ]) {
      const text = fs.readFileSync(path.join(dir, script), "utf8");
      const calls = text.matchAll(
        /\b(?:api (GET|POST|DELETE|PUT)|read_check \S+ "[^"]*") "(\/[^"?]*)(?:\?([^"]*))?"/g,
      );
      for (const m of calls) {
        const method = m[1] ?? "GET";
        const p = `/v2${m[2].replace(/\$\{?\w+\}?/g, "x")}`;
        found.push(`${method} ${p}${m[3]?.includes("tag_name") ? "?tag_name" : ""}`);
        expect([script, method, p, scopeRule(method, p)?.path]).toEqual([
          script,
          method,
          p,
          expect.any(String),
        ]);
      }
    }
    expect(found).toEqual(
      expect.arrayContaining([
        "GET /v2/reserved_ips/x",
        "GET /v2/droplets",
        "GET /v2/droplets?tag_name",
        "GET /v2/reserved_ips/x/actions",
        "GET /v2/reserved_ips/x/actions/x",
        "POST /v2/reserved_ips/x/actions",
        "GET /v2/volumes/x",
        "GET /v2/volumes/x/snapshots",
        "POST /v2/volumes/x/snapshots",
      ]),
    );
  });

  test("listing droplets by tag needs tag:read besides droplet:read", () => {
    const u = (q: string) => new URL(`http://x/v2/droplets${q}`);
    expect(missingScopes("GET", u("?per_page=1"), ["droplet:read"])).toEqual([]);
    expect(missingScopes("GET", u("?tag_name=c-manager"), ["droplet:read"])).toEqual(["tag:read"]);
    expect(missingScopes("GET", u("?tag_name=c"), undefined)).toEqual([]);
  });
});

describe("the stand-in", () => {
  test("a call the token's scopes do not allow: 403 with DigitalOcean's body", async () => {
    const api = await standIn({ scopes: ["reserved_ip:read", "droplet:read"] });
    try {
      const tagged = await call(api, "GET", "/v2/droplets?tag_name=c-manager");
      expect(tagged.status).toBe(403);
      expect(await tagged.json()).toEqual(FORBIDDEN);
      expect((await call(api, "GET", "/v2/droplets")).status).toBe(200);
      expect((await call(api, "GET", `/v2/reserved_ips/${IP}`)).status).toBe(200);
      const post = await call(api, "POST", `/v2/reserved_ips/${IP}/actions`, {
        type: "assign",
        droplet_id: 2,
      });
      expect(post.status).toBe(403);
      expect(api.holder(IP)).toBe(1);
      api.setScopes(undefined);
      expect((await call(api, "GET", "/v2/droplets?tag_name=c-manager")).status).toBe(200);
    } finally {
      await api.close();
    }
  });

  test("the lab's /_lab/scopes revokes and grants a scope at run time; /_lab/log has the statuses", async () => {
    const api = await standIn({ scopes: ["reserved_ip:read", "droplet:read", "tag:read"] });
    const lab = (method: string, p: string, body?: object) =>
      fetch(`${api.url}${p}`, {
        method,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    try {
      expect((await call(api, "GET", "/v2/droplets?tag_name=c-manager")).status).toBe(200);
      const put = await lab("PUT", "/_lab/scopes", {
        scopes: ["reserved_ip:read", "droplet:read"],
      });
      expect(put.status).toBe(200);
      expect(await put.json()).toEqual({ scopes: ["reserved_ip:read", "droplet:read"] });
      expect((await call(api, "GET", "/v2/droplets?tag_name=c-manager")).status).toBe(403);
      expect((await lab("PUT", "/_lab/scopes", { scopes: "tag:read" })).status).toBe(400);
      await lab("PUT", "/_lab/scopes", { scopes: null });
      expect(await (await lab("GET", "/_lab/scopes")).json()).toEqual({ scopes: null });
      expect((await call(api, "GET", "/v2/droplets?tag_name=c-manager")).status).toBe(200);
      // The lab's own calls are neither logged nor counted.
      expect(await (await lab("GET", "/_lab/log")).json()).toEqual({
        calls: [
          "GET /v2/droplets?tag_name=c-manager",
          "GET /v2/droplets?tag_name=c-manager",
          "GET /v2/droplets?tag_name=c-manager",
        ],
        statuses: [200, 403, 200],
      });
    } finally {
      await api.close();
    }
  });

  test("429 past the per-minute limit, with ratelimit-* headers and retry-after", async () => {
    const api = await standIn({ rateLimit: { perMinute: 3, perHour: 5000 } });
    try {
      const first = await call(api, "GET", `/v2/reserved_ips/${IP}`);
      expect(first.headers.get("ratelimit-limit")).toBe("5000");
      expect(first.headers.get("ratelimit-remaining")).toBe("2");
      await call(api, "GET", `/v2/reserved_ips/${IP}`);
      await call(api, "GET", `/v2/reserved_ips/${IP}`);
      const refused = await call(api, "GET", `/v2/reserved_ips/${IP}`);
      expect(refused.status).toBe(429);
      expect(await refused.json()).toEqual({
        id: "too_many_requests",
        message: "API Rate limit exceeded.",
      });
      expect(refused.headers.get("ratelimit-remaining")).toBe("0");
      const wait = Number(refused.headers.get("retry-after"));
      expect(wait).toBeGreaterThanOrEqual(59);
      expect(wait).toBeLessThanOrEqual(60);
      const reset = Number(refused.headers.get("ratelimit-reset"));
      expect(Math.abs(reset - (Date.now() / 1000 + wait))).toBeLessThan(2);
    } finally {
      await api.close();
    }
  });

  test("the default limit is DigitalOcean's: 250 a minute", async () => {
    const api = await standIn();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 251; i++)
        statuses.push((await call(api, "GET", `/v2/reserved_ips/${IP}`)).status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(250);
      expect(statuses[250]).toBe(429);
    } finally {
      await api.close();
    }
  });

  test("a second action, or the IP's DELETE, while one is pending: 422; DELETE after it: 204", async () => {
    const api = await standIn();
    try {
      const act = (body: object) => call(api, "POST", `/v2/reserved_ips/${IP}/actions`, body);
      expect((await act({ type: "unassign" })).status).toBe(201);
      const second = await act({ type: "assign", droplet_id: 2 });
      expect(second.status).toBe(422);
      expect(((await second.json()) as { id: string }).id).toBe("unprocessable_entity");
      expect((await call(api, "DELETE", `/v2/reserved_ips/${IP}`)).status).toBe(422);
      await api.idle();
      expect(api.holder(IP)).toBeUndefined();
      const actions = (await (await call(api, "GET", `/v2/reserved_ips/${IP}/actions`)).json()) as {
        actions: { status: string }[];
      };
      expect(actions.actions.map((a) => a.status)).toEqual(["completed"]);
      expect((await call(api, "DELETE", `/v2/reserved_ips/${IP}`)).status).toBe(204);
      expect((await call(api, "GET", `/v2/reserved_ips/${IP}`)).status).toBe(404);
    } finally {
      await api.close();
    }
  });
});
