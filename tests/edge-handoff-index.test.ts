/**
 * The whole program (index.ts) under mocks with do-swarm:edge at the reserved IP with
 * failoverToken: every Caddy waits for its node's agent before it stops, and the edge's deploy
 * runs over manager-0's own address, since an edge update moves the reserved IP (the lab saw a
 * deploy over the reserved IP cut by that move: "client_loop: send disconnect: Broken pipe").
 */
import { parse } from "yaml";
import {
  fakeCloud,
  recordProgram,
  Recording,
  reveal,
  TEST_PRIVATE_KEY,
  TEST_PUBLIC_KEY,
} from "./harness";
import { decodeBundle } from "../components/stacks/stackBundle";
import { HANDOFF_WAIT_SECONDS } from "../components/edge/stack";
import { SHOP } from "./fixtures/edge/cases";

let rec: Recording;

beforeAll(async () => {
  rec = await recordProgram(fakeCloud(), {
    "do-swarm:sshPublicKey": TEST_PUBLIC_KEY,
    "do-swarm:sshPrivateKey": TEST_PRIVATE_KEY,
    "do-swarm:stacks": JSON.stringify([{ name: "shop", file: "tests/fixtures/edge/shop.yml" }]),
    "do-swarm:domains": JSON.stringify([
      { name: "app.example.com", zone: "example.com", https: true },
      { name: "api.example.com", zone: "example.com", https: true },
    ]),
    "do-swarm:edge": JSON.stringify(SHOP.edge),
    "do-swarm:failoverToken": "dop_v1_handoff-test-token",
  });
  await import("../index");
  await rec.settled();
});

type Cmd = { connection: { host: string }; stdin: string };
const plain = (name: string) => reveal(rec.byName(name).rawInputs) as Cmd;

test("the edge's deploy runs on manager-0's own address; the stacks' deploys at the reserved IP", () => {
  const manager0 = rec.state("swarm-test-manager-0").ipv4Address;
  expect(manager0).toBeDefined();
  expect(plain("swarm-test-edge-deploy").connection.host).toBe(manager0);
  expect(plain("swarm-test-stack-shop-deploy").connection.host).toBe("198.51.100.7");
});

test("every Caddy waits up to HANDOFF_WAIT_SECONDS for its node's agent, within its stop grace period", () => {
  const files = decodeBundle(rec.byName("swarm-test-edge-deploy").rawInputs.stdin as string);
  const caddy = parse(files["stack.yml"].toString()).services.caddy;
  expect(caddy.command.slice(4)).toEqual(["120", "1", String(HANDOFF_WAIT_SECONDS), "0"]);
  expect(caddy.stop_grace_period).toBe(`${HANDOFF_WAIT_SECONDS + 15}s`);
  // The agents it waits for are there, one per manager.
  expect(
    rec
      .ofType("command:remote:Command")
      .map((c) => c.name)
      .filter((n) => n.endsWith("-failover-agent"))
      .sort(),
  ).toEqual([0, 1, 2].map((i) => `swarm-test-manager-${i}-failover-agent`));
});
