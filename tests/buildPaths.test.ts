/**
 * Issue 16, point 2: build-only services give the same `docker.Image` inputs (and so the same
 * deploy) from every checkout. The same project is copied to two directories, as a teammate's
 * clone and a CI runner would have it, and built under mocks from each.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { imageBuildPaths } from "../components/stacks/swarmStack";
import { fakeCloud, recordProgram, Recording, reveal, TEST_PRIVATE_KEY } from "./harness";

const IMAGE = "docker:index/image:Image";
const root = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-checkouts-"));
// Two checkouts of one project, at different depths and names.
const checkouts = [path.join(root, "alice/do-swarm"), path.join(root, "runner/work/x/do-swarm")];

const COMPOSE = `
services:
  web:
    build: ./web
  api:
    build:
      context: ../services/api
      dockerfile: docker/Dockerfile.prod
      args: { VERSION: "1" }
  cache:
    image: redis:7
`;

/** Writes the project (its stack file, and contexts inside and outside `stacks/`) under dir. */
function writeProject(dir: string) {
  const put = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };
  put("stacks/shop.yml", COMPOSE);
  put("stacks/web/Dockerfile", "FROM nginx\nCOPY index.html /usr/share/nginx/html/\n");
  put("stacks/web/index.html", "<p>hi</p>\n");
  put("services/api/docker/Dockerfile.prod", "FROM node:20\nCOPY . /app\n");
  put("services/api/server.js", "console.log('api')\n");
}

let rec: Recording;
beforeAll(async () => {
  checkouts.forEach(writeProject);
  rec = await recordProgram(fakeCloud());
  const { SwarmStack } = await import("../components/stacks/swarmStack");
  const pulumi = await import("@pulumi/pulumi");
  const auth = Buffer.from("tok:tok").toString("base64");
  checkouts.forEach((projectDir, i) => {
    // Pulumi runs the program with the project directory as its working directory.
    const cwd = process.cwd();
    process.chdir(projectDir);
    try {
      new SwarmStack(`c${i}-stack-shop`, {
        stack: { name: "shop", file: "stacks/shop.yml" },
        projectDir,
        connection: {
          host: "198.51.100.7",
          user: "root",
          privateKey: pulumi.secret(TEST_PRIVATE_KEY),
        },
        registry: {
          server: "registry.digitalocean.com/myreg",
          pushCredentials: pulumi.secret(
            JSON.stringify({ auths: { "registry.digitalocean.com": { auth } } }),
          ),
        },
      });
    } finally {
      process.chdir(cwd);
    }
  });
  await rec.settled();
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const inputsOf = (name: string) => reveal(rec.byName(name).rawInputs) as Record<string, unknown>;

test("both checkouts build the same two images", () => {
  expect(
    rec
      .ofType(IMAGE)
      .map((r) => r.name)
      .sort(),
  ).toEqual([
    "c0-stack-shop-image-api",
    "c0-stack-shop-image-web",
    "c1-stack-shop-image-api",
    "c1-stack-shop-image-web",
  ]);
});

test.each(["web", "api"])("image %s: identical inputs from either checkout", (service) => {
  const [a, b] = [0, 1].map((i) => inputsOf(`c${i}-stack-shop-image-${service}`));
  expect(a).toEqual(b);
  // No trace of where either checkout is.
  expect(JSON.stringify(a)).not.toContain(root);
});

test("the build paths are relative to the project directory and point at the real files", () => {
  const web = inputsOf("c0-stack-shop-image-web").build as Record<string, unknown>;
  expect(web).toEqual({ context: "stacks/web", platform: "linux/amd64" });
  const api = inputsOf("c0-stack-shop-image-api").build as Record<string, unknown>;
  expect(api).toEqual({
    context: "services/api",
    // pulumi-docker opens the dockerfile relative to its working directory (the project), not
    // to the context: so the context is part of it.
    dockerfile: "services/api/docker/Dockerfile.prod",
    args: { VERSION: "1" },
    platform: "linux/amd64",
  });
  for (const dir of checkouts) {
    expect(fs.existsSync(path.join(dir, String(web.context), "Dockerfile"))).toBe(true);
    expect(fs.existsSync(path.join(dir, String(api.dockerfile)))).toBe(true);
  }
});

test("so the deploy is the same too: same digests, same command, same bundle", () => {
  const [a, b] = [0, 1].map((i) => inputsOf(`c${i}-stack-shop-deploy`));
  expect(a.create).toEqual(b.create);
  expect(a.stdin).toEqual(b.stdin);
});

describe("imageBuildPaths", () => {
  const project = "/home/me/do-swarm";
  test.each([
    [{ context: "/home/me/do-swarm" }, { context: "." }],
    [{ context: "/home/me/do-swarm/stacks/app" }, { context: "stacks/app" }],
    [{ context: "/home/me/common/app" }, { context: "../common/app" }],
    [
      { context: "/home/me/do-swarm/app", dockerfile: "Dockerfile.dev" },
      { context: "app", dockerfile: "app/Dockerfile.dev" },
    ],
    [
      { context: "/home/me/do-swarm/app", dockerfile: "../docker/app.Dockerfile" },
      { context: "app", dockerfile: "docker/app.Dockerfile" },
    ],
    [
      { context: "/home/me/do-swarm/app", dockerfile: "/opt/Dockerfile" },
      { context: "app", dockerfile: "/opt/Dockerfile" },
    ],
    [
      { context: "https://github.com/me/app.git#main", dockerfile: "Dockerfile" },
      { context: "https://github.com/me/app.git#main", dockerfile: "Dockerfile" },
    ],
  ])("%j -> %j", (build, want) => {
    expect(imageBuildPaths(project, build)).toEqual(want);
  });
});
