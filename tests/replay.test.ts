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
  ...forward.map((s) => `${s.op} ${s.cmd.create}`),
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
