/**
 * npm run loadtest -- URL [--connections N] [--seconds S] [--plot FILE.svg]
 *                         [--rate R] [--max-requests M] [--timeout-seconds T]
 *                         [--fresh-connections]
 *
 * By default autocannon's clients: each keeps its connection open (keep-alive), and opens the
 * next one as soon as the server closed one, before it has a request to send. With
 * --fresh-connections each request opens its own connection when it is sent, as a client
 * without a connection pool does (curl in a loop, many API clients).
 * Constant load on URL with autocannon, then ONE summary line (loadtestReport.ts):
 *   loadtest: <sent> requests, <failed> failed, <non2xx> non-2xx, p50 <ms> ms, p99 <ms> ms, longest outage <ms> ms
 * Exits 1 when any request failed (no HTTP response), 2 on bad arguments.
 * Always bounded: by --seconds (at most 3600) and --max-requests (at most 1,000,000).
 */
import { writeFileSync } from "fs";
import * as http from "http";
import * as https from "https";
import { performance } from "perf_hooks";
import autocannon from "autocannon";
import {
  errorCauses,
  RequestRecord,
  renderSvg,
  summarize,
  summaryLine,
  timeline,
} from "./loadtestReport";

export interface LoadtestArgs {
  url: string;
  /** @default 10 */
  connections: number;
  /** @default 10 */
  seconds: number;
  /** Requests per second over all connections; undefined: as fast as the target answers. */
  rate?: number;
  /** @default 100000 */
  maxRequests: number;
  /**
   * A request without an answer after this long counts as failed and its connection is
   * re-opened. Short, so that an outage is measured to within about this much.
   * @default 2
   */
  timeoutSeconds: number;
  plot?: string;
  /** One new connection per request, opened when it is sent. @default false */
  freshConnections?: boolean;
}

const USAGE =
  "usage: npm run loadtest -- URL [--connections N] [--seconds S] [--plot FILE.svg] " +
  "[--rate R] [--max-requests M] [--timeout-seconds T] [--fresh-connections]";

/** Parses argv (without node and the script); throws a message naming the bad flag. */
export function parseArgs(argv: readonly string[]): LoadtestArgs {
  const args: Partial<LoadtestArgs> = {};
  const positional: string[] = [];
  const numeric = (flag: string, value: string | undefined, max: number): number => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < 1 || n > max) {
      throw new Error(`${flag} ${value ?? ""}: give a whole number from 1 to ${max}\n${USAGE}`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case "--connections":
        args.connections = numeric(a, argv[++i], 1000);
        break;
      case "--seconds":
        args.seconds = numeric(a, argv[++i], 3600);
        break;
      case "--rate":
        args.rate = numeric(a, argv[++i], 100000);
        break;
      case "--max-requests":
        args.maxRequests = numeric(a, argv[++i], 1000000);
        break;
      case "--timeout-seconds":
        args.timeoutSeconds = numeric(a, argv[++i], 60);
        break;
      case "--fresh-connections":
        args.freshConnections = true;
        break;
      case "--plot":
        args.plot = argv[++i];
        if (args.plot === undefined) throw new Error(`--plot needs a file name\n${USAGE}`);
        break;
      default:
        if (a.startsWith("--")) throw new Error(`unknown option ${a}\n${USAGE}`);
        positional.push(a);
    }
  }
  if (positional.length !== 1 || !/^https?:\/\/./.test(positional[0])) {
    throw new Error(`give exactly one http:// or https:// URL\n${USAGE}`);
  }
  return {
    url: positional[0],
    connections: args.connections ?? 10,
    seconds: args.seconds ?? 10,
    rate: args.rate,
    maxRequests: args.maxRequests ?? 100000,
    timeoutSeconds: args.timeoutSeconds ?? 2,
    plot: args.plot,
    freshConnections: args.freshConnections ?? false,
  };
}

/** How long a connection waits before it reconnects after a connection error. */
const RECONNECT_PAUSE_MS = 100;

/**
 * autocannon reconnects immediately after a connection error, so a refused port turns each
 * connection into a busy loop (thousands of "requests" a second and a whole core). Each client
 * here pauses RECONNECT_PAUSE_MS first: failures are counted at a bounded rate and the time
 * resolution of an outage stays far below a second. Reaches into the client's _connect, which
 * autocannon's Client calls through `this` on every (re)connect, and its request queue.
 * (The first connect happens in the Client's constructor, after setupClient: it is patched too.)
 */
function paceReconnects(client: autocannon.Client): void {
  // Not in the published types: the Client's own connect method.
  const c = client as unknown as {
    _connect: () => void;
    _doRequest: (...args: unknown[]) => void;
    destroyed?: boolean;
    pipelinedRequests: { clear: () => void };
  };
  const connect = c._connect.bind(client);
  let afterError = false;
  let pending: NodeJS.Timeout | undefined;
  // "connError" is an event of the Client the published types leave out.
  (client as NodeJS.EventEmitter).on("connError", () => {
    afterError = true;
  });
  // A new connection starts with an empty queue. autocannon keeps what was queued on the old
  // one, and the next answer would be matched to it: latency measured from before an outage, or,
  // with a server that closes after each response (busybox httpd), from requests sent into the
  // closing socket, growing all the time. A failed one is counted already (connError, timeout);
  // one sent into a socket the server was closing after its answer was never served: dropped.
  const reconnect = () => {
    c.pipelinedRequests.clear();
    closing = false;
    if (!c.destroyed) connect();
  };
  // And nothing is sent into a connection the server said it closes (Connection: close): the
  // request would be lost, and count against the rate. The reconnect sends it instead.
  let closing = false;
  (client as NodeJS.EventEmitter).on("headers", (info: { shouldKeepAlive?: boolean }) => {
    closing = info.shouldKeepAlive === false;
  });
  const doRequest = c._doRequest.bind(client);
  c._doRequest = (...args: unknown[]) => {
    if (!closing) doRequest(...args);
  };
  c._connect = () => {
    if (!afterError) return reconnect();
    if (pending !== undefined) return;
    pending = setTimeout(() => {
      pending = undefined;
      afterError = false;
      reconnect();
    }, RECONNECT_PAUSE_MS);
  };
}

/**
 * --fresh-connections: `connections` workers, each sending one request at a time on a new
 * connection (no agent: it is closed after the response), paced so that together they send
 * `rate` a second; bounded by --seconds, --max-requests and SIGINT/SIGTERM as the default mode.
 */
async function runFresh(args: LoadtestArgs): Promise<RequestRecord[]> {
  const records: RequestRecord[] = [];
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const url = new URL(args.url);
  const client = url.protocol === "https:" ? https : http;
  let stopped = false;
  const stop = () => (stopped = true);
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const one = () =>
    new Promise<void>((resolve) => {
      const startMs = now();
      const failed = (e: NodeJS.ErrnoException) => {
        records.push({ startMs, endMs: now(), error: e.code ?? e.message });
        resolve();
      };
      const req = client.get(url, { agent: false, timeout: args.timeoutSeconds * 1000 }, (res) => {
        res.on("error", failed);
        res.on("end", () => {
          records.push({ startMs, endMs: now(), status: res.statusCode });
          resolve();
        });
        res.resume();
      });
      req.on("timeout", () => req.destroy(new Error("request timed out")));
      req.on("error", failed);
    });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const perWorkerMs = args.rate === undefined ? 0 : (1000 * args.connections) / args.rate;
  let sent = 0;
  await Promise.all(
    Array.from({ length: args.connections }, async (_, w) => {
      await sleep((perWorkerMs * w) / args.connections);
      while (!stopped && now() < args.seconds * 1000 && sent < args.maxRequests) {
        sent++;
        const begin = now();
        await one();
        const wait = perWorkerMs - (now() - begin);
        if (wait > 0) await sleep(wait);
      }
    }),
  );
  process.removeListener("SIGINT", stop);
  process.removeListener("SIGTERM", stop);
  return records;
}

export async function runLoadtest(args: LoadtestArgs): Promise<RequestRecord[]> {
  if (args.freshConnections === true) return runFresh(args);
  const records: RequestRecord[] = [];
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: args.url,
        connections: Math.min(args.connections, args.maxRequests),
        duration: args.seconds,
        // A hard bound on requests made, spread over the connections; each stops at its share.
        maxOverallRequests: args.maxRequests,
        timeout: args.timeoutSeconds,
        overallRate: args.rate,
        setupClient: paceReconnects,
      },
      (err) => (err ? reject(err) : resolve(records)),
    );
    // --seconds is an upper bound: SIGINT or SIGTERM ends the run early, still with its line
    // (the lab stops the load when the change it watches is over).
    const stop = () => instance.stop();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    const add = (r: RequestRecord) => {
      if (records.length < args.maxRequests) records.push(r);
    };
    instance.on("response", (_client, statusCode, _bytes, responseTimeMs) => {
      const end = performance.now() - startedAt;
      add({ startMs: end - responseTimeMs, endMs: end, status: statusCode });
    });
    instance.on("reqError", (error) => {
      const end = performance.now() - startedAt;
      const timedOut = error.message === "request timed out";
      add({
        startMs: timedOut ? end - args.timeoutSeconds * 1000 : end,
        endMs: end,
        error: (error as NodeJS.ErrnoException).code ?? error.message,
      });
    });
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  let args: LoadtestArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`loadtest: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const records = await runLoadtest(args);
  const summary = summarize(records);
  if (args.plot !== undefined) {
    const title = `${args.url}: ${args.connections} connections, ${args.seconds} s`;
    writeFileSync(args.plot, renderSvg(timeline(records, 0), title));
  }
  process.stdout.write(summaryLine(summary) + "\n");
  // Why they failed, for whoever reads on (stderr: the one line above stays the output).
  const causes = errorCauses(records);
  if (causes !== "") process.stderr.write(`failed requests by cause: ${causes}\n`);
  process.exit(summary.failed > 0 ? 1 : 0);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`loadtest: ${(e as Error).message}\n`);
    process.exit(2);
  });
}
