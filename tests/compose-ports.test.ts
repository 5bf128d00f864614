// Published ports from short and long syntax (what the firewall must open).
import { parseShortPort } from "../components/compose/ports";
import { cleanup, render, renderError } from "./fixtures/compose/helpers";

afterAll(cleanup);

describe("short syntax", () => {
  test.each([
    ["80:80", [80], "tcp", undefined],
    ["8080:80/udp", [8080], "udp", undefined],
    ["9000-9001:9000-9001", [9000, 9001], "tcp", undefined],
    ["127.0.0.1:80:80", [80], "tcp", "127.0.0.1"],
    ["127.0.0.1:5000-5002:5000-5002", [5000, 5001, 5002], "tcp", "127.0.0.1"],
    ["[::1]:80:80", [80], "tcp", "::1"],
    ["3000", [], "tcp", undefined],
    ["3001-3005", [], "tcp", undefined],
    ["127.0.0.1::80", [], "tcp", "127.0.0.1"],
  ])("%s", (spec, published, protocol, hostIp) => {
    expect(parseShortPort(spec)).toEqual({ published, protocol, hostIp });
  });

  test.each(["80:80:80:80", "a:80", "9000-9001:80", "70000:80", ""])("%j is invalid", (spec) => {
    expect(parseShortPort(spec)).toBeUndefined();
  });
});

test("services report short and long syntax ports; unpublished ones are not reported", () => {
  const r = render(
    [
      "services:",
      "  web:",
      "    image: nginx",
      "    ports:",
      "      - 3000",
      '      - "8080:80"',
      '      - "53:53/udp"',
      "      - target: 443",
      "        published: 443",
      "        mode: host",
      "      - target: 9000",
      "      - target: 5000",
      "        published: 5000",
      "        protocol: udp",
      "",
    ].join("\n"),
  );
  expect(r.publishedPorts).toEqual([
    { service: "web", port: 53, protocol: "udp", mode: "ingress" },
    { service: "web", port: 443, protocol: "tcp", mode: "host" },
    { service: "web", port: 5000, protocol: "udp", mode: "ingress" },
    { service: "web", port: 8080, protocol: "tcp", mode: "ingress" },
  ]);
});

test("malformed ports and unsupported protocols are errors naming the port", () => {
  const e = renderError(
    'services:\n  web:\n    image: nginx\n    ports: ["eighty:80", "80:80/sctp"]\n',
  );
  expect(e.problems).toEqual([
    expect.stringMatching(/services\.web\.ports\[0\]: invalid port "eighty:80"/),
    expect.stringMatching(/services\.web\.ports\[1\]: protocol "sctp" is not supported here/),
  ]);
});
