/**
 * `npm run bench`: simulated `pulumi up` time of a fresh cluster for several sizes, with the
 * per-operation latencies in simulate.ts. Each size runs in its own process (Pulumi's runtime
 * state is per process). The figure that matters: time and depth must not grow with workers.
 */
import { execFileSync } from "child_process";
import * as path from "path";
import { LATENCY_SECONDS } from "./simulate";

const SHAPES: [number, number][] = [
  [1, 1],
  [3, 2],
  [3, 20],
  [7, 50],
];

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
    ],
    { cwd: path.resolve(__dirname, "../.."), stdio: ["ignore", "pipe", "ignore"] },
  ).toString();
  const r = JSON.parse(out.trim().split("\n").pop()!);
  const min = Math.floor(r.simulatedSeconds / 60);
  const sec = String(r.simulatedSeconds % 60).padStart(2, "0");
  console.log(
    `${String(m).padStart(8)} ${String(w).padStart(7)} ${String(r.resources).padStart(9)} ${String(r.depth).padStart(5)} ${`${min}m${sec}s`.padStart(13)}`,
  );
}
console.log(
  "\nassumed seconds per operation (tests/bench/simulate.ts): " +
    Object.entries(LATENCY_SECONDS)
      .map(([k, v]) => `${k.replace(/^digitalocean:index\/\w+:/, "")} ${v}`)
      .join(", "),
);
