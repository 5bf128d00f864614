// `npm run --silent render -- FILE [FILE ...] [--env KEY=VALUE ...] [--replicas svc=N ...] [--out DIR]`
// Several files are merged in order, as `docker stack deploy -c FILE -c FILE` merges them.
// Prints the rendered stack to stdout and warnings to stderr; exits 1 listing every problem.
import * as fs from "fs";
import * as path from "path";
import { RenderOptions, StackRenderError, renderStack } from "./index";

export interface CliArgs {
  /** The compose files, merged in order. */
  files: string[];
  env: Record<string, string>;
  replicas: Record<string, number>;
  images: Record<string, string>;
  out?: string;
}

export const USAGE =
  "usage: npm run --silent render -- FILE [FILE ...] [--env K=V ...] [--replicas svc=N ...] [--image svc=REF ...] [--out DIR]\n" +
  "Renders compose FILEs (merged in order, as docker stack deploy -c A -c B merges them) for swarm,\n" +
  "as pulumi up deploys them: the stack on stdout, warnings on stderr; exit 1 listing every problem.\n";

function pair(flag: string, arg: string | undefined): [string, string] {
  const eq = arg?.indexOf("=") ?? -1;
  if (arg === undefined || eq <= 0)
    throw new Error(`${flag} needs KEY=VALUE, got ${arg ?? "nothing"}`);
  return [arg.slice(0, eq), arg.slice(eq + 1)];
}

export function parseArgs(argv: string[]): CliArgs {
  const args: CliArgs = { files: [], env: {}, replicas: {}, images: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--env") {
      const [k, v] = pair(a, argv[++i]);
      args.env[k] = v;
    } else if (a === "--replicas") {
      const [k, v] = pair(a, argv[++i]);
      if (!/^\d+$/.test(v)) throw new Error(`--replicas ${k}=${v}: N must be a whole number`);
      args.replicas[k] = Number(v);
    } else if (a === "--image") {
      const [k, v] = pair(a, argv[++i]);
      args.images[k] = v;
    } else if (a === "--out") {
      args.out = argv[++i];
      if (!args.out) throw new Error("--out needs a directory");
    } else if (a.startsWith("--")) {
      throw new Error(`unknown option ${a}`);
    } else {
      args.files.push(a);
    }
  }
  if (args.files.length === 0) throw new Error(USAGE.split("\n")[0]);
  return args;
}

/** Write stack.yml plus the shipped files into dir, the layout the manager deploys from. */
export function writeBundle(dir: string, yaml: string, files: Record<string, Buffer>): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "stack.yml"), yaml);
  for (const [rel, content] of Object.entries(files)) {
    const target = path.join(dir, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content);
  }
}

export function main(argv: string[]): number {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(USAGE);
    return 0;
  }
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const opts: RenderOptions = {
    file: args.files.length === 1 ? args.files[0] : args.files,
    env: args.env,
    replicas: args.replicas,
    images: args.images,
  };
  try {
    const res = renderStack(opts);
    for (const w of res.warnings) process.stderr.write(`warning: ${w}\n`);
    if (args.out) writeBundle(args.out, res.yaml, res.files);
    process.stdout.write(res.yaml);
    return 0;
  } catch (e) {
    if (e instanceof StackRenderError) {
      for (const w of e.warnings) process.stderr.write(`warning: ${w}\n`);
      for (const p of e.problems) process.stderr.write(`error: ${p}\n`);
      return 1;
    }
    throw e;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
