/** The whole program (index.ts) under mocks with do-swarm:edge: what the edge adds, and where. */
import { parse } from "yaml";
import {
  fakeCloud,
  isSecret,
  recordProgram,
  Recording,
  reveal,
  TEST_PRIVATE_KEY,
  TEST_PUBLIC_KEY,
} from "./harness";
import { decodeBundle, renderFromHeader } from "../components/stacks/stackBundle";
import { planEdge } from "../components/edge";
import { SHOP } from "./fixtures/edge/cases";

let rec: Recording;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the program's exports, read by name
let program: any;

// CI validates this case's Caddyfile with caddy itself (tests/fixtures/edge/cases.ts).
const edge = SHOP.edge;

beforeAll(async () => {
  rec = await recordProgram(fakeCloud(), {
    "do-swarm:sshPublicKey": TEST_PUBLIC_KEY,
    "do-swarm:sshPrivateKey": TEST_PRIVATE_KEY,
    "do-swarm:stacks": JSON.stringify([
      { name: "shop", file: "tests/fixtures/edge/shop.yml" },
      { name: "coins", file: "stacks/dockercoins/stack.yml" },
    ]),
    "do-swarm:domains": JSON.stringify([
      { name: "app.example.com", zone: "example.com", https: true },
      { name: "api.example.com", zone: "example.com", https: true },
    ]),
    "do-swarm:edge": JSON.stringify(edge),
  });
  program = await import("../index");
  await rec.settled();
});

type Cmd = { create: string; update: string; delete: string; stdin: unknown };
const inputs = (name: string) => rec.byName(name).rawInputs as unknown as Cmd;
const plain = (name: string) => reveal(rec.byName(name).rawInputs) as Cmd;

test("the edge is a component with one deploy command, after the cluster's bootstrap", () => {
  const component = rec.byName("swarm-test-edge");
  expect(component.type).toBe("do-swarm:index:SwarmEdge");
  const deploy = rec.byName("swarm-test-edge-deploy");
  expect(deploy.type).toBe("command:remote:Command");
  expect(deploy.parent).toBe(component.urn);
  const registers = rec
    .ofType("command:remote:Command")
    .filter((c) => c.name.endsWith("-register"))
    .map((c) => c.urn);
  expect(registers.length).toBe(5);
  expect(deploy.dependencies).toEqual(expect.arrayContaining(registers));
  // A change of the routes is an in-place redeploy, never a replacement (whose delete would
  // remove the edge after the new deploy).
  expect(rec.byName("swarm-test-edge-deploy").rawInputs.triggers).toBeUndefined();
  expect(plain("swarm-test-edge-deploy").delete).toContain("bash \"$f\" 'do-swarm-edge'");
});

test("its command deploys the edge stack; preview shows the stack and the Caddyfile", () => {
  const cmd = plain("swarm-test-edge-deploy");
  expect(cmd.create).toBe(cmd.update);
  expect(cmd.create).toContain("bash \"$f\" 'do-swarm-edge' '300'");
  const readable = renderFromHeader(cmd.create);
  expect(parse(readable).services.caddy.image).toBe("caddy:2.11.4-alpine");
  expect(readable).toContain("# Caddyfile:\n# # do-swarm edge (Caddy)");
  expect(readable).toContain("# https://app.example.com {");
});

test("the bundle holds the stack, the Caddyfile and the edge's scripts; the ACME email is plain, nothing is secret", () => {
  const raw = inputs("swarm-test-edge-deploy");
  expect(isSecret(raw.stdin)).toBe(false);
  const files = decodeBundle(raw.stdin as string);
  expect(Object.keys(files).sort()).toEqual([
    "Caddyfile",
    "edge-caddy.sh",
    "edge-config.sh",
    "stack.yml",
  ]);
  const caddyfile = files.Caddyfile.toString();
  expect(caddyfile).toContain("\temail ops@example.com\n");
  expect(caddyfile).toContain("name tasks.shop_web");
  expect(caddyfile).toContain("name tasks.shop_api");
  expect(caddyfile).not.toContain("tasks.coins");
  expect(program.edgeConfig).toBe(caddyfile);
  expect(caddyfile).toBe(planEdge(SHOP.edge, SHOP.domains, SHOP.entryPoint).caddyfile);
});

test("routed services join the edge's network; the stack deploys after the edge", () => {
  const shop = rec.byName("swarm-test-stack-shop-deploy");
  // dependsOn the component: the engine waits for its children, the deploy command.
  expect(shop.dependencies).toContain(rec.byName("swarm-test-edge-deploy").urn);
  const preview = parse(renderFromHeader(plain("swarm-test-stack-shop-deploy").create));
  expect(preview.services.web.networks).toEqual(["default", "do-swarm-edge"]);
  expect(preview.services.api.networks).toEqual(["default", "do-swarm-edge"]);
  expect(preview.services.worker.networks).toBeUndefined();
  expect(preview.networks["do-swarm-edge"]).toEqual({ external: true, name: "do-swarm-edge" });
  // The real render (secret stdin) carries the same attachment.
  const stdin = inputs("swarm-test-stack-shop-deploy").stdin;
  expect(isSecret(stdin)).toBe(true);
  const real = parse(decodeBundle(reveal(stdin) as string)["stack.yml"].toString());
  expect(real.services.api.networks).toEqual(["default", "do-swarm-edge"]);
});

test("a stack the edge does not route to is neither attached nor ordered after it", () => {
  const coins = rec.byName("swarm-test-stack-coins-deploy");
  expect(coins.dependencies).not.toContain(rec.byName("swarm-test-edge-deploy").urn);
  expect(plain("swarm-test-stack-coins-deploy").create).not.toContain("do-swarm-edge");
});

test("the firewall opens 80 and 443 for the edge, next to what the stacks publish", () => {
  const fw = reveal(rec.byName("swarm-test-firewall").rawInputs) as {
    inboundRules: { protocol: string; portRange?: string; sourceAddresses?: string[] }[];
  };
  const open = fw.inboundRules
    .filter((r) => r.sourceAddresses?.includes("0.0.0.0/0") && r.portRange && r.portRange !== "22")
    .map((r) => `${r.protocol}/${r.portRange}`);
  expect(open).toEqual(["tcp/80", "tcp/443", "tcp/8000"]);
});
