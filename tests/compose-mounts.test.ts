// Service mounts as docker's stack loader reads them (docker/cli internal/volumespec, convert/
// volume.go): which are named volumes that must be declared, which are binds.
import * as path from "path";
import { renderStack, StackRenderError } from "../components/compose";
import { parseMount, volumeNeeded } from "../components/compose/mounts";
import { cleanup, render, renderError, tmpDir } from "./fixtures/compose/helpers";

afterAll(cleanup);

describe("the short syntax, as docker/cli's volumespec.Parse reads it (its own test cases)", () => {
  test.each([
    // anonymous volumes: a target only
    ["/path", { type: "volume", source: "", target: "/path", readOnly: false }],
    ["C:\\path", { type: "volume", source: "", target: "C:\\path", readOnly: false }],
    [".", { type: "volume", source: "", target: ".", readOnly: false }],
    // a source that is a path is a bind
    ["./foo:/target", { type: "bind", source: "./foo", target: "/target", readOnly: false }],
    ["~/thing:/target", { type: "bind", source: "~/thing", target: "/target", readOnly: false }],
    ["../other:/target", { type: "bind", source: "../other", target: "/target", readOnly: false }],
    [
      "/home/user:/target:ro",
      { type: "bind", source: "/home/user", target: "/target", readOnly: true },
    ],
    [
      "/source:/target:slave",
      { type: "bind", source: "/source", target: "/target", readOnly: false },
    ],
    [
      "D:\\path:d:\\target",
      { type: "bind", source: "D:\\path", target: "d:\\target", readOnly: false },
    ],
    [
      "C:\\source\\foo:D:\\target:ro,rprivate",
      { type: "bind", source: "C:\\source\\foo", target: "D:\\target", readOnly: true },
    ],
    // any other source names a volume
    ["name:/target:nocopy", { type: "volume", source: "name", target: "/target", readOnly: false }],
    ["name:/target:bogus", { type: "volume", source: "name", target: "/target", readOnly: false }],
    ["data:/x:rw", { type: "volume", source: "data", target: "/x", readOnly: false }],
  ])("%s", (spec, expected) => {
    expect(parseMount(spec)).toEqual(expected);
  });

  test.each(["/foo:/foo:ro:foo", ":foo", "/foo::ro", ""])(
    "%j is refused (docker says why)",
    (spec) => {
      expect(parseMount(spec)).toBeUndefined();
    },
  );

  test("which mounts need a top-level volume: volume and cluster sources (not group:)", () => {
    const need = (entry: Parameters<typeof parseMount>[0]) => {
      const m = parseMount(entry);
      return m && volumeNeeded(m);
    };
    expect(need("data:/x")).toBe("data");
    expect(need({ type: "volume", source: "cache", target: "/c" })).toBe("cache");
    expect(need({ type: "cluster", source: "vol1", target: "/srv" })).toBe("vol1");
    expect(need({ type: "cluster", source: "group:mygroup", target: "/srv" })).toBeUndefined();
    expect(need({ type: "volume", target: "/anon" })).toBeUndefined();
    expect(need({ type: "bind", source: "data", target: "/x" })).toBeUndefined();
    expect(need({ type: "tmpfs", target: "/t" })).toBeUndefined();
    for (const bind of ["./data:/x", "/srv:/x", "~/x:/x", ".:/code", "C:\\data:/x", "/data"]) {
      expect(need(bind)).toBeUndefined();
    }
  });
});

describe("an undeclared named volume is an error (docker stack deploy: undefined volume)", () => {
  const svc = (volumes: string, top = "") =>
    `services:\n  db:\n    image: postgres:17\n    volumes:\n${volumes}${top}`;

  test("short and long syntax: one problem each, naming file, service, volume and the fix", () => {
    const e = renderError(
      svc(
        "      - pgdata:/var/lib/postgresql/data\n      - ./conf:/etc/conf:ro\n      - type: volume\n        source: cache\n        target: /cache\n",
      ),
    );
    expect(e.problems).toEqual([
      `${e.file}: services.db.volumes[0]: volume pgdata is not declared: docker stack deploy refuses the stack ("undefined volume "pgdata""); declare it under the top-level volumes: (pgdata: {}, or with external: true if it is created outside the stack)`,
      `${e.file}: services.db.volumes[2]: volume cache is not declared: docker stack deploy refuses the stack ("undefined volume "cache""); declare it under the top-level volumes: (cache: {}, or with external: true if it is created outside the stack)`,
    ]);
  });

  test("declared (also external) volumes, binds, anonymous volumes and tmpfs render", () => {
    const r = render(
      svc(
        "      - pgdata:/var/lib/postgresql/data\n      - old:/old\n      - ./data:/x\n      - /srv:/srv\n      - ~/x:/y\n      - /anon\n      - type: tmpfs\n        target: /t\n",
        "volumes:\n  pgdata: {}\n  old:\n    external: true\n",
      ),
    );
    expect(r.warnings.filter((w) => /not declared/.test(w))).toEqual([]);
  });

  test("a volume declared only in a later file counts (docker merges the files first); the error names the file of the mount", () => {
    const dir = tmpDir({
      "base.yml": svc("      - pgdata:/var/lib/postgresql/data\n"),
      "declare.yml": "volumes:\n  pgdata: {}\n",
      "other.yml": "services:\n  db:\n    volumes:\n      - logs:/logs\n",
    });
    const file = (f: string) => path.join(dir, f);
    const r = renderStack({ file: [file("base.yml"), file("declare.yml")] });
    expect(r.services).toEqual(["db"]);
    try {
      renderStack({ file: [file("base.yml"), file("declare.yml"), file("other.yml")] });
      throw new Error("expected a StackRenderError");
    } catch (e) {
      expect(e).toBeInstanceOf(StackRenderError);
      const problems = (e as StackRenderError).problems;
      expect(problems).toHaveLength(1);
      // docker's merge orders mounts by target: /logs comes first
      expect(problems[0]).toContain(
        `${file("other.yml")}: services.db.volumes[0]: volume logs is not declared`,
      );
    }
  });
});
