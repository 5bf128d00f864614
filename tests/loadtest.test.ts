import * as http from "http";
import { AddressInfo } from "net";
import { parseArgs, runLoadtest } from "./tools/loadtest";
import {
  errorCauses,
  longestOutageMs,
  parseSummaryLine,
  percentile,
  renderSvg,
  RequestRecord,
  summarize,
  summaryLine,
  timeline,
} from "./tools/loadtestReport";

const ok = (startMs: number, endMs = startMs + 5): RequestRecord => ({
  startMs,
  endMs,
  status: 200,
});
const fail = (startMs: number, endMs = startMs): RequestRecord => ({ startMs, endMs });

describe("longestOutageMs", () => {
  it("is 0 when every request was served", () => {
    expect(longestOutageMs([ok(0), ok(10), ok(20)])).toBe(0);
  });

  it("runs from the first failure's start to the end of the next served request", () => {
    expect(longestOutageMs([ok(0), fail(100), fail(200), ok(1100, 1110), ok(1200)])).toBe(1010);
  });

  it("keeps the longest of several stretches", () => {
    const records = [fail(0), ok(50, 60), fail(100), fail(900), ok(2000, 2001), fail(3000)];
    // The last stretch is still open at the end: it lasts until its last request ends (0 ms).
    expect(longestOutageMs(records)).toBe(1901);
  });

  it("counts a timeout from when it was sent, and orders by start time across connections", () => {
    // A request sent at 0 timed out at 2000; another connection got answers at 500 (sent 400).
    const records = [fail(0, 2000), ok(400, 500), ok(2100, 2110)];
    expect(longestOutageMs(records)).toBe(500);
  });

  it("counts 5xx answers as unserved (a proxy with no backend), 4xx as served", () => {
    const s503: RequestRecord = { startMs: 10, endMs: 12, status: 503 };
    const s404: RequestRecord = { startMs: 20, endMs: 25, status: 404 };
    expect(longestOutageMs([ok(0), s503, s404])).toBe(15);
  });

  it("lasts until the end of the test when nothing was served again", () => {
    expect(longestOutageMs([ok(0), fail(100, 2100), fail(200, 2200)])).toBe(2100);
  });
});

describe("summary", () => {
  it("counts failures and non-2xx apart and takes percentiles of 2xx latencies", () => {
    const records: RequestRecord[] = [
      ...Array.from({ length: 98 }, (_, i) => ok(i * 10, i * 10 + 4)),
      ok(2000, 2100),
      { startMs: 2200, endMs: 2201, status: 500 },
      { startMs: 2300, endMs: 2301, status: 404 },
      fail(2400, 2400),
    ];
    const s = summarize(records);
    expect(s).toEqual({
      sent: 102,
      failed: 1,
      non2xx: 2,
      p50Ms: 4,
      p99Ms: 100,
      // From the 500's start (2200) to the 404's end (2301): a 4xx is an answer.
      longestOutageMs: 101,
    });
    expect(summaryLine(s)).toBe(
      "loadtest: 102 requests, 1 failed, 2 non-2xx, p50 4 ms, p99 100 ms, longest outage 101 ms",
    );
    expect(parseSummaryLine(summaryLine(s))).toEqual(s);
    expect(parseSummaryLine("loadtest: 3 requests")).toBeUndefined();
  });

  it("is all zeros for no requests", () => {
    expect(summaryLine(summarize([]))).toBe(
      "loadtest: 0 requests, 0 failed, 0 non-2xx, p50 0 ms, p99 0 ms, longest outage 0 ms",
    );
  });

  it("names the causes of failed requests, most frequent first", () => {
    const failed = (error: string): RequestRecord => ({ startMs: 0, endMs: 0, error });
    expect(
      errorCauses([
        ok(0),
        failed("ECONNRESET"),
        failed("request timed out"),
        failed("ECONNRESET"),
        failed("ECONNREFUSED"),
      ]),
    ).toBe("ECONNRESET 2, ECONNREFUSED 1, request timed out 1");
    expect(errorCauses([ok(0)])).toBe("");
  });

  it("percentile is nearest-rank", () => {
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([5, 1, 3, 2, 4], 99)).toBe(5);
    expect(percentile([], 50)).toBe(0);
  });
});

describe("timeline and chart", () => {
  it("buckets requests by the second they ended in", () => {
    const records = [ok(0, 100), ok(200, 900), fail(1000, 1500), ok(2500, 2510)];
    expect(timeline(records, 0)).toEqual([
      { second: 0, served: 2, unserved: 0, p99Ms: 700 },
      { second: 1, served: 0, unserved: 1 },
      { second: 2, served: 1, unserved: 0, p99Ms: 10 },
    ]);
  });

  it("draws served, unserved and p99 series in one SVG", () => {
    const svg = renderSvg(timeline([ok(0, 100), fail(1000, 1500), ok(2500, 2510)], 0), "a & b");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("a &amp; b");
    expect(svg.match(/<polyline/g)).toHaveLength(3);
    expect(svg).toContain('stroke="#d62828"');
  });
});

describe("parseArgs", () => {
  it("has bounded defaults", () => {
    expect(parseArgs(["http://10.77.0.100/"])).toEqual({
      url: "http://10.77.0.100/",
      connections: 10,
      seconds: 10,
      rate: undefined,
      maxRequests: 100000,
      timeoutSeconds: 2,
      plot: undefined,
      freshConnections: false,
    });
  });

  it("reads every flag", () => {
    expect(
      parseArgs([
        "--connections",
        "4",
        "http://x/",
        "--seconds",
        "30",
        "--plot",
        "out.svg",
        "--rate",
        "50",
        "--max-requests",
        "2000",
        "--timeout-seconds",
        "1",
        "--fresh-connections",
      ]),
    ).toEqual({
      url: "http://x/",
      connections: 4,
      seconds: 30,
      rate: 50,
      maxRequests: 2000,
      timeoutSeconds: 1,
      plot: "out.svg",
      freshConnections: true,
    });
  });

  it.each([
    [["http://x/", "--seconds", "0"], /--seconds 0: give a whole number from 1 to 3600/],
    [["http://x/", "--seconds", "99999"], /--seconds 99999/],
    [["http://x/", "--connections"], /--connections : give a whole number/],
    [["http://x/", "--bogus"], /unknown option --bogus/],
    [["x.example"], /give exactly one http/],
    [[], /give exactly one http/],
  ])("refuses %j", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe("runLoadtest --fresh-connections", () => {
  it("opens one connection per request, when it sends it, at the rate asked", async () => {
    let connections = 0;
    let requests = 0;
    const server = http.createServer((_req, res) => {
      requests++;
      res.end("ok");
    });
    server.on("connection", () => connections++);
    server.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    try {
      const records = await runLoadtest({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
        connections: 4,
        seconds: 2,
        rate: 40,
        maxRequests: 10000,
        timeoutSeconds: 2,
        freshConnections: true,
      });
      const s = summarize(records);
      expect(s.failed).toBe(0);
      expect(s.sent).toBeGreaterThanOrEqual(70);
      expect(s.sent).toBeLessThanOrEqual(84);
      // No connection opened ahead of a request, none reused.
      expect(connections).toBe(requests);
      expect(requests).toBe(s.sent);
    } finally {
      server.close();
    }
  });

  it("counts refused requests with their cause, bounded by --max-requests", async () => {
    const probe = http.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => probe.once("listening", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const records = await runLoadtest({
      url: `http://127.0.0.1:${port}/`,
      connections: 2,
      seconds: 5,
      rate: 100,
      maxRequests: 10,
      timeoutSeconds: 1,
      freshConnections: true,
    });
    expect(records).toHaveLength(10);
    expect(errorCauses(records)).toBe("ECONNREFUSED 10");
  });
});

describe("runLoadtest against a local server that fails for a while", () => {
  // 127.0.0.1 only. Up for 0.8 s, then closed (connections refused) for 1 s, then up again.
  it("counts the refused requests and measures the outage", async () => {
    const handler: http.RequestListener = (_req, res) => res.end("ok");
    let server = http.createServer(handler).listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const port = (server.address() as AddressInfo).port;
    const timers = [
      setTimeout(() => {
        server.close();
        server.closeAllConnections();
      }, 800),
      setTimeout(() => {
        server = http.createServer(handler).listen(port, "127.0.0.1");
      }, 1800),
    ];
    try {
      const records = await runLoadtest({
        url: `http://127.0.0.1:${port}/`,
        connections: 2,
        seconds: 3,
        rate: 100,
        maxRequests: 10000,
        timeoutSeconds: 2,
      });
      const s = summarize(records);
      expect(s.failed).toBeGreaterThan(0);
      // The pacing keeps failures to about 10 per second per connection (plus the rate limit).
      expect(s.failed).toBeLessThan(40);
      expect(s.non2xx).toBe(0);
      expect(s.sent - s.failed).toBeGreaterThan(100);
      expect(s.longestOutageMs).toBeGreaterThanOrEqual(900);
      expect(s.longestOutageMs).toBeLessThan(1600);
    } finally {
      timers.forEach(clearTimeout);
      server.close();
      server.closeAllConnections();
    }
  });

  it("measures latency right against a server that closes after each response", async () => {
    // busybox httpd, the lab's server, answers one request per connection.
    const server = http
      .createServer((_req, res) => {
        res.setHeader("Connection", "close");
        res.end("ok");
      })
      .listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    try {
      const records = await runLoadtest({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
        connections: 4,
        seconds: 2,
        rate: 40,
        maxRequests: 10000,
        timeoutSeconds: 2,
      });
      const s = summarize(records);
      expect(s.failed).toBe(0);
      // 40 requests a second for 2 s, none lost to a closing socket.
      expect(s.sent).toBeGreaterThanOrEqual(70);
      expect(s.p99Ms).toBeLessThan(200);
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });

  it("stops at --max-requests", async () => {
    const server = http.createServer((_req, res) => res.end("ok")).listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    try {
      const records = await runLoadtest({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
        connections: 1,
        seconds: 20,
        maxRequests: 50,
        timeoutSeconds: 2,
      });
      expect(records).toHaveLength(50);
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });
});
