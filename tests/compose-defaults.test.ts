// Safe rolling-update defaults, merged key by key under whatever the file sets explicitly.
import { cleanup, readBack, render, renderError } from "./fixtures/compose/helpers";

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
