/**
 * The whole program (index.ts) under mocks with a basic-auth route: the users' bcrypt hashes
 * come from secret config, reach the nodes only in the deploy's secret stdin, and never appear
 * in the command (what preview shows and the state keeps in plaintext) or in the edgeConfig
 * output, which show the placeholder. A missing or malformed hash is refused before anything.
 */
import { parse } from "yaml";
import {
  fakeCloud,
  indexError,
  isSecret,
  recordProgram,
  Recording,
  reveal,
  TEST_PRIVATE_KEY,
  TEST_PUBLIC_KEY,
} from "./harness";
import { decodeBundle, renderFromHeader } from "../components/stacks/stackBundle";
import { FIXTURE_HASHES, ROUTE_OPTIONS } from "./fixtures/edge/cases";

const HASH = FIXTURE_HASHES.edgeAliceHash;
const base = {
  "do-swarm:sshPublicKey": TEST_PUBLIC_KEY,
  "do-swarm:sshPrivateKey": TEST_PRIVATE_KEY,
  "do-swarm:stacks": JSON.stringify([{ name: "shop", file: "tests/fixtures/edge/shop.yml" }]),
  "do-swarm:domains": JSON.stringify(
    ROUTE_OPTIONS.domains.map((d) => ({ ...d, zone: "example.com" })),
  ),
  "do-swarm:edge": JSON.stringify(ROUTE_OPTIONS.edge),
};

let rec: Recording;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the program's exports, read by name
let program: any;

beforeAll(async () => {
  rec = await recordProgram(fakeCloud(), { ...base, "do-swarm:edgeAliceHash": HASH });
  program = await import("../index");
  await rec.settled();
});

test("the hash is only in the secret stdin; the command and the output show the placeholder", () => {
  const raw = rec.byName("swarm-test-edge-deploy").rawInputs as Record<string, unknown>;
  expect(isSecret(raw.stdin)).toBe(true);
  const cmd = reveal(raw) as { create: string; stdin: string };
  expect(cmd.create).not.toContain(HASH);
  const readable = renderFromHeader(cmd.create);
  expect(readable).toContain("# \t\t\talice [secret:edgeAliceHash]");
  const files = decodeBundle(cmd.stdin);
  const caddyfile = files.Caddyfile.toString();
  expect(caddyfile).toContain(`\t\t\talice ${HASH}\n`);
  expect(caddyfile).not.toContain("[secret:");
  // The stack shown is the one deployed: its config is named by the file the nodes get.
  expect(parse(readable)).toEqual(parse(files["stack.yml"].toString()));
  const output = program.edgeConfig as string; // plan.caddyfile: a plain string
  expect(output).toContain("alice [secret:edgeAliceHash]");
  expect(output).not.toContain(HASH);
});

test("a basic-auth key that is not set, or holds no bcrypt hash, is refused; the key is known", () => {
  const unset = indexError(base);
  expect(unset).toContain(
    `do-swarm:edge basicAuth names config key 'edgeAliceHash', which is not set: pulumi config set --secret edgeAliceHash "$(caddy hash-password)"`,
  );
  const bad = indexError({ ...base, "do-swarm:edgeAliceHash": "hunter2" });
  expect(bad).toContain(
    "do-swarm:edgeAliceHash (a basicAuth user's hash) is not a bcrypt hash (value not shown)",
  );
  expect(bad).not.toContain("hunter2");
  expect(bad).not.toContain("is not a setting of this program");
});
