// Loading real-world files: encodings, line endings, YAML 1.1 as docker reads it, anchors.
import { renderStack, StackRenderError } from "../components/compose";
import { decode } from "../components/compose/load";
import * as path from "path";
import { parseDockerOutput, requireDocker, stackConfig } from "./fixtures/compose/docker";
import { at, cleanup, readBack, render, renderError, tmpDir } from "./fixtures/compose/helpers";

afterAll(cleanup);

const BASIC =
  "version: '3.8'\nservices:\n  web:\n    image: nginx:1.27\n    ports:\n      - 80:80\n";

function utf16(text: string, bigEndian: boolean): Buffer {
  const body = Buffer.from(text, "utf16le");
  if (bigEndian) body.swap16();
  return Buffer.concat([Buffer.from(bigEndian ? [0xfe, 0xff] : [0xff, 0xfe]), body]);
}

describe("encodings and line endings", () => {
  const variants: Array<[string, Buffer]> = [
    ["plain UTF-8", Buffer.from(BASIC)],
    ["UTF-8 with BOM", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(BASIC)])],
    ["UTF-16 LE with BOM", utf16(BASIC, false)],
    ["UTF-16 BE with BOM", utf16(BASIC, true)],
    ["CRLF", Buffer.from(BASIC.replace(/\n/g, "\r\n"))],
    ["UTF-16 LE, CRLF, no final newline", utf16(BASIC.replace(/\n/g, "\r\n").trimEnd(), false)],
    ["no final newline", Buffer.from(BASIC.trimEnd())],
  ];
  const reference = render(BASIC).yaml;

  test.each(variants)("%s renders exactly like plain UTF-8", (_name, bytes) => {
    expect(render(bytes).yaml).toBe(reference);
  });

  test("text may be passed as a Buffer or a string (BOM stripped)", () => {
    const file = "/nonexistent/stack.yml"; // never read: text is given
    const a = renderStack({ file, text: utf16(BASIC, false) }).yaml;
    const b = renderStack({ file, text: "\uFEFF" + BASIC }).yaml;
    expect(a).toBe(reference);
    expect(b).toBe(reference);
  });

  test("decode keeps non-ASCII text intact", () => {
    expect(decode(utf16("é: ü", true))).toBe("é: ü");
    expect(decode(Buffer.from("\uFEFFé", "utf8"))).toBe("é");
  });
});

describe("YAML as docker CLI 28 (yaml.v3) reads it", () => {
  test("`- 80:80` and `- 22:22` stay strings (no base-60), 0440 is octal, yes is a string", () => {
    const r = render(
      "services:\n  s:\n    image: busybox\n    ports:\n      - 80:80\n      - 22:22\n    secrets:\n      - source: x\n        mode: 0440\n    tty: yes\nsecrets:\n  x:\n    external: true\n",
    );
    const s = readBack(r.yaml).services.s;
    expect(s.ports).toEqual(["80:80", "22:22"]);
    expect(s.secrets[0].mode).toBe(0o440);
    expect(s.tty).toBe("yes"); // docker 28 then rejects it: "must be a boolean"
    expect(r.publishedPorts.map((p) => p.port)).toEqual([22, 80]);
  });

  test("numbers as docker reads them: 0440, 1_000, 0o17, 0x1F, +12, .5", () => {
    const r = render(
      "services:\n  s:\n    image: busybox\n    environment:\n      C: 0440\n      D: 1_000\n      E: 0o17\n      F: 0x1F\n      G: +12\n      H: .5\n",
    );
    expect(readBack(r.yaml).services.s.environment).toEqual({
      C: 288,
      D: 1000,
      E: 15,
      F: 31,
      G: 12,
      H: 0.5,
    });
  });

  test("strings that docker (or YAML 1.1) would retype are quoted in the output", () => {
    const strings = [
      "yes",
      "on",
      "y",
      "0440",
      "1_000",
      "0o17",
      "0x1F",
      "+12",
      "true",
      "null",
      "~",
      "",
      "1e3",
      "22:22",
      "2001-12-14",
    ];
    const env = Object.fromEntries(strings.map((v, i) => [`V${i}`, v]));
    const r = render(
      `services:\n  s:\n    image: busybox\n    environment:\n${strings.map((_v, i) => `      V${i}: \${V${i}}\n`).join("")}`,
      { env },
    );
    expect(readBack(r.yaml).services.s.environment).toEqual(env);
  });

  test("docker itself reads those strings back unchanged from the rendered stack", async () => {
    requireDocker();
    const strings = [
      "yes",
      "on",
      "0440",
      "1_000",
      "0o17",
      "0x1F",
      "+12",
      "true",
      "null",
      "1e3",
      "2001-12-14",
      "a$b",
    ];
    const env = Object.fromEntries(strings.map((v, i) => [`V${i}`, v]));
    const r = render(
      `services:\n  s:\n    image: busybox\n    environment:\n${strings.map((_v, i) => `      V${i}: \${V${i}}\n`).join("")}`,
      { env },
    );
    const dir = tmpDir({ "stack.yml": r.yaml });
    const res = await stackConfig(path.join(dir, "stack.yml"));
    expect(res.code).toBe(0);
    const parsed = parseDockerOutput(res.stdout) as { services: { s: { environment: object } } };
    expect(parsed.services.s.environment).toEqual(env);
  });

  test("anchors and `<<:` merge keys are resolved; local keys override merged ones", () => {
    const r = render(
      [
        "x-defaults: &defaults",
        "  image: busybox",
        "  logging:",
        "    options:",
        '      max-size: "1m"',
        "services:",
        "  a:",
        "    <<: *defaults",
        "  b:",
        "    <<: *defaults",
        "    image: alpine",
        "",
      ].join("\n"),
    );
    const out = readBack(r.yaml);
    expect(out.services.a).toMatchObject({
      image: "busybox",
      logging: { options: { "max-size": "1m" } },
    });
    expect(out.services.b.image).toBe("alpine");
    expect(out["x-defaults"]).toEqual({
      image: "busybox",
      logging: { options: { "max-size": "1m" } },
    });
    expect(r.yaml).not.toContain("<<");
  });

  test("x- extension fields are kept at top level and in services, without warnings", () => {
    const r = render("x-top: 1\nservices:\n  s:\n    image: busybox\n    x-note: hi\n");
    const out = readBack(r.yaml);
    expect(out["x-top"]).toBe(1);
    expect(out.services.s["x-note"]).toBe("hi");
    expect(r.warnings).toEqual([]);
  });
});

describe("explicit nulls", () => {
  test("`deploy:` null gets the defaults; top-level null networks/volumes become {}", () => {
    const r = render(
      "services:\n  s:\n    image: busybox\n    deploy:\n    networks: [n]\nnetworks:\n  n: null\nvolumes:\n  v:\n",
    );
    const out = readBack(r.yaml);
    expect(out.services.s.deploy.update_config.order).toBe("start-first");
    expect(out.networks).toEqual({ n: {} });
    expect(out.volumes).toEqual({ v: {} });
    expect(r.warnings).toEqual([]);
  });

  test("a null service key (`ports:` null) is dropped with a warning naming it", () => {
    const r = render("services:\n  s:\n    image: busybox\n    ports:\n    command: null\n");
    expect(at(r.warnings, "services.s.ports")).toHaveLength(1);
    expect(at(r.warnings, "services.s.command")).toHaveLength(1);
    expect(readBack(r.yaml).services.s.ports).toBeUndefined();
    expect(r.publishedPorts).toEqual([]);
  });

  test("a null deploy key (`update_config:` null) is dropped with a warning, then defaulted", () => {
    const r = render("services:\n  s:\n    image: busybox\n    deploy:\n      update_config:\n");
    expect(at(r.warnings, "services.s.deploy.update_config")).toHaveLength(1);
    expect(readBack(r.yaml).services.s.deploy.update_config.parallelism).toBe(1);
  });
});

describe("unreadable input", () => {
  test("invalid YAML is an error naming the file and the line", () => {
    const e = renderError("services:\n  s:\n    image: [busybox\n");
    expect(e).toBeInstanceOf(StackRenderError);
    expect(e.problems[0]).toMatch(new RegExp(`^${e.file}: line \\d+ column \\d+: invalid YAML`));
  });

  test("a top level that is not a mapping is an error", () => {
    expect(renderError("- a\n- b\n").problems[0]).toContain("must be a YAML mapping");
  });

  test("a missing compose file is an error naming it", () => {
    expect(() => renderStack({ file: "/nonexistent/compose.yml" })).toThrow(
      /\/nonexistent\/compose.yml: cannot read the compose file/,
    );
  });

  test("no services is an error", () => {
    expect(renderError("version: '3'\n").problems[0]).toContain("no services defined");
  });
});
