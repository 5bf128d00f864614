/**
 * What a load test means to a user, computed from one record per request: the summary line
 * every load test prints, the longest outage, and a chart over time. Pure: the CLI
 * (loadtest.ts) feeds it autocannon's events, the tests feed it hand-made timelines.
 */

/** One finished request, times in milliseconds on one monotonic clock. */
export interface RequestRecord {
  /** When the request was sent (for a timeout: its end minus the timeout). */
  startMs: number;
  /** When its answer, error or timeout arrived. */
  endMs: number;
  /** The HTTP status, or undefined when no response came (refused, reset, timed out). */
  status?: number;
  /** Why no response came: the socket error's code (ECONNRESET, ...) or the message. */
  error?: string;
}

/** "ECONNRESET 3, request timed out 1": the failed requests by cause, most frequent first. */
export function errorCauses(records: readonly RequestRecord[]): string {
  const n = new Map<string, number>();
  for (const r of records) if (r.error !== undefined) n.set(r.error, (n.get(r.error) ?? 0) + 1);
  return [...n.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([cause, count]) => `${cause} ${count}`)
    .join(", ");
}

export interface Summary {
  sent: number;
  /** Requests that got no HTTP response at all. */
  failed: number;
  /** Responses whose status is not 2xx (they are answers, counted apart from failures). */
  non2xx: number;
  /** Latency percentiles of the 2xx responses, as autocannon reports them; 0 when none. */
  p50Ms: number;
  p99Ms: number;
  /** The longest stretch of unserved requests; see longestOutageMs. */
  longestOutageMs: number;
}

/** A request that was not served: no response, or a 5xx (a proxy with no backend answers 502/503). */
export const unserved = (r: RequestRecord) => r.status === undefined || r.status >= 500;

/**
 * The longest stretch of consecutive unserved requests, in the order they were sent: from the
 * first such request's start to the end of the next served one (the moment a visitor got an
 * answer again). A stretch still open when the test ends lasts until the last request ends.
 * With several connections the order is by start time, so one connection's late success does
 * not end an outage its requests sent later are still in.
 */
export function longestOutageMs(records: readonly RequestRecord[]): number {
  const sorted = [...records].sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
  let longest = 0;
  let openedAt: number | undefined;
  for (const r of sorted) {
    if (unserved(r)) {
      openedAt ??= r.startMs;
    } else if (openedAt !== undefined) {
      longest = Math.max(longest, r.endMs - openedAt);
      openedAt = undefined;
    }
  }
  if (openedAt !== undefined) {
    const lastEnd = Math.max(...sorted.map((r) => r.endMs));
    longest = Math.max(longest, lastEnd - openedAt);
  }
  return Math.round(longest);
}

/** The nearest-rank percentile (p in 0..100) of a list; 0 for an empty one. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

const ok = (r: RequestRecord) => r.status !== undefined && r.status >= 200 && r.status < 300;

export function summarize(records: readonly RequestRecord[]): Summary {
  const latencies = records.filter(ok).map((r) => r.endMs - r.startMs);
  return {
    sent: records.length,
    failed: records.filter((r) => r.status === undefined).length,
    non2xx: records.filter((r) => r.status !== undefined && !ok(r)).length,
    p50Ms: Math.round(percentile(latencies, 50)),
    p99Ms: Math.round(percentile(latencies, 99)),
    longestOutageMs: longestOutageMs(records),
  };
}

/** The one line every load test prints (its form is a contract: scripts parse it). */
export function summaryLine(s: Summary): string {
  return (
    `loadtest: ${s.sent} requests, ${s.failed} failed, ${s.non2xx} non-2xx, ` +
    `p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, longest outage ${s.longestOutageMs} ms`
  );
}

/** Reads a summary line back (for scripts and tests); undefined when it is not one. */
export function parseSummaryLine(line: string): Summary | undefined {
  const m =
    /^loadtest: (\d+) requests, (\d+) failed, (\d+) non-2xx, p50 (\d+) ms, p99 (\d+) ms, longest outage (\d+) ms$/.exec(
      line.trim(),
    );
  if (!m) return undefined;
  const [sent, failed, non2xx, p50Ms, p99Ms, longest] = m.slice(1).map(Number);
  return { sent, failed, non2xx, p50Ms, p99Ms, longestOutageMs: longest };
}

/** One second of the test, by the requests that ended in it. */
export interface Bucket {
  /** Seconds since the test started. */
  second: number;
  served: number;
  unserved: number;
  /** p99 latency of the 2xx responses that ended in this second; undefined when none did. */
  p99Ms?: number;
}

export function timeline(records: readonly RequestRecord[], startedAtMs: number): Bucket[] {
  if (records.length === 0) return [];
  const last = Math.max(...records.map((r) => r.endMs));
  const count = Math.floor((last - startedAtMs) / 1000) + 1;
  const buckets: Bucket[] = Array.from({ length: count }, (_, second) => ({
    second,
    served: 0,
    unserved: 0,
  }));
  const latencies: number[][] = buckets.map(() => []);
  for (const r of records) {
    const i = Math.max(0, Math.floor((r.endMs - startedAtMs) / 1000));
    if (unserved(r)) buckets[i].unserved++;
    else buckets[i].served++;
    if (ok(r)) latencies[i].push(r.endMs - r.startMs);
  }
  buckets.forEach((b, i) => {
    if (latencies[i].length > 0) b.p99Ms = Math.round(percentile(latencies[i], 99));
  });
  return buckets;
}

const escapeXml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/**
 * A self-contained SVG: requests per second (served, green; unserved, red) on top, the p99
 * latency per second below, one shared time axis. What a user looks at after a failover test:
 * where the red starts, how long it lasts, and whether latency settles afterwards.
 */
export function renderSvg(buckets: readonly Bucket[], title: string): string {
  const width = 800;
  const left = 60;
  const right = 20;
  const plotW = width - left - right;
  const panelH = 160;
  const top1 = 40;
  const top2 = top1 + panelH + 50;
  const height = top2 + panelH + 40;
  const seconds = Math.max(1, buckets.length);
  const x = (s: number) => left + (s / seconds) * plotW;
  const maxRate = Math.max(1, ...buckets.map((b) => Math.max(b.served, b.unserved)));
  const maxP99 = Math.max(1, ...buckets.map((b) => b.p99Ms ?? 0));
  const y1 = (v: number) => top1 + panelH - (v / maxRate) * panelH;
  const y2 = (v: number) => top2 + panelH - (v / maxP99) * panelH;
  const line = (points: [number, number][], color: string) =>
    points.length === 0
      ? ""
      : `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points
          .map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`)
          .join(" ")}"/>`;
  const mid = (b: Bucket) => x(b.second + 0.5);
  const axis = (top: number, max: number, unit: string) =>
    `<line x1="${left}" y1="${top + panelH}" x2="${width - right}" y2="${top + panelH}" stroke="#888"/>` +
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + panelH}" stroke="#888"/>` +
    `<text x="${left - 6}" y="${top + 4}" text-anchor="end" font-size="11">${max}</text>` +
    `<text x="${left - 6}" y="${top + panelH}" text-anchor="end" font-size="11">0</text>` +
    `<text x="${left}" y="${top - 8}" font-size="12">${escapeXml(unit)}</text>`;
  const ticks = Array.from({ length: Math.floor(seconds / 10) + 1 }, (_, i) => i * 10)
    .map(
      (s) =>
        `<text x="${x(s).toFixed(1)}" y="${top2 + panelH + 16}" text-anchor="middle" font-size="11">${s}s</text>`,
    )
    .join("");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="18" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    axis(top1, maxRate, "requests per second: served (green), unserved (red)"),
    line(
      buckets.map((b) => [mid(b), y1(b.served)]),
      "#2a9d3f",
    ),
    line(
      buckets.map((b) => [mid(b), y1(b.unserved)]),
      "#d62828",
    ),
    axis(top2, maxP99, "p99 latency of 2xx responses, ms"),
    line(
      buckets.filter((b) => b.p99Ms !== undefined).map((b) => [mid(b), y2(b.p99Ms!)]),
      "#1d4ed8",
    ),
    ticks,
    `</svg>`,
    "",
  ].join("\n");
}
