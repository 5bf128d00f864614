// Normalising for swarm: every dropped or changed key is one warning naming file, service and
// key; everything docker stack would refuse is one error listing every problem at once.
import * as path from "path";
import { at, cleanup, readBack, render, renderError } from "./fixtures/compose/helpers";

afterAll(cleanup);

const svc = (body: string, top = "") => `services:\n  web:\n    image: nginx:1.27\n${body}${top}`;

describe("dropped keys: one warning each, naming file, service and key", () => {
  const cases: Array<[string, string, RegExp]> = [
    ["container_name", "    container_name: web1\n", /container name is not supported/],
    ["links", "    links: [db]\n", /service name/],
    ["network_mode", "    network_mode: host\n", /networks:/],
    ["privileged", "    privileged: true\n", /cap_add/],
    ["devices", "    devices: ['/dev/ttyUSB0:/dev/ttyUSB0']\n", /devices/],
    ["expose", "    expose: ['80']\n", /unnecessary/],
    ["depends_on", "    depends_on: [db]\n", /startup order/],
    ["profiles", "    profiles: [debug]\n", /not part of the compose v3 format/],
    ["pull_policy", "    pull_policy: always\n", /not part of the compose v3 format/],
    ["security_opt", "    security_opt: ['label:disable']\n", /ignores/],
    ["shm_size", "    shm_size: 64m\n", /tmpfs/],
  ];
  test.each(cases)("%s", (key, body, why) => {
    const r = render(svc(body));
    const w = at(r.warnings, `services.web.${key}`);
    expect(w).toHaveLength(1);
    expect(w[0].startsWith(`${r.file}: services.web.${key}: dropped: `)).toBe(true);
    expect(w[0]).toMatch(why);
    expect(readBack(r.yaml).services.web[key]).toBeUndefined();
  });

  test("long-form depends_on (which docker stack rejects) is dropped and says so", () => {
    const r = render(svc("    depends_on:\n      db:\n        condition: service_healthy\n"));
    expect(at(r.warnings, "services.web.depends_on")[0]).toMatch(/rejects the long form/);
  });

  test("cap_add/cap_drop, sysctls and ulimits are kept: swarm supports them", () => {
    const r = render(
      svc(
        "    cap_add: [NET_ADMIN]\n    cap_drop: [ALL]\n    sysctls:\n      net.core.somaxconn: 1024\n    ulimits:\n      nofile: 1024\n",
      ),
    );
    expect(r.warnings).toEqual([]);
    expect(readBack(r.yaml).services.web).toMatchObject({
      cap_add: ["NET_ADMIN"],
      cap_drop: ["ALL"],
    });
  });

  test("top-level name, version 2 and unknown top-level keys", () => {
    const r = render(`version: "2"\nname: myproj\nfoo: bar\n${svc("")}`);
    expect(at(r.warnings, "name")[0]).toMatch(/stack name is given at deploy/);
    expect(at(r.warnings, "version")[0]).toMatch(/"2" is not a version docker stack accepts/);
    expect(at(r.warnings, "foo")).toHaveLength(1);
    const out = readBack(r.yaml);
    expect(out.version).toBe("3.13");
    expect(out.name).toBeUndefined();
  });

  test("a 3.x version is rewritten to 3.13 silently (a superset)", () => {
    const r = render(`version: "3.2"\n${svc("")}`);
    expect(r.warnings).toEqual([]);
    expect(r.yaml.startsWith('version: "3.13"\n')).toBe(true);
  });
});

describe("restart: converted to deploy.restart_policy, as docker stack deploy does", () => {
  test.each([
    ["always", { condition: "any" }],
    ["unless-stopped", { condition: "any" }],
    ["on-failure", { condition: "on-failure" }],
    ["on-failure:3", { condition: "on-failure", max_attempts: 3 }],
  ])("restart: %s", (value, policy) => {
    const r = render(svc(`    restart: ${value}\n`));
    expect(readBack(r.yaml).services.web.deploy.restart_policy).toEqual(policy);
    expect(at(r.warnings, "services.web.restart")[0]).toMatch(/converted to deploy.restart_policy/);
  });

  test('restart: "no" is dropped with a warning that swarm restarts anyway', () => {
    const r = render(svc('    restart: "no"\n'));
    expect(readBack(r.yaml).services.web.deploy.restart_policy).toBeUndefined();
    expect(at(r.warnings, "services.web.restart")[0]).toMatch(/condition: none/);
  });

  test("an explicit deploy.restart_policy wins over restart:", () => {
    const r = render(
      svc("    restart: always\n    deploy:\n      restart_policy:\n        condition: none\n"),
    );
    expect(readBack(r.yaml).services.web.deploy.restart_policy).toEqual({ condition: "none" });
    expect(at(r.warnings, "services.web.restart")[0]).toMatch(/wins/);
  });
});

describe("environment", () => {
  test("env_file is read at render time and inlined under explicit environment", () => {
    const r = render(svc("    env_file: [./a.env, b.env]\n    environment:\n      B: explicit\n"), {
      files: {
        "a.env": "# comment\nA=from a\nB=from a\n\n  C=spaced key\n",
        "b.env": "D=x=y\nE\n",
      },
      env: { E: "from env" },
    });
    expect(readBack(r.yaml).services.web.environment).toEqual({
      A: "from a",
      B: "explicit",
      C: "spaced key",
      D: "x=y",
      E: "from env",
    });
    expect(at(r.warnings, "services.web.env_file")[0]).toMatch(/inlined/);
  });

  test("a missing env_file is an error naming it", () => {
    const e = renderError(svc("    env_file: ./nope.env\n"));
    expect(e.problems[0]).toMatch(/services\.web\.env_file\[0\]: file \.\/nope\.env not found/);
  });

  test("a value-less variable takes the render env's value; without one it stays unset, with a warning", () => {
    const r = render(svc("    environment:\n      - FROM_ENV\n      - MISSING\n      - SET=1\n"), {
      env: { FROM_ENV: "v" },
    });
    expect(readBack(r.yaml).services.web.environment).toEqual(["FROM_ENV=v", "MISSING", "SET=1"]);
    expect(at(r.warnings, "services.web.environment.MISSING")).toHaveLength(1);
  });
});

describe("build:", () => {
  test("with an image: the build is returned for the caller, the key dropped with a warning", () => {
    const r = render(
      svc(
        "    build:\n      context: ./app\n      dockerfile: Dockerfile.prod\n      args:\n        - VERSION=1\n        - FROM_ENV\n      target: runtime\n",
      ),
      { env: { FROM_ENV: "e" } },
    );
    expect(r.builds).toEqual([
      {
        service: "web",
        context: path.join(path.dirname(r.file), "app"),
        dockerfile: "Dockerfile.prod",
        args: { VERSION: "1", FROM_ENV: "e" },
        target: "runtime",
        image: "nginx:1.27",
        buildOnly: false,
      },
    ]);
    expect(at(r.warnings, "services.web.build")[0]).toMatch(/push it as nginx:1.27/);
    expect(readBack(r.yaml).services.web.build).toBeUndefined();
  });

  test("build-only without an images entry: error naming file, service and key, with the fix", () => {
    const e = renderError("services:\n  api:\n    build: ./api\n");
    expect(e.problems).toEqual([
      `${e.file}: services.api.image: has build: but no image:; add image: (a registry reference to push to), or configure a registry so do-swarm builds and pushes it`,
    ]);
    expect(at(e.warnings, "services.api.build")).toHaveLength(1);
    // The error carries what to build, so the caller can build, push and render again.
    expect(e.builds).toEqual([
      expect.objectContaining({ service: "api", context: expect.stringMatching(/\/api$/) }),
    ]);
  });

  test("build-only with an images entry renders; builds carries a suggested image name", () => {
    const r = render("services:\n  api:\n    build: ./api\n", {
      images: { api: "registry.example.com/api@sha256:abc" },
    });
    const dirName = path.basename(path.dirname(r.file)).toLowerCase();
    expect(r.builds).toEqual([
      {
        service: "api",
        context: path.join(path.dirname(r.file), "api"),
        image: `${dirName}-api`,
        buildOnly: true,
      },
    ]);
    expect(r.images).toEqual({ api: "registry.example.com/api@sha256:abc" });
    expect(readBack(r.yaml).services.api.image).toBe("registry.example.com/api@sha256:abc");
  });

  test("images overrides win over the file's image", () => {
    const r = render(svc(""), { images: { web: "nginx@sha256:0123" } });
    expect(r.images).toEqual({ web: "nginx@sha256:0123" });
    expect(readBack(r.yaml).services.web.image).toBe("nginx@sha256:0123");
  });
});

describe("hard errors: all problems at once, each naming file, service and key", () => {
  test.each([
    ["extends", "    extends:\n      service: base\n", /inline/],
    ["volumes_from", "    volumes_from: [other]\n", /top-level `volumes:`/],
    ["mem_limit", "    mem_limit: 1g\n", /deploy.resources.limits.memory/],
    ["cpu_shares", "    cpu_shares: 512\n", /deploy.resources/],
    ["cpu_quota", "    cpu_quota: 50000\n", /deploy.resources.limits.cpus/],
    ["memswap_limit", "    memswap_limit: 2g\n", /deploy.resources.limits.memory/],
    ["volume_driver", "    volume_driver: local\n", /top-level `volumes:`/],
  ])("%s", (key, body, fix) => {
    const e = renderError(svc(body));
    expect(e.problems).toHaveLength(1);
    expect(
      e.problems[0].startsWith(`${e.file}: services.web.${key}: docker stack deploy rejects it: `),
    ).toBe(true);
    expect(e.problems[0]).toMatch(fix);
  });

  test("no image and nothing to build", () => {
    const e = renderError("services:\n  a:\n    command: top\n");
    expect(e.problems).toEqual([
      `${e.file}: services.a.image: has no image: and no build:; add image:`,
    ]);
  });

  test("a service with no definition", () => {
    expect(renderError("services:\n  a:\n").problems[0]).toMatch(
      /services\.a: has no definition; add at least image:/,
    );
  });

  test("several problems are reported together", () => {
    const e = renderError(
      "services:\n  a:\n    image: x\n    mem_limit: 1g\n    extends: b\n  b:\n    build: .\n  c:\n    image: ${IMG?set IMG}\n",
      { replicas: { nope: 2 } },
    );
    expect(e.problems).toHaveLength(5);
    expect(e.problems.join("\n")).toMatch(/services\.a\.mem_limit/);
    expect(e.problems.join("\n")).toMatch(/services\.a\.extends/);
    expect(e.problems.join("\n")).toMatch(/services\.b\.image/);
    expect(e.problems.join("\n")).toMatch(/required variable IMG is missing a value: set IMG/);
    expect(e.problems.join("\n")).toMatch(/options\.replicas\.nope: no service nope/);
    expect(e.message).toContain("5 problem(s)");
  });

  test("unknown images override target", () => {
    expect(renderError(svc(""), { images: { nope: "x" } }).problems[0]).toMatch(
      /options\.images\.nope: no service nope in this file \(services: web\)/,
    );
  });
});

describe("references and other warnings", () => {
  test("undefined networks, configs and secrets are warned about (deploy would fail)", () => {
    const r = render(svc("    networks: [front]\n    configs: [c]\n    secrets: [s]\n"));
    expect(at(r.warnings, "services.web.networks.front")[0]).toMatch(/undefined network/);
    expect(at(r.warnings, "services.web.configs[0]")[0]).toMatch(/config c is not defined/);
    expect(at(r.warnings, "services.web.secrets[0]")[0]).toMatch(/secret s is not defined/);
  });

  test("a host IP on a published port is ignored by swarm: warned", () => {
    const r = render(svc('    ports: ["127.0.0.1:8080:80"]\n'));
    expect(at(r.warnings, "services.web.ports[0]")[0]).toMatch(/published on every address/);
  });

  test("relative bind mounts are warned about", () => {
    const r = render(
      svc(
        "    volumes:\n      - ./data:/data\n      - type: bind\n        source: ~/x\n        target: /x\n      - named:/n\n",
        "volumes:\n  named: {}\n",
      ),
    );
    expect(at(r.warnings, "services.web.volumes[0]")).toHaveLength(1);
    expect(at(r.warnings, "services.web.volumes[1]")).toHaveLength(1);
    expect(at(r.warnings, "services.web.volumes[2]")).toHaveLength(0);
  });
});

describe("keys docker stack deploy ignores without a word", () => {
  test("service-level tmpfs becomes tmpfs volumes (options cannot be converted: warned)", () => {
    const r = render(
      svc(
        "    tmpfs: [/run, /tmp:size=64m]\n    volumes: [data:/data]\n",
        "volumes:\n  data: {}\n",
      ),
    );
    expect(readBack(r.yaml).services.web.volumes).toEqual([
      "data:/data",
      { type: "tmpfs", target: "/run" },
    ]);
    expect(at(r.warnings, "services.web.tmpfs")).toHaveLength(2);
  });

  test("group_add is dropped with a warning", () => {
    const r = render(svc("    group_add: [audio]\n"));
    expect(at(r.warnings, "services.web.group_add")[0]).toMatch(/silently ignores/);
  });

  test("static network addresses are dropped with a warning; aliases kept", () => {
    const r = render(
      svc(
        "    networks:\n      back:\n        aliases: [api]\n        ipv4_address: 10.0.0.5\n        ipv6_address: fd00::5\n",
        "networks:\n  back: {}\n",
      ),
    );
    expect(readBack(r.yaml).services.web.networks).toEqual({ back: { aliases: ["api"] } });
    expect(at(r.warnings, "services.web.networks.back.ipv4_address")).toHaveLength(1);
    expect(at(r.warnings, "services.web.networks.back.ipv6_address")).toHaveLength(1);
  });

  test("jobs get no rolling-update defaults; a replicas override on a global job is an error", () => {
    const r = render(svc("    deploy:\n      mode: replicated-job\n      replicas: 2\n"));
    expect(readBack(r.yaml).services.web.deploy).toEqual({ mode: "replicated-job", replicas: 2 });
    const e = renderError(svc("    deploy:\n      mode: global-job\n"), { replicas: { web: 2 } });
    expect(e.problems[0]).toMatch(/services\.web\.deploy\.mode: is global/);
  });
});

test("invalid service, network, config names are errors (docker's schema pattern)", () => {
  const e = renderError("services:\n  'my web':\n    image: nginx\nnetworks:\n  'a/b': {}\n");
  expect(e.problems).toEqual([
    expect.stringMatching(/services\.my web: invalid name/),
    expect.stringMatching(/networks\.a\/b: invalid name/),
  ]);
});

describe("compose-spec forms docker stack's v3 schema rejects", () => {
  test("long-syntax port host_ip, app_protocol and name are dropped with warnings", () => {
    const r = render(
      svc(
        "    ports:\n      - target: 80\n        published: 8080\n        host_ip: 127.0.0.1\n        app_protocol: http\n        name: web\n",
      ),
    );
    expect(readBack(r.yaml).services.web.ports).toEqual([{ target: 80, published: 8080 }]);
    expect(at(r.warnings, "services.web.ports[0].host_ip")[0]).toMatch(/every address/);
    expect(at(r.warnings, "services.web.ports[0].app_protocol")).toHaveLength(1);
    expect(at(r.warnings, "services.web.ports[0].name")).toHaveLength(1);
  });

  test("configs content: and secrets environment: become shipped, hashed files", () => {
    const r = render(
      svc(
        "    configs: [site]\n    secrets: [token]\n",
        "configs:\n  site:\n    content: |\n      hello ${WHO}\nsecrets:\n  token:\n    environment: TOKEN\n",
      ),
      { env: { WHO: "world", TOKEN: "s3cret" } },
    );
    const out = readBack(r.yaml);
    const siteKey = Object.keys(out.configs)[0];
    const tokenKey = Object.keys(out.secrets)[0];
    expect(siteKey).toMatch(/^site-[0-9a-f]{8}$/);
    expect(out.configs[siteKey]).toEqual({ file: `./configs/${siteKey}` });
    expect(r.files[`configs/${siteKey}`].toString()).toBe("hello world\n");
    expect(r.files[`secrets/${tokenKey}`].toString()).toBe("s3cret");
    expect(at(r.warnings, "configs.site.content")).toHaveLength(1);
    expect(at(r.warnings, "secrets.token.environment")).toHaveLength(1);
  });

  test("a secret from an unset environment variable is an error naming it", () => {
    const e = renderError(
      svc("    secrets: [token]\n", "secrets:\n  token:\n    environment: TOKEN\n"),
    );
    expect(e.problems).toEqual([
      expect.stringMatching(/secrets\.token\.environment: variable TOKEN is not set/),
    ]);
  });
});

test("deploy keys outside docker's v3 schema are dropped with a warning, at any depth", () => {
  const r = render(
    svc(
      "    deploy:\n      replicas: 2\n      rollback: fast\n      resources:\n        reservations:\n          memory: 64M\n          devices:\n            - capabilities: [gpu]\n      placement:\n        max_replicas: 1\n",
    ),
  );
  const d = readBack(r.yaml).services.web.deploy;
  expect(d.resources).toEqual({ reservations: { memory: "64M" } });
  expect(d.placement).toEqual({});
  expect(d.rollback).toBeUndefined();
  for (const where of [
    "deploy.rollback",
    "deploy.resources.reservations.devices",
    "deploy.placement.max_replicas",
  ]) {
    expect(at(r.warnings, `services.web.${where}`)).toHaveLength(1);
  }
});
