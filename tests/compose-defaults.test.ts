// Safe rolling-update defaults, merged key by key under whatever the file sets explicitly.
import { at, cleanup, readBack, render, renderError } from "./fixtures/compose/helpers";

afterAll(cleanup);

const UPDATE = {
  parallelism: 1,
  delay: "10s",
  failure_action: "rollback",
  monitor: "30s",
  max_failure_ratio: 0,
  order: "start-first",
};
const ROLLBACK = {
  parallelism: 1,
  delay: "0s",
  failure_action: "pause",
  monitor: "30s",
  order: "start-first",
};

const deployOf = (yaml: string, svc = "web") => readBack(yaml).services[svc].deploy;

test("a service without update/rollback config gets the safe defaults", () => {
  const r = render("services:\n  web:\n    image: nginx\n");
  expect(deployOf(r.yaml)).toEqual({ update_config: UPDATE, rollback_config: ROLLBACK });
  expect(r.warnings).toEqual([]);
});

test("explicit values win key by key; the other keys get defaults", () => {
  const r = render(
    "services:\n  web:\n    image: nginx\n    deploy:\n      update_config:\n        parallelism: 3\n      rollback_config:\n        failure_action: continue\n",
  );
  expect(deployOf(r.yaml).update_config).toEqual({ ...UPDATE, parallelism: 3 });
  expect(deployOf(r.yaml).rollback_config).toEqual({ ...ROLLBACK, failure_action: "continue" });
});

test("explicit values survive even when they equal swarm's unsafe defaults", () => {
  const r = render(
    "services:\n  web:\n    image: nginx\n    deploy:\n      update_config:\n        order: stop-first\n        failure_action: pause\n        monitor: 5s\n        delay: 0s\n",
  );
  expect(deployOf(r.yaml).update_config).toEqual({
    ...UPDATE,
    order: "stop-first",
    failure_action: "pause",
    monitor: "5s",
    delay: "0s",
  });
});

test("global services get the defaults too", () => {
  const r = render("services:\n  agent:\n    image: a\n    deploy:\n      mode: global\n");
  expect(deployOf(r.yaml, "agent")).toEqual({
    mode: "global",
    update_config: UPDATE,
    rollback_config: ROLLBACK,
  });
});

test("other deploy keys are untouched", () => {
  const r = render(
    "services:\n  web:\n    image: nginx\n    deploy:\n      replicas: 3\n      labels: [a=b]\n      placement:\n        constraints: [node.role == worker]\n",
  );
  expect(deployOf(r.yaml)).toMatchObject({
    replicas: 3,
    labels: ["a=b"],
    placement: { constraints: ["node.role == worker"] },
  });
});

describe("host-mode ports: stop-first", () => {
  const hostPorts = "    ports:\n      - target: 80\n        published: 80\n        mode: host\n";

  test("a service publishing in host mode defaults to stop-first (update and rollback)", () => {
    const r = render(`services:\n  web:\n    image: nginx\n${hostPorts}`);
    expect(deployOf(r.yaml).update_config.order).toBe("stop-first");
    expect(deployOf(r.yaml).rollback_config.order).toBe("stop-first");
    expect(r.publishedPorts).toEqual([{ service: "web", port: 80, protocol: "tcp", mode: "host" }]);
  });

  test("even when the caller's update defaults say start-first", () => {
    const r = render(`services:\n  web:\n    image: nginx\n${hostPorts}`, {
      update: { order: "start-first" },
    });
    expect(deployOf(r.yaml).update_config.order).toBe("stop-first");
  });

  test("an explicit start-first is kept, with a warning", () => {
    const r = render(
      `services:\n  web:\n    image: nginx\n${hostPorts}    deploy:\n      update_config:\n        order: start-first\n`,
    );
    expect(deployOf(r.yaml).update_config.order).toBe("start-first");
    expect(r.warnings.join("\n")).toMatch(
      /services\.web\.deploy\.update_config\.order: start-first with a host-mode port/,
    );
  });

  test("ingress ports keep start-first", () => {
    const r = render('services:\n  web:\n    image: nginx\n    ports: ["80:80"]\n');
    expect(deployOf(r.yaml).update_config.order).toBe("start-first");
  });
});

describe("writable mounts: stop-first (two tasks on one data directory can corrupt it)", () => {
  const PG = "/var/lib/postgresql/data";
  const db = (volumes: string, deploy = "", top = "volumes:\n  pgdata: {}\n") =>
    `services:\n  db:\n    image: postgres:17\n    volumes:\n${volumes}${deploy}${top}`;
  const orders = (yaml: string) => {
    const d = deployOf(yaml, "db");
    return [d.update_config.order, d.rollback_config.order];
  };

  test.each([
    ["a named volume", `      - pgdata:${PG}\n`],
    [
      "a named volume, long syntax",
      `      - type: volume\n        source: pgdata\n        target: ${PG}\n`,
    ],
    [
      "a bind of the node's data volume",
      `      - type: bind\n        source: /mnt/do-swarm-data/data\n        target: ${PG}\n`,
    ],
    ["an absolute bind, short syntax", `      - /srv/pg:${PG}\n`],
    ["a relative bind", `      - ./pg:${PG}:rw\n`],
    ["a home bind", `      - ~/pg:${PG}\n`],
    ["a writable mount beside read-only ones", `      - ./conf:/etc/pg:ro\n      - pgdata:${PG}\n`],
  ])("%s: update and rollback default to stop-first", (_what, volumes) => {
    const r = render(db(volumes));
    expect(orders(r.yaml)).toEqual(["stop-first", "stop-first"]);
    // Everything else keeps the safe defaults.
    expect(deployOf(r.yaml, "db").update_config).toEqual({ ...UPDATE, order: "stop-first" });
    expect(r.warnings.filter((w) => w.includes(".order:"))).toEqual([]);
  });

  test.each([
    ["a read-only named volume", `      - pgdata:${PG}:ro\n`],
    [
      "a read-only bind, long syntax",
      "      - type: bind\n        source: /etc/app\n        target: /etc/app\n        read_only: true\n",
    ],
    ["an anonymous volume (each task gets its own)", `      - ${PG}\n`],
    ["a tmpfs", "      - type: tmpfs\n        target: /cache\n"],
    [
      "the docker socket (a runtime socket, not data)",
      "      - /var/run/docker.sock:/var/run/docker.sock\n",
    ],
    ["/proc of the host", "      - /proc:/host/proc\n"],
  ])("%s: keeps start-first", (_what, volumes) => {
    const r = render(db(volumes));
    expect(orders(r.yaml)).toEqual(["start-first", "start-first"]);
  });

  test("the stack-wide update.order start-first does not override it (as with host-mode ports)", () => {
    const r = render(db(`      - pgdata:${PG}\n`), { update: { order: "start-first" } });
    expect(orders(r.yaml)).toEqual(["stop-first", "stop-first"]);
  });

  test("an explicit start-first on a single-replica service is kept, with a warning naming file, service and the risk", () => {
    const r = render(
      db(
        `      - pgdata:${PG}\n`,
        "    deploy:\n      replicas: 1\n      update_config:\n        order: start-first\n",
      ),
    );
    expect(orders(r.yaml)).toEqual(["start-first", "stop-first"]);
    expect(at(r.warnings, "services.db.deploy.update_config.order")).toEqual([
      `${r.file}: services.db.deploy.update_config.order: start-first with a writable mount (volume pgdata at ${PG}) on a single-replica service: an update starts the new task while the old one still runs, both writing the same data on the same node; a database can be corrupted this way; use stop-first (the default for services with writable mounts) unless the application is made for two writers`,
    ]);
    expect(at(r.warnings, "services.db.deploy.rollback_config.order")).toEqual([]);
  });

  test("replicas unset is one replica; a global service (one task per node) is warned too", () => {
    const explicit =
      "      update_config:\n        order: start-first\n      rollback_config:\n        order: start-first\n";
    const one = render(db(`      - pgdata:${PG}\n`, `    deploy:\n${explicit}`));
    expect(orders(one.yaml)).toEqual(["start-first", "start-first"]);
    expect(at(one.warnings, "services.db.deploy.update_config.order")[0]).toMatch(
      /single-replica service/,
    );
    expect(at(one.warnings, "services.db.deploy.rollback_config.order")).toHaveLength(1);
    const global = render(
      db(`      - /mnt/do-swarm-data/data:${PG}\n`, `    deploy:\n      mode: global\n${explicit}`),
    );
    expect(at(global.warnings, "services.db.deploy.update_config.order")[0]).toMatch(
      /writable mount \(bind \/mnt\/do-swarm-data\/data at \/var\/lib\/postgresql\/data\) on a global service \(one task per node\)/,
    );
  });

  test("no warning for an explicit start-first with several replicas, or an explicit stop-first", () => {
    const many = render(
      db(
        `      - pgdata:${PG}\n`,
        "    deploy:\n      update_config:\n        order: start-first\n",
      ),
      { replicas: { db: 3 } },
    );
    expect(orders(many.yaml)).toEqual(["start-first", "stop-first"]);
    expect(many.warnings.filter((w) => w.includes(".order:"))).toEqual([]);
    const stop = render(
      db(
        `      - pgdata:${PG}\n`,
        "    deploy:\n      update_config:\n        order: stop-first\n",
      ),
    );
    expect(stop.warnings.filter((w) => w.includes(".order:"))).toEqual([]);
  });
});

describe("update overrides change the defaults, never explicit values", () => {
  test("every field", () => {
    const r = render("services:\n  web:\n    image: nginx\n", {
      update: {
        parallelism: 2,
        delaySeconds: 5,
        monitorSeconds: 60,
        failureAction: "pause",
        maxFailureRatio: 0.25,
        order: "stop-first",
      },
    });
    expect(deployOf(r.yaml).update_config).toEqual({
      parallelism: 2,
      delay: "5s",
      failure_action: "pause",
      monitor: "60s",
      max_failure_ratio: 0.25,
      order: "stop-first",
    });
    // The rollback shares pace and order, but keeps pausing on failure.
    expect(deployOf(r.yaml).rollback_config).toEqual({
      ...ROLLBACK,
      parallelism: 2,
      monitor: "60s",
      order: "stop-first",
    });
  });

  test("explicit file values still win over overrides", () => {
    const r = render(
      "services:\n  web:\n    image: nginx\n    deploy:\n      update_config:\n        parallelism: 7\n",
      {
        update: { parallelism: 2 },
      },
    );
    expect(deployOf(r.yaml).update_config.parallelism).toBe(7);
  });

  test("invalid overrides are errors", () => {
    const e = renderError("services:\n  web:\n    image: nginx\n", {
      update: { parallelism: -1, maxFailureRatio: 2, delaySeconds: -3 },
    });
    expect(e.problems).toHaveLength(3);
    expect(e.problems.every((p) => p.includes(": options.update: "))).toBe(true);
  });
});

describe("replicas overrides", () => {
  test("set deploy.replicas of a replicated service", () => {
    const r = render("services:\n  web:\n    image: nginx\n    deploy:\n      replicas: 2\n", {
      replicas: { web: 5 },
    });
    expect(deployOf(r.yaml).replicas).toBe(5);
  });

  test("an override for a global service is an error naming it", () => {
    const e = renderError("services:\n  agent:\n    image: a\n    deploy:\n      mode: global\n", {
      replicas: { agent: 3 },
    });
    expect(e.problems).toEqual([
      `${e.file}: services.agent.deploy.mode: is global: a replicas override does not apply; remove the override for agent`,
    ]);
  });

  test("an override for a service that does not exist is an error", () => {
    const e = renderError("services:\n  web:\n    image: nginx\n", { replicas: { wbe: 3 } });
    expect(e.problems[0]).toMatch(
      /options\.replicas\.wbe: no service wbe in this file \(services: web\)/,
    );
  });

  test("a negative or fractional override is an error", () => {
    expect(
      renderError("services:\n  web:\n    image: nginx\n", { replicas: { web: 1.5 } }).problems[0],
    ).toMatch(/override 1\.5 must be an integer >= 0/);
  });
});
