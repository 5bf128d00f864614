/** The lab's replay must run a `pulumi up` the way the engine would, replacements included. */
import { diffPlans, PlanCommand } from "./lab/replay";

const command = (name: string, extra: Partial<PlanCommand> = {}): PlanCommand => ({
  name,
  host: "10.77.0.10",
  create: `deploy ${name}`,
  update: `deploy ${name}`,
  delete: `rm ${name}`,
  stdin: null,
  triggers: null,
  replaceOnChanges: ["triggers[*]"],
  dependsOn: [],
  ...extra,
});

const ops = ([forward, deletes]: ReturnType<typeof diffPlans>) => [
  ...forward.flatMap((s) => [
    ...(s.deleteFirst ? [`delete ${s.deleteFirst.delete}`] : []),
    `${s.op} ${s.cmd.create}`,
  ]),
  ...deletes.map((s) => `${s.op} ${s.cmd.delete}`),
];

test("a changed command is updated in place", () => {
  const before = { commands: [command("web", { update: "deploy v1", create: "deploy v1" })] };
  const after = { commands: [command("web", { update: "deploy v2", create: "deploy v2" })] };
  expect(ops(diffPlans(before, after, false))).toEqual(["update deploy v2"]);
});

test("changed triggers replace: the new create runs, then the OLD delete (`stack rm` here)", () => {
  const before = { commands: [command("web", { triggers: ["v1"] })] };
  const after = { commands: [command("web", { triggers: ["v2"] })] };
  expect(ops(diffPlans(before, after, false))).toEqual(["create deploy web", "delete rm web"]);
});

test("unchanged triggers change nothing; triggers that do not replace are an update", () => {
  const before = { commands: [command("web", { triggers: ["v1"] })] };
  expect(ops(diffPlans(before, before, false))).toEqual([]);
  const plain = { commands: [command("web", { triggers: ["v2"], replaceOnChanges: [] })] };
  const plainBefore = { commands: [command("web", { triggers: ["v1"], replaceOnChanges: [] })] };
  expect(ops(diffPlans(plainBefore, plain, false))).toEqual(["update deploy web"]);
});

test("a delete-first replacement (a registration) runs the OLD delete, then the new create, in place", () => {
  const reg = (id: string) =>
    command("register", {
      triggers: [id],
      create: `register ${id}`,
      delete: `remove ${id}`,
      deleteBeforeReplace: true,
    });
  const before = { commands: [command("join"), reg("old")] };
  const after = { commands: [command("join", { create: "join new" }), reg("new")] };
  const [forward, deletes] = diffPlans(before, after, false);
  expect(ops([forward, deletes])).toEqual([
    "update join new",
    "delete remove old",
    "create register new",
  ]);
  expect(deletes).toEqual([]);
});

test("--delete-only runs only the OLD deletes named (the engine's dependents of a delete-first replacement); --gone then creates them anew", async () => {
  const fs = await import("fs");
  const os = await import("os");
  const path = await import("path");
  const { main } = await import("./lab/replay");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "replay-gone-"));
  const log = path.join(dir, "log");
  const local = (name: string, v: string, extra: Partial<PlanCommand> = {}): PlanCommand =>
    command(name, {
      host: "local",
      create: `echo create ${name} ${v} >>${log}`,
      update: null,
      delete: `echo delete ${name} ${v} >>${log}`,
      triggers: [v],
      ...extra,
    });
  const write = (f: string, commands: PlanCommand[]) =>
    fs.writeFileSync(path.join(dir, f), JSON.stringify({ commands }));
  write("old.json", [local("mount", "a"), local("release", "a", { dependsOn: ["mount"] })]);
  write("new.json", [local("mount", "b"), local("release", "b", { dependsOn: ["mount"] })]);
  const args = ["--plan", path.join(dir, "new.json"), "--prev", path.join(dir, "old.json")];
  const quiet = jest.spyOn(console, "log").mockImplementation(() => undefined);
  try {
    const out = (tag: string) => [
      "--out",
      path.join(dir, tag),
      "--state",
      path.join(dir, "s.json"),
    ];
    expect(await main([...args, ...out("first"), "--delete-only", "release,mount"])).toBe(0);
    expect(fs.readFileSync(log, "utf8")).toBe("delete release a\ndelete mount a\n");
    fs.writeFileSync(log, "");
    expect(await main([...args, ...out("rest"), "--gone", "release"])).toBe(0);
    // The release is created anew, its old delete not run again; the mount replaced as usual.
    expect(fs.readFileSync(log, "utf8").split("\n").filter(Boolean).sort()).toEqual(
      ["create mount b", "create release b", "delete mount a"].sort(),
    );
  } finally {
    quiet.mockRestore();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
