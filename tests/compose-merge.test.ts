// Several compose files merged as `docker stack deploy -c a -c b [-c c]` merges them, checked
// differentially: `docker stack config -c a -c b` on the original files and `docker stack config`
// on our one merged bundle must agree key by key (but for the deliberate changes the single-file
// differential already allows, and duplicates of unique lists, which are warned about).
// Fixtures: tests/fixtures/compose/merge/<case>/, each exercising a group of docker's rules.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderStack, RenderResult, StackRenderError } from "../components/compose";
import { writeBundle } from "../components/compose/cli";
import { Origins, expandShortPort } from "../components/compose/merge";
import { differences } from "./fixtures/compose/differential";
import { parseDockerOutput, requireDocker, stackConfig } from "./fixtures/compose/docker";
import { cleanup, readBack, tmpDir } from "./fixtures/compose/helpers";

const FIXTURES = path.resolve(__dirname, "fixtures/compose/merge");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "compose-merge-"));
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  cleanup();
});

interface Case {
  files: string[];
  env?: Record<string, string>;
}
const CASES: Record<string, Case> = {
  scalars: { files: ["scalars/docker-compose.yml", "scalars/docker-compose.prod.yml"] },
  ports: { files: ["ports/stack.yml", "ports/stack.override.yml"] },
  networks: { files: ["networks/docker-compose.yml", "networks/docker-compose.override.yml"] },
  objects: { files: ["objects/stack.yml", "objects/stack.prod.yml"] },
  elsewhere: {
    files: ["elsewhere/app/docker-compose.yml", "elsewhere/prod/docker-compose.prod.yml"],
  },
  triple: {
    files: [
      "triple/docker-compose.yml",
      "triple/docker-compose.healthcheck.yml",
      "triple/docker-compose.prod.yml",
    ],
    env: { TAG: "2.1" },
  },
  more: { files: ["more/docker-compose.yml", "more/docker-compose.override.yml"] },
  env: {
    files: ["env/docker-compose.yml", "env/docker-compose.override.yml"],
    env: { SET_IN_ENV: "from-env", GREETING: "hi", DB_HOST: "unused" },
  },
};

const abs = (c: Case) => c.files.map((f) => path.join(FIXTURES, f));
const results = new Map<string, { r: RenderResult; docker: Promise<[string, string]> }>();

function merged(name: string): { r: RenderResult; docker: Promise<[string, string]> } {
  const hit = results.get(name);
  if (hit) return hit;
  const c = CASES[name];
  const r = renderStack({ file: abs(c), env: c.env });
  const bundle = path.join(tmp, name);
  writeBundle(bundle, r.yaml, r.files);
  const docker = Promise.all([
    stackConfig(abs(c), c.env),
    stackConfig(path.join(bundle, "stack.yml"), c.env),
  ]).then(([orig, ours]) => {
    expect([orig.code, orig.stderr]).toEqual([0, expect.any(String)]);
    expect(ours.stderr).toBe("");
    expect(ours.code).toBe(0);
    return [orig.stdout, ours.stdout] as [string, string];
  });
  const out = { r, docker };
  results.set(name, out);
  return out;
}

beforeAll(requireDocker);

describe.each(Object.keys(CASES))("%s", (name) => {
  test("docker reads our merged bundle as it reads `-c a -c b`, key by key", async () => {
    const { r, docker } = merged(name);
    const [original, rendered] = await docker;
    const diff = differences({
      file: abs(CASES[name])[0],
      bundle: path.join(tmp, name),
      result: r,
      original,
      rendered,
    });
    expect(diff).toEqual([]);
    // The merge is not a no-op: docker's merged view differs from every file alone.
    for (const file of abs(CASES[name])) {
      const alone = await stackConfig(file, CASES[name].env);
      if (alone.code === 0) {
        expect(parseDockerOutput(alone.stdout).services).not.toEqual(
          parseDockerOutput(original).services,
        );
      }
    }
  });
});

describe("the rules, on the rendered stack", () => {
  const stack = (name: string) => readBack(merged(name).r.yaml);
  const warned = (name: string, where: string) =>
    merged(name).r.warnings.filter((w) => w.includes(`: ${where}: `));

  test("scalars: a later value replaces; zero values do not; lists append; mappings merge", () => {
    const web = stack("scalars").services.web;
    expect(web.image).toBe("nginx:1.27"); // interpolated in each file, then replaced
    expect(web.command).toBe('nginx -g "daemon off; worker_processes 2;"');
    expect(web.entrypoint).toBe("/docker-entrypoint.sh");
    expect([web.read_only, web.init, web.user, web.stop_grace_period]).toEqual([
      true,
      true,
      "101",
      "20s",
    ]);
    for (const key of ["read_only", "init", "user", "stop_grace_period"]) {
      expect(warned("scalars", `services.web.${key}`)).toEqual([
        expect.stringMatching(/docker-compose\.prod\.yml: .* is ignored: docker's merge never/),
      ]);
    }
    expect(web.cap_add).toEqual(["NET_ADMIN", "SYS_TIME"]);
    expect(warned("scalars", "services.web.cap_add")[0]).toMatch(/NET_ADMIN is listed in more/);
    expect(web.dns).toEqual(["1.1.1.1", "8.8.8.8"]);
    expect(web.extra_hosts).toEqual(["db.local:10.0.0.5", "cache.local:10.0.0.6"]);
    expect(web.labels).toEqual({ team: "web", tier: "", env: "prod" });
    expect(web.sysctls).toEqual({ "net.core.somaxconn": "1024", "net.ipv4.tcp_syncookies": "1" });
    expect(web.ulimits).toEqual({ nofile: { soft: 4096, hard: 8192 }, nproc: 512 });
    expect(web.logging).toEqual({
      driver: "json-file",
      options: { "max-size": "10m", "max-file": "3" },
    });
    expect(web["x-notes"]).toEqual({ owner: "alice", reviewer: "bob", tags: ["a", "b"] });
    // docker appends healthcheck tests: what deploys, loudly.
    expect(web.healthcheck.test).toEqual([
      "CMD",
      "wget",
      "-qO-",
      "http://localhost/",
      "CMD-SHELL",
      "curl -fsS http://localhost/",
    ]);
    expect(warned("scalars", "services.web.healthcheck.test")[0]).toMatch(/appends the test/);
    expect(web.healthcheck.retries).toBe(0); // *uint64: present wins, 0 included
    // worker: later logging options are lost when the earlier logging has none (docker's merge).
    expect(stack("scalars").services.worker.logging).toEqual({ driver: "json-file" });
    expect(warned("scalars", "services.worker.logging.options")[0]).toMatch(/drops logging/);
    // Top-level x- keys: the first file's only.
    expect(stack("scalars")["x-common"]).toEqual({ team: "web" });
    expect(stack("scalars").services.batch.image).toBe("busybox:1.36");
  });

  test("deploy subkeys merge one by one, then the rolling-update defaults fill the rest", () => {
    const d = stack("scalars").services.web.deploy;
    expect(d.replicas).toBe(0);
    expect(d.labels).toEqual({ a: "1", b: "2" });
    expect(d.update_config).toMatchObject({
      parallelism: 2,
      delay: "5s",
      order: "start-first",
      failure_action: "rollback",
    });
    expect(d.rollback_config.parallelism).toBe(1);
    expect(d.restart_policy).toEqual({ condition: "on-failure", max_attempts: 0 });
    expect(d.resources).toEqual({
      limits: { cpus: "0.50", memory: "256M" },
      reservations: { memory: "64M" },
    });
    expect(d.placement.constraints).toEqual(["node.role == worker", "node.labels.zone == east"]);
    expect(d.placement.preferences).toEqual([{ spread: "node.labels.zone" }]);
  });

  test("less common keys: durations, logging drivers, ulimits forms, x- nulls, objects replaced", () => {
    const s = stack("more");
    const app = s.services.app;
    expect(app.entrypoint).toEqual(["/bin/app"]); // an empty later command does not replace
    expect(s.services.sidecar.command).toEqual(["run"]);
    expect(app.working_dir).toBe("/srv");
    expect(app.environment).toEqual({ PORT: 9090, DEBUG: "true", EXTRA: 1 });
    expect(app.labels).toEqual({ version: "2" });
    expect(app.ulimits).toEqual({ nofile: { soft: 2048, hard: 4096 }, nproc: 64 });
    expect(app.logging).toEqual({ driver: "syslog", options: { tag: "app" } }); // other driver
    expect(app.credential_spec).toEqual({ config: "my-spec", file: "spec.json" });
    expect(app["x-meta"]).toEqual({ keep: 1, drop: null, add: ["x"] });
    expect(app.healthcheck).toEqual({ test: ["CMD", "true"], disable: true });
    expect(app.deploy).toMatchObject({
      mode: "global",
      endpoint_mode: "dnsrr",
      restart_policy: { condition: "any", delay: "5s", window: "1m" },
      placement: { max_replicas_per_node: 2 },
    });
    expect(app.deploy.update_config).toMatchObject({ monitor: "10s", max_failure_ratio: 0.2 });
    expect(app.deploy.rollback_config).toMatchObject({ order: "stop-first", monitor: "20s" });
    expect(app.deploy.resources.reservations.generic_resources).toHaveLength(2);
    expect(s.services.cron.deploy).toMatchObject({ mode: "replicated", replicas: 1 });
    expect(s.secrets.db).toEqual({ external: true, name: "prod_db_password" });
    expect(merged("more").r.files).toEqual({}); // the file-based secret was replaced
  });

  test("ports: keyed by published port, later entry wins whole, sorted; short syntax expanded", () => {
    const s = stack("ports").services;
    expect(s.web.ports.map((p: { published?: number }) => p.published ?? 0)).toEqual([
      0, 80, 443, 6000, 6001, 7000, 7001, 9000,
    ]);
    expect(s.web.ports[1]).toEqual({ target: 8081, published: 80, mode: "host" });
    expect(s.web.ports[7]).toEqual({
      mode: "ingress",
      target: 9001,
      published: 9000,
      protocol: "tcp",
    });
    // api: not mentioned by the override, still re-keyed and sorted by docker's merge.
    expect(s.api.ports.map((p: { published: number }) => p.published)).toEqual([4000, 5000]);
    expect(s.admin.ports).toEqual(["3000:3000"]); // only one file has them: as written
    expect(warned("ports", "services.web.ports")).toEqual([
      expect.stringMatching(
        /ports\/stack\.yml: .*host IP 127\.0\.0\.1 of 127\.0\.0\.1:443:443 is ignored/,
      ),
    ]);
    expect(merged("ports").r.publishedPorts.filter((p) => p.service === "web")).toEqual(
      [80, 443, 6000, 6001, 7000, 7001, 9000].map((port) => ({
        service: "web",
        port,
        protocol: port >= 6000 && port < 7000 ? "udp" : "tcp",
        mode: port === 80 ? "host" : "ingress",
      })),
    );
  });

  test("networks: union; later aliases replace, an empty mapping clears them", () => {
    const s = stack("networks");
    expect(s.services.web.networks).toEqual({
      front: { aliases: ["public"] },
      back: {},
      mgmt: { aliases: ["ops"] },
    });
    expect(s.services.db.networks).toEqual({ back: null, front: { aliases: ["database"] } });
    expect(s.networks.back).toEqual({ driver: "overlay", internal: true }); // replaced whole
    expect(Object.keys(s.networks).sort()).toEqual(["back", "extra", "front", "mgmt"]);
  });

  test("volumes by target, configs and secrets by source; top-level entries replaced whole", () => {
    const { r } = merged("objects");
    const web = readBack(r.yaml).services.web;
    expect(web.volumes).toEqual([
      { type: "tmpfs", target: "/tmp" },
      "cache:/var/cache/nginx",
      { type: "volume", source: "data-prod", target: "/var/lib/data" },
      "/srv/logs:/var/log/nginx:ro",
    ]);
    expect(web.secrets).toEqual([
      { source: "api_key", target: "/run/secrets/key" },
      { source: "db_password", target: "/run/secrets/pg", uid: "70" },
    ]);
    expect(web.configs).toEqual([
      { source: "extra", target: "/etc/extra.conf", mode: 0o440 },
      { source: "site", target: "/etc/nginx/conf.d/default.conf" },
    ]);
    const site = readBack(r.yaml).configs.site;
    expect(site.name).toMatch(/^site-prod-[0-9a-f]{8}$/); // hashed after the merge
    expect(r.files[site.file.slice(2)].toString()).toBe("server { listen 8080; }\n");
  });

  test("an override in another directory: its paths resolve against the first file's directory", () => {
    const { r } = merged("elsewhere");
    const web = readBack(r.yaml).services.web;
    // Per file: env_file, then environment; then the later file's values win.
    expect(web.environment).toEqual({ PORT: "9090", LOG_LEVEL: "warn", MODE: "prod" });
    expect(Object.values(r.files).map(String).sort()).toEqual([
      "server { listen 443; }\n",
      "tls cert\n",
    ]);
    expect(warned("elsewhere", "services.web.env_file").map((w) => w.split(":")[0])).toEqual([
      path.join(FIXTURES, "elsewhere/app/docker-compose.yml"),
      path.join(FIXTURES, "elsewhere/prod/docker-compose.prod.yml"),
    ]);
  });

  test("environment: resolved per file before the merge; a later empty value does not replace", () => {
    const app = stack("env").services.app;
    expect(app.image).toBe("busybox:1.37");
    expect(app.environment).toEqual({
      FROM_BASE_FILE: "1",
      LATER_FILE: "override",
      FROM_BASE: "base",
      OVERRIDDEN: "from-override-file", // the override's env_file beats the base's environment
      EMPTY_LATER: "base",
      BARE_LATER: "base",
      SET_IN_ENV: "from-env",
      FROM_ENV: "hi",
    });
  });

  test("three files: a healthcheck file and a production file on a base", () => {
    const s = stack("triple").services;
    expect(s.api.image).toBe("registry.example.com/api:2.1");
    expect(s.api.environment).toEqual({ NODE_ENV: "production", DB_HOST: "db" });
    expect(s.api.healthcheck).toEqual({
      test: ["CMD", "wget", "-qO-", "http://localhost:3000/health"],
      interval: "5s",
      retries: 5,
    });
    expect(s.api.deploy).toMatchObject({
      replicas: 4,
      resources: { limits: { cpus: "1", memory: "512M" } },
      update_config: { parallelism: 2, order: "start-first", failure_action: "rollback" },
    });
    expect(s.db.healthcheck.test).toBe("pg_isready -U postgres");
    expect(s.db.deploy.placement.constraints).toEqual(["node.labels.db == true"]);
  });
});

test("warnings and errors name the file the key came from", () => {
  const dir = tmpDir({
    "a.yml": "services:\n  web:\n    image: nginx\n    restart: always\n",
    "b.yml": "services:\n  web:\n    privileged: true\n  api:\n    image: x\n    links: [web]\n",
  });
  const r = renderStack({ file: [path.join(dir, "a.yml"), path.join(dir, "b.yml")] });
  expect(r.warnings).toEqual(
    expect.arrayContaining([
      expect.stringMatching(
        new RegExp(`^${path.join(dir, "a.yml")}: services\\.web\\.restart: converted`),
      ),
      expect.stringMatching(
        new RegExp(`^${path.join(dir, "b.yml")}: services\\.web\\.privileged: dropped`),
      ),
      expect.stringMatching(
        new RegExp(`^${path.join(dir, "b.yml")}: services\\.api\\.links: dropped`),
      ),
    ]),
  );
  let err: unknown;
  try {
    renderStack({
      file: [path.join(dir, "a.yml"), path.join(dir, "b.yml")],
      env: {},
      replicas: { nope: 1 },
    });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(StackRenderError);
  expect((err as StackRenderError).message).toContain(
    `${path.join(dir, "a.yml")} + ${path.join(dir, "b.yml")}: 1 problem(s)`,
  );
  expect((err as StackRenderError).problems[0]).toMatch(
    /options\.replicas\.nope: no service nope in these files/,
  );
});

test("a path that exists only next to the override is a clear error saying so", async () => {
  const dir = tmpDir({
    "app/docker-compose.yml": "services:\n  web:\n    image: nginx\n    build: ./web\n",
    "prod/docker-compose.prod.yml": [
      "services:",
      "  web:",
      "    build: ./api",
      "    env_file: ./prod.env",
      "    configs: [site]",
      "    secrets: [cert]",
      "configs:",
      "  site:",
      "    file: ./nginx.conf",
      "secrets:",
      "  cert:",
      "    file: ./cert.pem",
      "",
    ].join("\n"),
    "app/web/Dockerfile": "FROM scratch\n",
    "prod/api/Dockerfile": "FROM scratch\n",
    "prod/prod.env": "A=1\n",
    "prod/nginx.conf": "x\n",
    "prod/cert.pem": "y\n",
  });
  const files = [
    path.join(dir, "app/docker-compose.yml"),
    path.join(dir, "prod/docker-compose.prod.yml"),
  ];
  let err: unknown;
  try {
    renderStack({ file: files });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(StackRenderError);
  const problems = (err as StackRenderError).problems;
  const expectation = (where: string, rel: string) =>
    expect.stringContaining(
      `${files[1]}: ${where}: ` +
        `${where.endsWith("context") ? `${path.join(dir, "app", rel)} does not exist` : `file ./${rel} not found (looked for ${path.join(dir, "app", rel)})`}: ` +
        `it exists only next to docker-compose.prod.yml (${path.join(dir, "prod", rel)}), but docker stack deploy resolves relative paths in every file against the first compose file's directory (${path.join(dir, "app")}): write it as ../prod/${rel}, or move the file`,
    );
  expect(problems.sort()).toEqual(
    [
      expectation("configs.site.file", "nginx.conf"),
      expectation("secrets.cert.file", "cert.pem"),
      expectation("services.web.build.context", "api"),
      expectation("services.web.env_file[0]", "prod.env"),
    ].sort(),
  );
  expect(problems).toHaveLength(4);
  // And written as the error says, it renders.
  const fixed = fs
    .readFileSync(files[1], "utf8")
    .replace(/\.\/(api|prod\.env|nginx\.conf|cert\.pem)/g, "../prod/$1");
  fs.writeFileSync(files[1], fixed);
  const r = renderStack({ file: files, images: { web: "nginx" } });
  expect(Object.values(r.files).map(String).sort()).toEqual(["x\n", "y\n"]);
  expect(r.builds[0].context).toBe(path.join(dir, "prod/api"));
});

test("files whose versions differ are refused, as docker refuses them", async () => {
  const dir = tmpDir({
    "a.yml": 'version: "3.8"\nservices:\n  web:\n    image: nginx\n',
    "b.yml": "services:\n  web:\n    image: nginx:2\n",
    "c.yml": 'version: "3"\nservices:\n  web:\n    image: x\n',
  });
  const [a, b, c] = ["a.yml", "b.yml", "c.yml"].map((f) => path.join(dir, f));
  expect(() => renderStack({ file: [a, b] })).toThrow(
    new RegExp(`${b}: version: "3\\.13" differs from "3\\.8" in ${a}: docker stack deploy refuses`),
  );
  const docker = await stackConfig([a, b]);
  expect(docker.code).not.toBe(0);
  expect(docker.stderr).toMatch(/version mismatched/);
  // No version and "3" both mean 3.13 to docker: accepted.
  expect(readBack(renderStack({ file: [b, c] }).yaml).services.web.image).toBe("x");
  expect((await stackConfig([b, c])).code).toBe(0);
});

test("a list of one file renders exactly as the file alone; an empty list is an error", () => {
  const dir = tmpDir({ "a.yml": "services:\n  web:\n    image: nginx\n    ports: ['80:80']\n" });
  const file = path.join(dir, "a.yml");
  expect(renderStack({ file: [file] })).toEqual(renderStack({ file }));
  expect(() => renderStack({ file: [] })).toThrow(/no compose file given/);
});

test("every unreadable or broken file is reported at once, each by name", () => {
  const dir = tmpDir({ "a.yml": "services: [\n", "b.yml": "services:\n  web:\n    image: x\n" });
  let err: unknown;
  try {
    renderStack({ file: [path.join(dir, "a.yml"), path.join(dir, "nope.yml")] });
  } catch (e) {
    err = e;
  }
  const problems = (err as StackRenderError).problems;
  expect(problems).toEqual([
    expect.stringMatching(
      new RegExp(`^${path.join(dir, "a.yml")}: line \\d+ column \\d+: invalid YAML`),
    ),
    expect.stringMatching(
      new RegExp(`^${path.join(dir, "nope.yml")}: cannot read the compose file`),
    ),
  ]);
});

test("short ports expand as docker's typed ports; Origins finds the file of the longest known prefix", () => {
  expect(expandShortPort("8000-8001:80-81/udp")).toEqual([
    { mode: "ingress", target: 80, published: 8000, protocol: "udp" },
    { mode: "ingress", target: 81, published: 8001, protocol: "udp" },
  ]);
  expect(expandShortPort("127.0.0.1:80:8080")).toEqual([
    { mode: "ingress", target: 8080, published: 80, protocol: "tcp" },
  ]);
  expect(expandShortPort("9000")).toEqual([{ mode: "ingress", target: 9000, protocol: "tcp" }]);
  expect(expandShortPort("80:80:80")).toBeUndefined();
  const o = new Origins("a.yml");
  o.record("services.web", "a.yml", { image: "x", deploy: { replicas: 1 } });
  o.record("services.web", "b.yml", { deploy: { mode: "global" } });
  expect(o.of("services.web.image")).toBe("a.yml");
  expect(o.of("services.web.user")).toBe("b.yml"); // unknown below the service: its last file
  expect(o.of("services.web.deploy.replicas")).toBe("a.yml");
  expect(o.of("services.web.deploy.mode")).toBe("b.yml");
  expect(o.of("services.web.ports[2].published")).toBe("b.yml");
  expect(o.of("options.replicas.x")).toBe("a.yml");
  o.replace("services.web", "c.yml", { image: "y" });
  expect(o.of("services.web.deploy.replicas")).toBe("c.yml");
});
