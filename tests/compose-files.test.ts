// File-based configs/secrets (content-hashed, shipped in the bundle) and deterministic output.
import { renderStack } from "../components/compose";
import { cleanup, readBack, render, renderError } from "./fixtures/compose/helpers";

afterAll(cleanup);

const STACK = [
  "services:",
  "  web:",
  "    image: nginx",
  "    configs:",
  "      - site",
  "      - source: named",
  "        target: /etc/named.conf",
  "      - ext",
  "    secrets:",
  "      - source: pw",
  "        mode: 0400",
  "configs:",
  "  site:",
  "    file: ./conf/site.conf",
  "  named:",
  "    name: my-named",
  "    file: named.conf",
  "  ext:",
  "    external: true",
  "secrets:",
  "  pw:",
  "    file: ./pw.txt",
  "",
].join("\n");
const FILES = { "conf/site.conf": "server {}\n", "named.conf": "named\n", "pw.txt": "hunter2\n" };

describe("file configs and secrets", () => {
  const r = render(STACK, { files: FILES });
  const out = readBack(r.yaml);
  const keyOf = (kind: "configs" | "secrets", base: string) =>
    Object.keys(out[kind]).find((k) => k.startsWith(`${base}-`)) as string;

  test("are shipped in files under relative paths named by the rendered file: entries", () => {
    expect(Object.keys(r.files).sort()).toEqual([
      expect.stringMatching(/^configs\/named-[0-9a-f]{8}\.conf$/),
      expect.stringMatching(/^configs\/site-[0-9a-f]{8}\.conf$/),
      expect.stringMatching(/^secrets\/pw-[0-9a-f]{8}\.txt$/),
    ]);
    for (const [rel, content] of Object.entries(r.files)) {
      expect(r.yaml).toContain(`file: ./${rel}`);
      expect(content.toString()).toBe(
        FILES[
          rel.startsWith("secrets")
            ? "pw.txt"
            : rel.includes("site")
              ? "conf/site.conf"
              : "named.conf"
        ],
      );
    }
  });

  test("without a name: the key gets the hash (swarm names it <stack>_<key>-<hash>), references keep their target", () => {
    const site = keyOf("configs", "site");
    expect(site).toMatch(/^site-[0-9a-f]{8}$/);
    expect(out.configs.site).toBeUndefined();
    expect(out.services.web.configs[0]).toEqual({ source: site, target: "site" });
    const pw = keyOf("secrets", "pw");
    expect(out.services.web.secrets[0]).toEqual({ source: pw, target: "pw", mode: 0o400 });
  });

  test("with a name: the key stays, the name gets the hash (docker uses it verbatim)", () => {
    expect(out.configs.named.name).toMatch(/^my-named-[0-9a-f]{8}$/);
    expect(out.services.web.configs[1]).toEqual({ source: "named", target: "/etc/named.conf" });
  });

  test("external ones pass through unchanged", () => {
    expect(out.configs.ext).toEqual({ external: true });
    expect(out.services.web.configs[2]).toBe("ext");
  });

  test("the hash is the first 8 hex digits of the content's sha256", () => {
    const { createHash } = jest.requireActual<typeof import("crypto")>("crypto");
    const h = createHash("sha256").update("hunter2\n").digest("hex").slice(0, 8);
    expect(keyOf("secrets", "pw")).toBe(`pw-${h}`);
  });
});

test("the hash changes when (and only when) the file's content changes", () => {
  const a = render(STACK, { files: FILES });
  const same = render(STACK, { files: { ...FILES } });
  const changed = render(STACK, {
    files: { ...FILES, "conf/site.conf": "server { listen 81; }\n" },
  });
  expect(same.yaml).toBe(a.yaml);
  const siteKey = (y: string) =>
    Object.keys(readBack(y).configs).find((k) => k.startsWith("site-"));
  const namedName = (y: string) => readBack(y).configs.named.name;
  expect(siteKey(changed.yaml)).not.toBe(siteKey(a.yaml));
  expect(namedName(changed.yaml)).toBe(namedName(a.yaml)); // other files: unchanged names
});

test("missing files are errors naming the file (all of them)", () => {
  const e = renderError(STACK, { files: { "named.conf": "x" } });
  expect(e.problems).toEqual([
    expect.stringMatching(
      /: configs\.site\.file: file \.\/conf\/site\.conf not found \(looked for .*conf\/site\.conf\)/,
    ),
    expect.stringMatching(/: secrets\.pw\.file: file \.\/pw\.txt not found/),
  ]);
});

test("a directory instead of a file is an error", () => {
  const e = renderError(STACK, {
    files: { "named.conf": "n", "pw.txt": "p", "conf/site.conf/x": "" },
  });
  expect(e.problems.join("\n")).toMatch(/configs\.site\.file: .* is a directory/);
});

test("a config with neither file, external nor driver passes through with a warning", () => {
  const r = render(
    "services:\n  web:\n    image: nginx\n    configs: [c]\nconfigs:\n  c:\n    name: foo\n",
  );
  expect(r.warnings.join("\n")).toMatch(/configs\.c: has neither file:, external: nor driver:/);
  expect(readBack(r.yaml).configs.c).toEqual({ name: "foo" });
});

describe("determinism", () => {
  test("the same input renders byte-identical output", () => {
    const a = render(STACK, { files: FILES });
    const b = render(STACK, { files: FILES });
    expect(b.yaml).toBe(a.yaml);
    expect(b.warnings).toEqual(a.warnings.map((w) => w.replace(a.file, b.file)));
  });

  test("reordering keys in the source does not change the output", () => {
    const one =
      "services:\n  b:\n    image: x\n    command: top\n  a:\n    environment: {Y: '1', X: '2'}\n    image: y\n";
    const two =
      "services:\n  a:\n    image: y\n    environment: {X: '2', Y: '1'}\n  b:\n    command: top\n    image: x\n";
    expect(render(two).yaml).toBe(render(one).yaml);
  });

  test("renderStack with text= gives the same bytes as reading the file", () => {
    const r = render(STACK, { files: FILES });
    expect(renderStack({ file: r.file, text: STACK }).yaml).toBe(r.yaml);
    expect(renderStack({ file: r.file, text: Buffer.from(STACK) }).yaml).toBe(r.yaml);
  });

  test("services, ports and builds come out sorted", () => {
    const r = render(
      'services:\n  z:\n    image: a\n    ports: ["9000-9001:9000-9001"]\n  a:\n    image: b\n    ports: ["80:80/udp", "80:80"]\n',
    );
    expect(r.services).toEqual(["a", "z"]);
    expect(r.publishedPorts).toEqual([
      { service: "a", port: 80, protocol: "tcp", mode: "ingress" },
      { service: "a", port: 80, protocol: "udp", mode: "ingress" },
      { service: "z", port: 9000, protocol: "tcp", mode: "ingress" },
      { service: "z", port: 9001, protocol: "tcp", mode: "ingress" },
    ]);
  });
});

test("hashed names that swarm would refuse (over 64 characters) are errors", () => {
  const long = "n".repeat(60);
  const e = renderError(
    `services:\n  web:\n    image: nginx\n    configs: [a, b]\nconfigs:\n  a:\n    name: ${long}\n    file: ./x\n  ${long}:\n    file: ./x\n`.replace(
      "[a, b]",
      `[a, ${long}]`,
    ),
    { files: { x: "x" } },
  );
  expect(e.problems).toEqual([
    expect.stringMatching(/configs\.a\.name: swarm name n+-[0-9a-f]{8} would exceed 64 characters/),
    expect.stringMatching(/configs\.n+: swarm name n+-[0-9a-f]{8} would exceed 64 characters/),
  ]);
});
