/**
 * `npm run bench`: simulated `pulumi up` time of a fresh cluster for several sizes, with the
 * per-operation latencies in simulate.ts. Each size runs in its own process (Pulumi's runtime
 * state is per process). The figure that matters: time and depth must not grow with workers.
 * A second table bounds the operations in flight as the engine does (`--parallel`; the CLI's
 * default is 4 x cores: 8 on a 2-core runner, 16 on 4 cores) and at the value the README and the
 * workflows pass (RECOMMENDED_PARALLEL). A third, the simulated duration of a rolling resize of
 * every node, one at a time (the default) and at `maxUnavailable: 25%` (tests/bench/resize.ts).
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { RECOMMENDED_PARALLEL } from "./schedule";
import { LATENCY_SECONDS } from "./simulate";
import { RESIZE_LATENCY_SECONDS, simulateRollingResize } from "./resize";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  process.stdout.write(
    "usage: npm run bench\n" +
      "Simulated `pulumi up` time of a fresh cluster for several sizes (the program under mocks,\n" +
      "its resource graph scheduled like the engine with typical per-operation times), then with\n" +
      "at most --parallel operations in flight; then a rolling resize of every node, one at a\n" +
      "time and with workers[i].maxUnavailable 25%. Takes no options; needs no cloud account.\n",
  );
  process.exit(0);
}

const SHAPES: [number, number][] = [
  [1, 1],
  [3, 2],
  [3, 20],
  [7, 50],
];
/** Shapes and `--parallel` values of the second table. */
const BOUNDED_SHAPES = new Set(["3+2", "3+20", "7+50"]);
const PARALLELS = [8, 16, RECOMMENDED_PARALLEL];

const time = (seconds: number) =>
  `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`;

const bounded: string[] = [];
console.log("managers workers resources depth simulated-up");
for (const [m, w] of SHAPES) {
  const out = execFileSync(
    process.execPath,
    [
      require.resolve("ts-node/dist/bin"),
      "--transpile-only",
      path.join(__dirname, "simulate.ts"),
      String(m),
      String(w),
      ...PARALLELS.map(String),
    ],
    { cwd: path.resolve(__dirname, "../.."), stdio: ["ignore", "pipe", "ignore"] },
  ).toString();
  const r = JSON.parse(out.trim().split("\n").pop()!) as {
    resources: number;
    depth: number;
    simulatedSeconds: number;
    bounded: Record<string, number>;
  };
  console.log(
    `${String(m).padStart(8)} ${String(w).padStart(7)} ${String(r.resources).padStart(9)} ${String(r.depth).padStart(5)} ${time(r.simulatedSeconds).padStart(13)}`,
  );
  if (BOUNDED_SHAPES.has(`${m}+${w}`)) {
    for (const p of PARALLELS) {
      bounded.push(
        `${String(m).padStart(8)} ${String(w).padStart(7)} ${String(p).padStart(8)} ${time(r.bounded[p]).padStart(13)}`,
      );
    }
  }
}
console.log("\nmanagers workers parallel simulated-up");
bounded.forEach((line) => console.log(line));
console.log(
  "\nassumed seconds per operation (tests/bench/simulate.ts): " +
    Object.entries(LATENCY_SECONDS)
      .map(([k, v]) => `${k.replace(/^digitalocean:index\/\w+:/, "")} ${v}`)
      .join(", "),
);

// A rolling resize of every node, as the maintenance lock schedules it (tests/bench/resize.ts).
console.log("\nmanagers workers maxUnavailable simulated-resize");
for (const [m, w] of SHAPES.filter(([m, w]) => BOUNDED_SHAPES.has(`${m}+${w}`))) {
  for (const maxUnavailable of [undefined, "25%"]) {
    const seconds = simulateRollingResize(m, [
      { name: "worker", count: w, ...(maxUnavailable === undefined ? {} : { maxUnavailable }) },
    ]);
    console.log(
      `${String(m).padStart(8)} ${String(w).padStart(7)} ${(maxUnavailable ?? "1").padStart(14)} ${time(seconds).padStart(16)}`,
    );
  }
}
console.log(
  "\nassumed seconds per step of a node's resize (tests/bench/resize.ts): " +
    Object.entries(RESIZE_LATENCY_SECONDS)
      .map(([k, v]) => `${k} ${v}`)
      .join(", "),
);
