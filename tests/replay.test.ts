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
