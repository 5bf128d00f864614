/** The edge's pure parts: config checks, route checks, the Caddyfile, its stack, the attachment. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createHash } from "crypto";
import { parse, stringify } from "yaml";
import { validateEdge } from "../components/edge/config";
import { renderStack } from "../components/compose";
import {
  attachNetwork,
  checkRoutes,
  planEdge,
  portConflicts,
  servicePorts,
  StackFacts,
} from "../components/edge";
import {
  CONFIG_LOAD_TIMEOUT_SECONDS,
  edgeBundle,
  HANDOFF_WAIT_SECONDS,
  LOAD_BALANCER_DRAIN_SECONDS,
} from "../components/edge/stack";
import { readScript } from "../components/core/remote";
import { EDGE_SCRIPTS } from "../components/edge/stack";
import { decodeBundle } from "../components/stacks/stackBundle";
import { requireDocker, stackConfig } from "./fixtures/compose/docker";
import { BEHIND_LB, EDGE_CASES, EdgeCase, LAB, NO_EMAIL, WEB_AND_API } from "./fixtures/edge/cases";

function edgeProblems(raw: unknown): string[] {
  const problems: string[] = [];
  validateEdge(raw, (key, value, fix) =>
    problems.push(`do-swarm:${key} = ${JSON.stringify(value)}: ${fix}`),
  );
  return problems;
}

describe("do-swarm:edge, each route on its own", () => {
  test("absent: no routes, the pinned Caddy image", () => {
    expect(edgeProblems(undefined)).toEqual([]);
    expect(validateEdge(undefined, () => undefined)).toEqual({
      routes: [],
      image: "caddy:2.11.4-alpine",
    });
  });

  test("a good config keeps email and routes as given", () => {
    expect(edgeProblems(WEB_AND_API.edge)).toEqual([]);
    expect(validateEdge(WEB_AND_API.edge, () => undefined)).toEqual(WEB_AND_API.edge);
  });

  test("every problem at once, each naming key, value and fix", () => {
    const p = edgeProblems({
      email: "not-an-email",
      image: "Caddy Latest",
      extra: 1,
      routes: [
        { host: "https://app.example.com", stack: "web", service: "web", port: 80 },
        { host: "app.example.com", stack: "", service: "", port: 0, path: "api/" },
        { host: "app.example.com", stack: "web", service: "web", port: 80, path: "/api/*" },
        { host: "API.example.com", stack: "web", service: "web", port: 80 },
        { host: "app.example.com", stack: "web", service: "web", port: 8080, weight: 2 },
        "app.example.com",
        { host: "10.0.0.1", stack: "web", service: "web", port: 80 },
        { host: "app.example.com", stack: "web", service: "api", port: 8080, path: "/api" },
        { host: "app.example.com", stack: "web", service: "api", port: 8081, path: "/api" },
        { host: "app.example.com", stack: "web", service: "web", port: 80 },
        { host: "app.example.com", stack: "web", service: "web", port: 80 },
      ],
    });
    expect(p).toEqual([
      "do-swarm:edge.extra = 1: unknown setting; use email, routes, image, hsts, securityHeaders, compression, accessLog",
      'do-swarm:edge.email = "not-an-email": use an email address such as ops@example.com, or leave it out',
      'do-swarm:edge.image = "Caddy Latest": use an image reference such as caddy:2.11.4-alpine',
      'do-swarm:edge.routes[0].host = "https://app.example.com": use a lowercase host name such as app.example.com (no scheme, port or path)',
      'do-swarm:edge.routes[1].stack = "": name a stack of do-swarm:stacks (or give the route a redirect)',
      'do-swarm:edge.routes[1].service = "": name a service of that stack\'s compose file',
      "do-swarm:edge.routes[1].port = 0: use the port the service listens on inside its containers (1-65535)",
      'do-swarm:edge.routes[1].path = "api/": use a path prefix such as "/api" (leading slash, no trailing slash, no wildcard)',
      'do-swarm:edge.routes[2].path = "/api/*": use a path prefix such as "/api" (leading slash, no trailing slash, no wildcard)',
      'do-swarm:edge.routes[3].host = "API.example.com": use a lowercase host name such as app.example.com (no scheme, port or path)',
      "do-swarm:edge.routes[4].weight = 2: unknown setting; use host, stack, service, port, path, redirect, stripPrefix, basicAuth, maintenance, redirectFrom",
      'do-swarm:edge.routes[5] = "app.example.com": each route is an object { host, stack, service, port, path? }',
      'do-swarm:edge.routes[6].host = "10.0.0.1": use a lowercase host name such as app.example.com (no scheme, port or path)',
      'do-swarm:edge.routes[8] = {"host":"app.example.com","path":"/api"}: this host and path are already routed by edge.routes[7]: remove one or give a different path',
      'do-swarm:edge.routes[9] = {"host":"app.example.com"}: this host and path are already routed by edge.routes[4]: remove one or give a different path',
      'do-swarm:edge.routes[10] = {"host":"app.example.com"}: this host and path are already routed by edge.routes[4]: remove one or give a different path',
    ]);
  });

  test("routes must be a list, the edge an object", () => {
    expect(edgeProblems({ routes: { host: "a.example.com" } })).toEqual([
      'do-swarm:edge.routes = {"host":"a.example.com"}: use a list of { host, stack, service, port, path? }',
    ]);
    expect(edgeProblems("app.example.com")[0]).toMatch(
      /^do-swarm:edge = "app.example.com": use an object/,
    );
  });
});

describe("routes against the rendered stacks and the domains", () => {
  const stacks: StackFacts[] = [
    { name: "shop", file: "stacks/shop.yml", services: { web: [3000], api: undefined } },
    { name: "admin", file: "stacks/admin.yml", services: { ui: [80, 443] } },
  ];
  const ctx = {
    stacks,
    domains: WEB_AND_API.domains,
    configured: ["shop", "admin", "broken"],
  };

  test("the worked example passes", () => {
    expect(checkRoutes(WEB_AND_API.edge.routes, ctx)).toEqual([]);
  });

  test("every problem at once: stack, service, host, port; a stack that did not render is not judged twice", () => {
    const p = checkRoutes(
      [
        { host: "app.example.com", stack: "shoop", service: "web", port: 3000 },
        { host: "app.example.com", stack: "shop", service: "wbe", port: 3000 },
        { host: "www.example.com", stack: "shop", service: "web", port: 3000 },
        { host: "app.example.com", stack: "shop", service: "web", port: 8080 },
        { host: "app.example.com", stack: "shop", service: "api", port: 1234, path: "/x" },
        { host: "app.example.com", stack: "broken", service: "x", port: 1, path: "/y" },
        { host: "app.example.com", stack: "do-swarm-edge", service: "caddy", port: 80, path: "/z" },
      ],
      ctx,
    );
    expect(p).toEqual([
      'do-swarm:edge.routes[0].stack = "shoop": no such stack in do-swarm:stacks (shop, admin, broken); fix the name or add the stack',
      'do-swarm:edge.routes[1].service = "wbe": stack shop (stacks/shop.yml) has no such service (services: web, api)',
      'do-swarm:edge.routes[2].host = "www.example.com": not one of do-swarm:domains (app.example.com, api.example.com, admin.example.com); add { "name": "www.example.com", "zone": "..." } to domains, which gives it its DNS record',
      'do-swarm:edge.routes[3].port = 8080: service web of stacks/shop.yml listens on 3000 (from its ports, expose and healthcheck); use one of those, or declare the port with expose: ["8080"]',
      'do-swarm:edge.routes[6].stack = "do-swarm-edge": that is the edge itself; route to a stack of do-swarm:stacks',
    ]);
  });

  test("without domains every host is refused", () => {
    expect(checkRoutes(LAB.edge.routes, { ...ctx, domains: [] })[0]).toContain(
      "not one of do-swarm:domains (none)",
    );
  });

  test("ports a service listens on: ports targets, expose as written, local healthcheck URLs", () => {
    const source = `
services:
  api:
    image: api
    expose: ["8081", "9000-9001/tcp"]
    healthcheck: { test: ["CMD", "wget", "-qO-", "http://localhost:8080/health"] }
  web:
    image: web
    ports: ["8000:3000", { target: 3001, published: 3001 }]
    healthcheck: { test: "curl -f http://127.0.0.1/ || exit 1" }
  worker:
    image: worker
    healthcheck: { test: ["CMD", "pgrep", "worker"] }
`;
    const rendered = renderStack({ file: "x.yml", text: source });
    expect(servicePorts(rendered.yaml, source)).toEqual({
      api: [8080, 8081, 9000, 9001],
      web: [80, 3000, 3001],
      worker: undefined,
    });
  });

  test("the edge's ports may not be published by a stack", () => {
    const edgePorts = planEdge(WEB_AND_API.edge, WEB_AND_API.domains).publicPorts;
    expect(edgePorts.map((p) => p.port)).toEqual([80, 443]);
    expect(
      portConflicts(edgePorts, [
        { port: 80, protocol: "tcp", source: "stack web, service web" },
        { port: 443, protocol: "udp", source: "stack web, service h3" },
        { port: 8000, protocol: "tcp", source: "stack coins, service webui" },
      ]),
    ).toEqual([
      "stack web, service web publishes 80/tcp, which the edge publishes on the entry nodes: route the service through do-swarm:edge and remove the published port",
    ]);
  });
});

describe("the Caddyfile", () => {
  const https = planEdge(WEB_AND_API.edge, WEB_AND_API.domains, "reservedIp");

  test("one site per host; HTTPS where the domain asks; paths most specific first, catch-all last", () => {
    const c = https.caddyfile;
    const siteLines = c.split("\n").filter((l) => /^\S.* \{$/.test(l));
    expect(siteLines).toEqual([
      "http://127.0.0.1:9180 {",
      "http://admin.example.com {",
      "https://api.example.com {",
      "https://app.example.com {",
    ]);
    const app = c.slice(c.indexOf("https://app.example.com {"));
    const order = [...app.matchAll(/name (tasks\.\S+)|@route\d+ path (\S+)|(handle \{)/g)].map(
      (m) => m[1] ?? m[2] ?? m[3],
    );
    expect(order).toEqual([
      "/api/v2/admin",
      "tasks.shop_api",
      "/api",
      "tasks.shop_api",
      "handle {",
      "tasks.shop_web",
    ]);
    // A path prefix matches itself and below, not a longer word.
    expect(app).toContain("@route1 path /api /api/*");
  });

  test("two services of one stack, each by swarm's tasks.<stack>_<service> name and its port", () => {
    const block = (name: string) => {
      const i = https.caddyfile.indexOf(`name ${name}`);
      return https.caddyfile.slice(i, https.caddyfile.indexOf("}", i));
    };
    expect(block("tasks.shop_web")).toContain("port 3000");
    expect(block("tasks.shop_api")).toContain("port 8080");
    // /api/v2/admin goes to the API's other port.
    expect(https.caddyfile).toContain("name tasks.shop_api\n\t\t\t\tport 8081");
    expect(https.caddyfile).toContain("name tasks.admin_ui\n\t\t\t\tport 80\n");
  });

  test("every proxy follows swarm within a second, retries on another task, gives up on a silent one, skips a failing one", () => {
    const proxies = https.caddyfile.split("reverse_proxy {").slice(1);
    expect(proxies).toHaveLength(5);
    for (const p of proxies) {
      for (const line of [
        "refresh 1s",
        "lb_policy round_robin",
        "lb_retries 20",
        "lb_try_interval 250ms",
        "fail_duration 10s",
        "max_fails 3",
        "dial_timeout 1s",
        "response_header_timeout 30s",
      ]) {
        expect(p).toContain(line);
      }
      // A try duration would forbid the retry of a GET that waited out the header timeout
      // (Caddy's tryAgain gives up once the try duration has passed since the request began).
      expect(p).not.toContain("lb_try_duration");
      // One failure ejects nothing: Caddy >= 2.11.2 keeps dynamic upstreams' failure counts.
      expect(p).not.toContain("max_fails 1\n");
      expect(p).not.toContain("trusted_proxies");
    }
  });

  test("certificates on demand, only for the HTTPS hosts; the ACME email as given", () => {
    const c = https.caddyfile;
    expect(c).toContain("\temail ops@example.com\n");
    expect(c).toContain("\ton_demand_tls {\n\t\task http://127.0.0.1:9180/on-demand-allowed\n\t}");
    expect(c).toContain("@allowed query domain=api.example.com domain=app.example.com\n");
    expect(c.match(/\t\ton_demand\n/g)).toHaveLength(2);
    expect(c).not.toContain("admin.example.com {\n\ttls");
  });

  test("every site closes its connections while the node's close-connections marker exists", () => {
    for (const site of https.sites) {
      const c = https.caddyfile;
      const start = c.indexOf(`://${site.host} {`);
      const block = c.slice(start, c.indexOf("\n}\n", start));
      // The matcher and the header come before any handler, so every response of the site
      // carries it, the proxied ones and the 404s alike.
      expect(block.indexOf("header @closing Connection close")).toBeLessThan(
        block.indexOf("handle"),
      );
      expect(block).toContain(
        "\t@closing file {\n\t\troot /etc/do-swarm-edge\n\t\ttry_files close-connections\n\t}",
      );
    }
    expect(https.caddyfile.match(/header @closing Connection close/g)).toHaveLength(3);
  });

  test("a host with only path routes answers 404 elsewhere", () => {
    const admin = https.caddyfile.slice(https.caddyfile.indexOf("http://admin.example.com {"));
    expect(admin.slice(0, admin.indexOf("\n}\n"))).toContain(
      'handle {\n\t\trespond "no route for this path" 404\n\t}',
    );
  });

  test("behind the load balancer: plain HTTP sites, no ACME, the balancer's X-Forwarded-* trusted", () => {
    const lb = planEdge(BEHIND_LB.edge, BEHIND_LB.domains, "loadBalancer");
    expect(lb.caddyfile).not.toContain("https://");
    expect(lb.caddyfile).not.toContain("on_demand");
    // Only the VPC's range (the balancer's source): not private_ranges, which would trust any
    // container on the attachable edge network (issue 27, item 5).
    expect(lb.caddyfile.match(/\ttrusted_proxies 10\.110\.0\.0\/20\n/g)).toHaveLength(5);
    expect(lb.caddyfile).not.toContain("private_ranges");
    expect(lb.publicPorts.map((p) => p.port)).toEqual([80]);
  });

  test("no email, no email line; deterministic output", () => {
    const a = planEdge(NO_EMAIL.edge, NO_EMAIL.domains).caddyfile;
    expect(a).not.toContain("email");
    expect(planEdge(NO_EMAIL.edge, NO_EMAIL.domains).caddyfile).toBe(a);
    const reordered = { ...WEB_AND_API.edge, routes: [...WEB_AND_API.edge.routes].reverse() };
    expect(planEdge(reordered, WEB_AND_API.domains).caddyfile).toBe(https.caddyfile);
  });

  test("the lab's: one HTTP site, the same proxy settings", () => {
    const c = planEdge(LAB.edge, LAB.domains).caddyfile;
    expect(c).toContain(
      "http://app.lab.test {\n\t@closing file {\n\t\troot /etc/do-swarm-edge\n\t\ttry_files close-connections\n\t}\n" +
        "\theader @closing Connection close\n",
    );
    expect(c).toContain("\thandle {\n\t\tvars edge_service web/web\n\t\treverse_proxy {");
    expect(c).toContain("name tasks.web_web\n\t\t\t\tport 80\n\t\t\t\trefresh 1s");
    expect(c).not.toContain("on_demand");
  });
});

describe("the edge stack", () => {
  requireDocker();

  test("one Caddy per manager at the reserved IP, host-mode 80 and 443, certificates in a volume", () => {
    const plan = planEdge(WEB_AND_API.edge, WEB_AND_API.domains, "reservedIp");
    const s = parse(plan.stack.yaml);
    const caddy = s.services.caddy;
    expect(caddy.image).toBe("caddy:2.11.4-alpine");
    expect(caddy.deploy.mode).toBe("global");
    expect(caddy.deploy.placement).toEqual({ constraints: ["node.role == manager"] });
    expect(caddy.ports).toEqual([
      { target: 80, published: 80, protocol: "tcp", mode: "host" },
      { target: 443, published: 443, protocol: "tcp", mode: "host" },
    ]);
    expect(caddy.deploy.update_config.order).toBe("stop-first");
    expect(caddy.volumes).toContain("caddy_data:/data");
    expect(caddy.networks).toEqual(["do-swarm-edge"]);
    expect(s.networks).toEqual({
      "do-swarm-edge": { name: "do-swarm-edge", driver: "overlay", attachable: true },
    });
    expect(caddy.healthcheck.test).toEqual([
      "CMD",
      "wget",
      "-q",
      "-O",
      "/dev/null",
      "http://127.0.0.1:9180/healthz",
    ]);
    expect(caddy.healthcheck.start_period).toBe("30s");
    // No failover agent (failoverToken unset): nobody to hand the IP off, so no wait for one.
    expect(caddy.stop_grace_period).toBe("15s");
    // Caddy's wrapper is PID 1; its only config is the script, named by the script's content.
    const sha = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 12);
    const caddySh = readScript("edge-caddy.sh", EDGE_SCRIPTS);
    expect(caddy.command).toEqual([
      "/bin/sh",
      "/do-swarm/edge-caddy.sh",
      "/etc/do-swarm-edge",
      "http://127.0.0.1:9180/healthz",
      "120",
      "1",
      "0",
      "0",
    ]);
    expect(caddy.configs).toEqual([
      { source: `edge_caddy_sh_${sha(caddySh)}`, target: "/do-swarm/edge-caddy.sh", mode: 0o444 },
    ]);
    expect(caddy.volumes).toEqual([
      "caddy_data:/data",
      "caddy_config:/config",
      "edge_conf:/etc/do-swarm-edge",
    ]);
    expect(s.volumes).toEqual({ caddy_data: {}, caddy_config: {}, edge_conf: {} });
    // Only an image or port change replaces a Caddy: stop-first, one node at a time.
    expect(caddy.deploy.update_config).toEqual({
      parallelism: 1,
      delay: "5s",
      order: "stop-first",
      failure_action: "rollback",
      monitor: "10s",
    });
  });

  test("with the failover agent at the reserved IP, a stopping edge waits for the IP to leave its node", () => {
    const plan = planEdge(WEB_AND_API.edge, WEB_AND_API.domains, "reservedIp", true);
    const caddy = parse(plan.stack.yaml).services.caddy;
    expect(caddy.command.slice(4)).toEqual(["120", "1", String(HANDOFF_WAIT_SECONDS), "0"]);
    expect(HANDOFF_WAIT_SECONDS).toBe(45);
    // Docker kills at stop_grace_period: the wait, then Caddy's own grace period (10 s) fit in it.
    expect(caddy.stop_grace_period).toBe(`${HANDOFF_WAIT_SECONDS + 15}s`);
    // The same routes render the same Caddyfile with or without the agent.
    expect(plan.caddyfile).toBe(planEdge(WEB_AND_API.edge, WEB_AND_API.domains).caddyfile);
  });

  test("behind the load balancer, a stopping edge fails the balancer's check first; one node out at a time", () => {
    const plan = planEdge(BEHIND_LB.edge, BEHIND_LB.domains, "loadBalancer", true);
    const caddy = parse(plan.stack.yaml).services.caddy;
    // No agent and no reserved IP to move; 40 s of 503 to the check: 3 failed checks 10 s apart
    // take the node out, and one interval more.
    expect(caddy.command.slice(4)).toEqual(["120", "1", "0", "40"]);
    expect(LOAD_BALANCER_DRAIN_SECONDS).toBe(40);
    expect(caddy.stop_grace_period).toBe("55s");
    // The next node's edge drains only once the balancer could put the last one back (3 passed
    // checks, 10 s apart).
    expect(caddy.deploy.update_config.delay).toBe("30s");
    const check = plan.caddyfile.slice(plan.caddyfile.indexOf("http:// {"));
    expect(check).toBe(
      "http:// {\n\t@closing file {\n\t\troot /etc/do-swarm-edge\n\t\ttry_files close-connections\n\t}\n" +
        '\thandle @closing {\n\t\theader Connection close\n\t\trespond "this edge is stopping" 503\n\t}\n' +
        "\trespond 200\n}\n",
    );
    // At the reserved IP there is no balancer to answer.
    expect(planEdge(WEB_AND_API.edge, WEB_AND_API.domains).caddyfile).not.toContain("http:// {");
  });

  test("the config service: carries the Caddyfile (named by its content), same image and nodes, start-first, rolls back", () => {
    const plan = planEdge(WEB_AND_API.edge, WEB_AND_API.domains, "reservedIp");
    const s = parse(plan.stack.yaml);
    const config = s.services.config;
    const sha = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 12);
    const caddyfileName = `caddyfile_${sha(plan.caddyfile)}`;
    const scriptName = `edge_config_sh_${sha(readScript("edge-config.sh", EDGE_SCRIPTS))}`;
    expect(config.image).toBe(s.services.caddy.image);
    expect(config.deploy.mode).toBe("global");
    expect(config.deploy.placement).toEqual(s.services.caddy.deploy.placement);
    expect(config.ports).toBeUndefined();
    expect(config.networks).toEqual(["do-swarm-edge"]);
    expect(config.command).toEqual([
      "/bin/sh",
      "/do-swarm/edge-config.sh",
      "/do-swarm/Caddyfile",
      "/etc/do-swarm-edge",
      "/tmp/do-swarm-edge-ready",
      String(CONFIG_LOAD_TIMEOUT_SECONDS),
    ]);
    expect(config.configs).toEqual([
      { source: caddyfileName, target: "/do-swarm/Caddyfile", mode: 0o444 },
      { source: scriptName, target: "/do-swarm/edge-config.sh", mode: 0o444 },
    ]);
    expect(config.volumes).toEqual(["edge_conf:/etc/do-swarm-edge"]);
    expect(config.healthcheck).toEqual({
      test: ["CMD", "test", "-f", "/tmp/do-swarm-edge-ready"],
      interval: "2s",
      timeout: "2s",
      retries: 3,
      // past the script's own wait, so the script's message is what swarm reports
      start_period: `${CONFIG_LOAD_TIMEOUT_SECONDS + 30}s`,
    });
    expect(config.deploy.update_config).toEqual({
      parallelism: 1,
      delay: "0s",
      order: "start-first",
      failure_action: "rollback",
      monitor: "5s",
    });
    expect(config.deploy.rollback_config).toEqual({
      parallelism: 1,
      order: "start-first",
      failure_action: "pause",
      monitor: "5s",
    });
    expect(config.deploy.restart_policy).toEqual({ condition: "on-failure", delay: "5s" });
    expect(s.configs).toEqual({
      [caddyfileName]: { file: "./Caddyfile" },
      [s.services.caddy.configs[0].source]: { file: "./edge-caddy.sh" },
      [scriptName]: { file: "./edge-config.sh" },
    });
  });

  test("a change of the routes changes the config service only: the caddy service's spec stays byte-identical", () => {
    const services = (c: EdgeCase) =>
      parse(planEdge(c.edge, c.domains, c.entryPoint).stack.yaml).services;
    const before = services(WEB_AND_API);
    const fewer = {
      ...WEB_AND_API,
      edge: { ...WEB_AND_API.edge, routes: WEB_AND_API.edge.routes.slice(0, 3) },
    };
    const after = services(fewer);
    expect(stringify(after.caddy)).toBe(stringify(before.caddy));
    expect(after.config.configs[0].source).not.toBe(before.config.configs[0].source);
    // So do a new email and an HTTP-only domain becoming HTTPS while 443 is published anyway.
    const email = { ...WEB_AND_API, edge: { ...WEB_AND_API.edge, email: "web@example.com" } };
    expect(stringify(services(email).caddy)).toBe(stringify(before.caddy));
    const adminHttps = {
      ...WEB_AND_API,
      domains: WEB_AND_API.domains.map((d) => ({ ...d, https: true })),
    };
    expect(stringify(services(adminHttps).caddy)).toBe(stringify(before.caddy));
  });

  test("an image or port change changes the caddy service (its tasks are replaced, stop-first)", () => {
    const services = (c: EdgeCase) =>
      parse(planEdge(c.edge, c.domains, c.entryPoint).stack.yaml).services;
    const before = services(WEB_AND_API);
    const image = { ...WEB_AND_API, edge: { ...WEB_AND_API.edge, image: "caddy:2.11.5-alpine" } };
    expect(services(image).caddy.image).toBe("caddy:2.11.5-alpine");
    expect(services(image).config.image).toBe("caddy:2.11.5-alpine");
    expect(stringify({ ...services(image).caddy, image: "" })).toBe(
      stringify({ ...before.caddy, image: "" }),
    );
    // No HTTPS domain left: 443 is no longer published.
    const http = {
      ...WEB_AND_API,
      domains: WEB_AND_API.domains.map((d) => ({ ...d, https: false })),
    };
    expect(services(http).caddy.ports).toEqual([
      { target: 80, published: 80, protocol: "tcp", mode: "host" },
    ]);
  });

  test("the Caddyfile keeps Caddy's admin API (localhost:2019), which the wrapper's reload posts to", () => {
    for (const c of EDGE_CASES) {
      expect(planEdge(c.edge, c.domains, c.entryPoint).caddyfile).not.toMatch(/^\s*admin\b/m);
    }
  });

  test("behind the load balancer: on every node, HTTP only", () => {
    const s = parse(planEdge(BEHIND_LB.edge, BEHIND_LB.domains, "loadBalancer").stack.yaml);
    expect(s.services.caddy.deploy.placement).toBeUndefined();
    expect(s.services.caddy.ports).toEqual([
      { target: 80, published: 80, protocol: "tcp", mode: "host" },
    ]);
  });

  test("the bundle carries the stack, the Caddyfile and the edge's scripts, and no key material", () => {
    const plan = planEdge(WEB_AND_API.edge, WEB_AND_API.domains);
    const files = decodeBundle(edgeBundle(plan.stack));
    expect(Object.keys(files).sort()).toEqual([
      "Caddyfile",
      "edge-caddy.sh",
      "edge-config.sh",
      "stack.yml",
    ]);
    expect(files.Caddyfile.toString()).toBe(plan.caddyfile);
    expect(Object.values(files).join("")).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
  });

  test.each(EDGE_CASES.map((c) => [c.name, c]))(
    "docker stack config accepts the edge stack (%s)",
    async (_name, c) => {
      const plan = planEdge(c.edge, c.domains, c.entryPoint);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-edge-"));
      for (const [rel, content] of Object.entries(decodeBundle(edgeBundle(plan.stack)))) {
        fs.writeFileSync(path.join(dir, rel), content);
      }
      const res = await stackConfig(path.join(dir, "stack.yml"));
      fs.rmSync(dir, { recursive: true, force: true });
      expect(res.stderr).toBe("");
      expect(res.code).toBe(0);
    },
  );
});

describe("routed services join the edge's network", () => {
  requireDocker();
  const file = path.join(__dirname, "lab/stacks/web-v1.yml");

  test("a service without networks keeps default and gains the edge's; external at the top", () => {
    const rendered = renderStack({ file });
    const out = attachNetwork(rendered.yaml, { services: ["web"] });
    const s = parse(out);
    expect(s.services.web.networks).toEqual(["default", "do-swarm-edge"]);
    expect(s.networks).toEqual({ "do-swarm-edge": { external: true, name: "do-swarm-edge" } });
    // Nothing else changed, byte for byte.
    const strip = (y: string) => {
      const d = parse(y);
      delete d.networks;
      delete d.services.web.networks;
      return d;
    };
    expect(strip(out)).toEqual(strip(rendered.yaml));
  });

  test("list and map forms, other services untouched, $$ escapes kept", () => {
    const text = `
services:
  web:
    image: web
    command: ["sh", "-c", "echo $$HOME"]
    networks: [front]
  api:
    image: api
    networks: { back: { aliases: [api] } }
  db:
    image: postgres
    networks: [back]
networks:
  front: {}
  back: {}
`;
    const rendered = renderStack({ file: "x.yml", text });
    const out = attachNetwork(rendered.yaml, { services: ["api", "web"] });
    const s = parse(out);
    expect(s.services.web.networks).toEqual(["front", "do-swarm-edge"]);
    expect(s.services.api.networks).toEqual({ back: { aliases: ["api"] }, "do-swarm-edge": {} });
    expect(s.services.db.networks).toEqual(["back"]);
    expect(Object.keys(s.networks)).toEqual(["back", "front", "do-swarm-edge"]);
    expect(out).toContain("echo $$HOME");
    // Idempotent.
    expect(attachNetwork(out, { services: ["api", "web"] })).toBe(out);
  });

  test("docker stack config accepts the attached stack", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-attach-"));
    fs.writeFileSync(
      path.join(dir, "stack.yml"),
      attachNetwork(renderStack({ file }).yaml, { services: ["web"] }),
    );
    const res = await stackConfig(path.join(dir, "stack.yml"));
    fs.rmSync(dir, { recursive: true, force: true });
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(parse(res.stdout).services.web.networks).toEqual({
      default: null,
      "do-swarm-edge": null,
    });
  });

  test("a service the stack does not have is an error", () => {
    expect(() => attachNetwork(renderStack({ file }).yaml, { services: ["api"] })).toThrow(
      "the rendered stack has no service api",
    );
  });
});
