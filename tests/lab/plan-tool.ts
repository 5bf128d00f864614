/**
 * Reads what the lab's scenarios need out of a plan made by tests/lab/plan.ts:
 *   npx ts-node --transpile-only tests/lab/plan-tool.ts hosts PLAN    the SSH addresses, one a line
 *   npx ts-node --transpile-only tests/lab/plan-tool.ts labels PLAN   "NODE LABEL..." per node, from
 *     the arguments of its `*-register` command (the last line of a scriptCommand() is
 *     `bash "$f" 'ARG' ...`: ARG 1 is the node ID, the rest its KEY=VALUE labels)
 */
import { readPlan } from "./replay";

/** Splits a line of single-quoted words as written by remote.ts shellQuote(). */
export function unquoteWords(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === " ") i++;
    if (i >= line.length) break;
    let word = "";
    while (i < line.length && line[i] !== " ") {
      if (line[i] === "'") {
        const end = line.indexOf("'", i + 1);
        if (end < 0) throw new Error(`unbalanced quote in: ${line}`);
        word += line.slice(i + 1, end);
        i = end + 1;
      } else if (line[i] === '"') {
        const end = line.indexOf('"', i + 1);
        if (end < 0) throw new Error(`unbalanced quote in: ${line}`);
        word += line.slice(i + 1, end);
        i = end + 1;
      } else {
        word += line[i++];
      }
    }
    words.push(word);
  }
  return words;
}

/** The arguments a scriptCommand() passes to its script. */
export function scriptArgs(command: string): string[] {
  const last = command.trimEnd().split("\n").pop() ?? "";
  const words = unquoteWords(last);
  if (words[0] !== "bash" || words[1] !== "$f") throw new Error(`not a scriptCommand(): ${last}`);
  return words.slice(2);
}

function main(argv: string[]): void {
  const [what, file] = argv;
  if (!file) throw new Error("usage: plan-tool.ts hosts|labels PLAN");
  const plan = readPlan(file);
  if (what === "hosts") {
    // "local": a command that runs where Pulumi runs (no host to reach).
    for (const h of new Set(plan.commands.map((c) => c.host))) if (h !== "local") console.log(h);
  } else if (what === "labels") {
    for (const c of plan.commands) {
      if (!c.name.endsWith("-register")) continue;
      const node = c.name.slice(0, -"-register".length);
      console.log([node, ...scriptArgs(c.create).slice(1)].join(" "));
    }
  } else {
    throw new Error(`unknown subcommand ${what}`);
  }
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error(`plan-tool: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(2);
  }
}
