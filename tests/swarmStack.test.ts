/**
 * SwarmStack under mocks: what decides a redeploy (the trigger), where the deploy runs, what it
 * waits for, and that secret values never leave the secret stdin.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
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

let rec: Recording;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-stack-"));
const compose = (image: string) => `
services:
  app:
    image: ${image}
    environment:
      DB_PASSWORD: \${DB_PASSWORD}
      GREETING: \${GREETING:-hi}
    ports: ["8080:80"]
    configs: [{ source: conf, target: /etc/app.conf }]
    deploy: { replicas: 2 }
configs:
  conf: { file: ./app.conf }
`;
function stackDir(name: string, image: string, conf?: string) {
  const d = path.join(dir, name);
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, "stack.yml"), compose(image));
  fs.writeFileSync(path.join(d, "app.conf"), conf ?? "worker_processes 1;\n");
  return path.join(name, "stack.yml");
}

beforeAll(async () => {
  rec = await recordProgram(fakeCloud());
  const pulumi = await import("@pulumi/pulumi");
  const { SwarmCluster } = await import("../components/swarm/swarmCluster");
  const { SwarmStack } = await import("../components/stacks/swarmStack");
  const cluster = new SwarmCluster("c", {
    region: "fra1",
    sshPublicKey: TEST_PUBLIC_KEY,
    sshPrivateKey: pulumi.secret(TEST_PRIVATE_KEY),
    managers: { count: 3, size: "s-1vcpu-2gb" },
    workers: [{ name: "worker", count: 1, size: "s-1vcpu-1gb" }],
  });
  const base = { projectDir: dir, connection: cluster.managerConnection, after: cluster.ready };
  const stack = (name: string, file: string | string[], extra: object = {}) =>
    new SwarmStack(`c-stack-${name}`, {
      ...base,
      stack: {
        name: "app",
        file,
        env: { GREETING: "hello" },
        secretEnv: { DB_PASSWORD: "dbPassword" },
        ...extra,
      },
      secretEnv: { DB_PASSWORD: pulumi.secret("hunter2") },
    });
  stack("a", stackDir("a", "nginx:1.27"));
  stack("same", stackDir("same", "nginx:1.27")); // identical content, another directory
  stack("replicas", stackDir("replicas", "nginx:1.27"), { replicas: { app: 5 } });
  stack("image", stackDir("image", "nginx:1.28"));
  stack("file", stackDir("file", "nginx:1.27", "worker_processes 2;\n"));
  stack("timeout", stackDir("timeout", "nginx:1.27"), { timeoutSeconds: 90 });
  stack("pinned", stackDir("pinned", "nginx:1.27"), { pinImages: true });
  stack("moved", stackDir("moved", "nginx:1.28"), { pinImages: true });
  // A base file plus an override in another directory, as `docker stack deploy -c a -c b`.
  const baseFile = stackDir("merged", "nginx:1.27");
  fs.mkdirSync(path.join(dir, "merged-prod"));
  fs.writeFileSync(
    path.join(dir, "merged-prod", "prod.yml"),
    "services:\n  app:\n    image: nginx:1.29\n    deploy: { replicas: 6 }\n",
  );
  stack("merged", [baseFile, path.join("merged-prod", "prod.yml")]);
  await rec.settled();
});

const deploy = (n: string) => rec.byName(`c-stack-${n}-deploy`);
const inputs = (n: string) =>
  reveal(deploy(n).rawInputs) as {
    create: string;
    update: string;
    delete: string;
    stdin: string;
    triggers?: unknown[];
    connection: { host: string };
  };
/** The readable render the deploy command carries (what preview diffs). */
const render = (n: string) => renderFromHeader(inputs(n).update);

test("deploys on a manager through the reserved IP, after every node is registered", () => {
  expect(inputs("a").connection.host).toBe("198.51.100.7");
  const registers = rec.resources.filter((r) => r.name.endsWith("-register")).map((r) => r.urn);
  expect(registers).toHaveLength(4);
  expect(deploy("a").dependencies).toEqual(expect.arrayContaining(registers));
  expect(deploy("a").parent).toBe(rec.byName("c-stack-a").urn);
});

test("create and update both run stack-deploy.sh (an edit never replaces, so never `stack rm`s)", () => {
  const i = inputs("a");
  expect(i.create).toBe(i.update);
  expect(i.create).toContain("stack-deploy[");
  expect(i.create).toContain("bash \"$f\" 'app' '600'");
  expect(inputs("timeout").create).toContain("bash \"$f\" 'app' '90'");
  expect(i.delete).toContain("docker stack rm");
  expect(i.delete).toContain("bash \"$f\" 'app'");
});

test("the bundle carries the real render with the secret, and is secret", () => {
  expect(isSecret(deploy("a").rawInputs.stdin)).toBe(true);
  const files = decodeBundle(inputs("a").stdin);
  const rendered = parse(files["stack.yml"].toString());
  expect(rendered.services.app.environment).toEqual({ DB_PASSWORD: "hunter2", GREETING: "hello" });
  // Swarm configs are immutable: the renderer names this one by its content hash.
  const [configKey] = Object.keys(rendered.configs);
  expect(configKey).toMatch(/^conf-[0-9a-f]{8}$/);
  expect(rendered.services.app.configs).toEqual([{ source: configKey, target: "/etc/app.conf" }]);
  const shipped = rendered.configs[configKey].file as string;
  expect(files[shipped.replace(/^\.\//, "")].toString()).toBe("worker_processes 1;\n");
  // Safe rolling-update defaults are merged into the shipped stack.
  expect(rendered.services.app.deploy.update_config).toMatchObject({
    failure_action: "rollback",
    order: "start-first",
  });
});

test("the command carries the readable render with secrets masked, not secret itself", () => {
  const text = render("a");
  expect(isSecret(deploy("a").rawInputs.update)).toBe(false);
  expect(inputs("a").update).not.toContain("hunter2");
  expect(parse(text).services.app.environment.DB_PASSWORD).toBe("[secret:DB_PASSWORD]");
  expect(inputs("a").update.split("\n")[0]).toBe(
    "# do-swarm: stack app as deployed, secret values masked",
  );
  // The header is comments: the command still ends running the script.
  expect(inputs("a").update).toMatch(/\nbash "\$f" 'app' '600'$/);
});

test("an edit is an in-place update, never a replacement (which would `stack rm` after deploying)", () => {
  // @pulumi/command replaces on any `triggers` change, even with an update command
  // (pulumi/pulumi-command#855): the old command's delete would then remove the new stack.
  for (const n of ["a", "replicas", "image", "file", "pinned"]) {
    expect(inputs(n).triggers).toBeUndefined();
    expect(deploy(n).replaceOnChanges).toEqual(["triggers[*]"]);
  }
});

test("an unchanged file keeps the command; replicas, image and file content change it", () => {
  expect(inputs("same").update).toBe(inputs("a").update);
  const t = (n: string) => render(n);
  expect(t("same")).toBe(t("a"));
  for (const changed of ["replicas", "image", "file"]) expect(t(changed)).not.toBe(t("a"));
  expect(parse(t("replicas")).services.app.deploy.replicas).toBe(5);
  expect(parse(t("image")).services.app.image).toBe("nginx:1.28");
  expect(Object.keys(parse(t("file")).configs)).not.toEqual(Object.keys(parse(t("a")).configs));
});

test("a stack of several files deploys their merge (each path relative to the project)", () => {
  const merged = parse(render("merged"));
  expect(merged.services.app.image).toBe("nginx:1.29");
  expect(merged.services.app.deploy.replicas).toBe(6);
  // From the base; typed and keyed by docker's merge, since both files define the service.
  expect(merged.services.app.ports).toEqual([
    { mode: "ingress", target: 80, published: 8080, protocol: "tcp" },
  ]);
  // The config file still resolves against the first file's directory: same content, same name.
  expect(Object.keys(merged.configs)).toEqual(Object.keys(parse(render("a")).configs));
});

test("pinImages resolves each tag to its digest: the command and the shipped stack carry it", () => {
  const digest = (ref: string) => createHash("sha256").update(ref).digest("hex");
  const image = parse(render("pinned")).services.app.image;
  expect(image).toBe(`nginx:1.27@sha256:${digest("nginx:1.27")}`);
  const shipped = parse(decodeBundle(inputs("pinned").stdin)["stack.yml"].toString());
  expect(shipped.services.app.image).toBe(image);
  // Unpinned stacks keep the tag as written.
  expect(parse(render("a")).services.app.image).toBe("nginx:1.27");
  expect(parse(render("moved")).services.app.image).toMatch(/^nginx:1\.28@sha256:/);
});
