/**
 * `npm run logs -- STACK SERVICE [--since 10m] [--tail N] [--follow]`: a service's logs from
 * every task, as `docker service logs` on a manager prints them, reached as `npm run status`
 * reaches the cluster (connect.ts).
 */
import { spawnSync } from "child_process";
import { shellQuote } from "../core/remote";
import { connect, CONNECT_USAGE, ConnectOptions, parseConnectOptions } from "./connect";

const USAGE =
  "usage: npm run logs -- STACK SERVICE [--since DURATION] [--tail N] [--follow] [options]\n" +
  "Prints the logs of every task of the stack's service, with timestamps.\n" +
  "  --since DURATION    only lines newer than this: 10m, 2h, 1d, or a timestamp\n" +
  "  --tail N            the last N lines of each task (default: all)\n" +
  "  --follow            keep printing new lines until interrupted\n" +
  CONNECT_USAGE;

export interface LogsArgs {
  connect: ConnectOptions;
  stack: string;
  service: string;
  since?: string;
  tail?: number;
  follow: boolean;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** docker's --since: a Go duration (10m, 1h30m) or a timestamp. `d` is taken as 24 h. */
const SINCE = /^(\d+[smh])+$|^\d+d$|^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?$/;

export function parseLogsArgs(argv: string[]): LogsArgs | "help" {
  const { opts, rest } = parseConnectOptions(argv);
  if (rest.includes("--help") || rest.includes("-h")) return "help";
  const words: string[] = [];
  const args: Partial<LogsArgs> = { connect: opts, follow: false };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--follow" || a === "-f") args.follow = true;
    else if (a === "--since") {
      const v = rest[++i];
      if (v === undefined || !SINCE.test(v)) {
        throw new Error(`--since ${v ?? ""}: use a duration such as 10m, 2h or 1d, or a date`);
      }
      args.since = /^\d+d$/.test(v) ? `${Number(v.slice(0, -1)) * 24}h` : v;
    } else if (a === "--tail") {
      const v = Number(rest[++i]);
      if (!Number.isInteger(v) || v < 0) throw new Error("--tail needs a whole number");
      args.tail = v;
    } else if (a.startsWith("-")) throw new Error(`unknown option ${a}`);
    else words.push(a);
  }
  if (words.length !== 2 || !words.every((w) => NAME.test(w))) {
    throw new Error("name the stack and the service, e.g. npm run logs -- web api");
  }
  return { ...(args as LogsArgs), stack: words[0], service: words[1] };
}

/** The command the manager runs. */
export function logsCommand(a: LogsArgs): string {
  return [
    "docker service logs --timestamps --no-task-ids",
    ...(a.since ? [`--since ${shellQuote(a.since)}`] : []),
    ...(a.tail !== undefined ? [`--tail ${a.tail}`] : []),
    ...(a.follow ? ["--follow"] : []),
    shellQuote(`${a.stack}_${a.service}`),
  ].join(" ");
}

export function main(argv: string[]): number {
  let args: LogsArgs | "help";
  try {
    args = parseLogsArgs(argv);
  } catch (e) {
    process.stderr.write(`logs: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const conn = connect(args.connect);
  try {
    const r = spawnSync("ssh", [...conn.sshArgs, logsCommand(args)], { stdio: "inherit" });
    return r.status ?? 1;
  } finally {
    conn.close();
  }
}

if (require.main === module) {
  try {
    process.exit(main(process.argv.slice(2)));
  } catch (e) {
    process.stderr.write(`logs: ${(e as Error).message}\n`);
    process.exit(2);
  }
}
