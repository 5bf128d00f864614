/**
 * Build-only services (no image:, only build:) with a registry configured: built and pushed with
 * @pulumi/docker and deployed by digest; the nodes pull with read-only credentials.
 */
import * as path from "path";
import { parse } from "yaml";
import { decodeBundle, renderFromHeader } from "../components/stacks/stackBundle";
import {
  fakeCloud,
  isSecret,
  recordProgram,
  Recording,
  reveal,
  TEST_PRIVATE_KEY,
  TEST_PUBLIC_KEY,
} from "./harness";

const CORPUS = path.resolve(__dirname, "fixtures/compose/coins");
let rec: Recording;

beforeAll(async () => {
  rec = await recordProgram(fakeCloud(), {
    "do-swarm:sshPublicKey": TEST_PUBLIC_KEY,
    "do-swarm:sshPrivateKey": TEST_PRIVATE_KEY,
    "do-swarm:registry": "myreg",
    // Four services with build: and no image:, in the shape of container.training's dockercoins.
    "do-swarm:stacks": JSON.stringify([{ name: "coins", file: path.join(CORPUS, "compose.yml") }]),
  });
  await import("../index");
  await rec.settled();
});

const IMAGE = "docker:index/image:Image";

test("each build-only service is built from its context and pushed to the registry", () => {
  const images = rec.ofType(IMAGE);
  expect(images.map((i) => i.name).sort()).toEqual(
    ["hasher", "rng", "webui", "worker"].map((s) => `swarm-test-stack-coins-image-${s}`),
  );
  const hasher = reveal(rec.byName("swarm-test-stack-coins-image-hasher").rawInputs) as {
    imageName: string;
    build: { context: string; platform: string };
    registry: { server: string; username: string; password: string };
  };
  expect(hasher.imageName).toBe("registry.digitalocean.com/myreg/coins-hasher:latest");
  // Relative to the project directory, as every checkout has it (see buildPaths.test.ts).
  expect(hasher.build.context).toBe(
    path.relative(path.resolve(__dirname, ".."), path.join(CORPUS, "hasher")),
  );
  expect(hasher.build.platform).toBe("linux/amd64");
  expect(hasher.registry).toEqual({
    server: "registry.digitalocean.com",
    username: "swarm-test-registry-push-token",
    password: "swarm-test-registry-push-token",
  });
  const raw = rec.byName("swarm-test-stack-coins-image-hasher").rawInputs.registry as Record<
    string,
    unknown
  >;
  expect(isSecret(raw) || isSecret(raw.password)).toBe(true);
  expect(rec.byName("swarm-test-stack-coins-image-hasher").parent).toBe(
    rec.byName("swarm-test-stack-coins").urn,
  );
});

test("the stack deploys the pushed digests, with read-only credentials for the nodes", () => {
  const deploy = reveal(rec.byName("swarm-test-stack-coins-deploy").rawInputs) as {
    update: string;
    stdin: string;
  };
  const services = parse(renderFromHeader(deploy.update)).services;
  for (const s of ["hasher", "rng", "webui", "worker"]) {
    expect(services[s].image).toMatch(
      new RegExp(`^registry\\.digitalocean\\.com/myreg/coins-${s}@sha256:[0-9a-f]{64}$`),
    );
  }
  expect(services.redis.image).toBe("redis");
  const files = decodeBundle(deploy.stdin);
  const auth = JSON.parse(files[".docker/config.json"].toString()).auths[
    "registry.digitalocean.com"
  ].auth;
  expect(Buffer.from(auth, "base64").toString()).toBe(
    "swarm-test-registry-pull-token:swarm-test-registry-pull-token",
  );
  const pull = reveal(rec.byName("swarm-test-registry-pull").rawInputs) as {
    registryName: string;
    write: boolean;
  };
  expect(pull).toEqual({ registryName: "myreg", write: false });
  expect(
    (reveal(rec.byName("swarm-test-registry-push").rawInputs) as { write: boolean }).write,
  ).toBe(true);
});
