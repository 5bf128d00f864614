import { TEST_PRIVATE_KEY } from "./harness";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import {
  daemonJson,
  DOCKER_VERSION_PATH,
  INSTALLER_PATH,
  renderUserData,
} from "../components/swarm/cloudInit";
import { checkPublicPorts, inboundRules } from "../components/core/firewall";
import {
  allTags,
  faultTolerance,
  hostnameProblems,
  MAX_HOSTNAME_LENGTH,
  monthlyCost,
  planNodes,
} from "../components/core/nodes";
import { readScript, scriptCommand, shellQuote, withFinalNewline } from "../components/core/remote";
import { SWARM_SCRIPTS as SCRIPTS_DIR } from "../components/swarm/cloudInit";
import { decodeBundle, encodeBundle, encryptedNetworks } from "../components/stacks/stackBundle";

describe("firewall", () => {
  test("refuses to publish SSH, the Docker API and swarm's own ports", () => {
    const p = checkPublicPorts([
      { port: 80, protocol: "tcp", source: "stack web, service web" },
      { port: 2375, protocol: "tcp", source: "stack a, service dind" },
      { port: 2376, protocol: "tcp" },
      { port: 2377, protocol: "tcp" },
      { port: 7946, protocol: "udp" },
      { port: 4789, protocol: "udp" },
      { port: 22, protocol: "tcp" },
      { port: 70000, protocol: "tcp" },
    ]);
    expect(p).toHaveLength(7);
    expect(p[0]).toBe(
      "stack a, service dind publishes 2375/tcp, which cannot be opened to the internet: it is the unauthenticated Docker API: anyone reaching it owns the node. Publish the service on another port.",
    );
    expect(p[6]).toContain("port 70000, which is not a TCP/UDP port");
  });

  test("udp and tcp on the same port are two rules; order is stable", () => {
    const rules = inboundRules({
      clusterTag: "c",
      adminCidrs: ["1.2.3.4/32"],
      publicPorts: [
        { port: 53, protocol: "udp" },
        { port: 53, protocol: "tcp" },
        { port: 8, protocol: "tcp" },
      ],
    });
    expect(rules.slice(-3).map((r) => `${r.portRange}/${r.protocol}`)).toEqual([
      "8/tcp",
      "53/tcp",
      "53/udp",
    ]);
  });
});

describe("cloud-init", () => {
  const doc = parse(renderUserData({ dockerVersion: "28.5" }).replace(/^#cloud-config\n/, ""));
  const file = (p: string) =>
    doc.write_files.find((f: { path: string }) => f.path === p)?.content as string;

  test("is a #cloud-config document, byte-identical for the same input", () => {
    expect(renderUserData({ dockerVersion: "28.5" })).toMatch(/^#cloud-config\n/);
    expect(renderUserData({ dockerVersion: "28.5" })).toBe(
      renderUserData({ dockerVersion: "28.5" }),
    );
  });

  test("rotates container logs so disks never fill", () => {
    expect(JSON.parse(file("/etc/docker/daemon.json"))).toEqual({
      "log-driver": "json-file",
      "log-opts": { "max-size": "10m", "max-file": "5" },
    });
    expect(daemonJson({ dockerVersion: "1", logMaxFiles: 2 })["log-opts"]).toEqual({
      "max-size": "10m",
      "max-file": "2",
    });
  });

  test("hardens sshd: keys only", () => {
    expect(file("/etc/ssh/sshd_config.d/60-do-swarm.conf")).toContain("PasswordAuthentication no");
    expect(file("/etc/ssh/sshd_config.d/60-do-swarm.conf")).toContain(
      "PermitRootLogin prohibit-password",
    );
    expect(doc.ssh_pwauth).toBe(false);
  });

  test("installs Docker with install-docker.sh, run by runcmd after sshd, version on file", () => {
    expect(file(INSTALLER_PATH)).toBe(readScript("install-docker.sh", SCRIPTS_DIR));
    expect(
      doc.write_files.find((f: { path: string }) => f.path === INSTALLER_PATH).permissions,
    ).toBe("0755");
    expect(file(DOCKER_VERSION_PATH)).toBe("28.5\n");
    expect(doc.runcmd).toEqual([
      "set -eu",
      ["systemctl", "try-reload-or-restart", "ssh.service"],
      [INSTALLER_PATH],
    ]);
    // cloud-init's own apt step waits only 30 s for the dpkg lock: the installer does it.
    expect(doc.packages).toBeUndefined();
    expect(doc.package_update).toBeUndefined();
  });
});

describe("nodes", () => {
  const nodes = planNodes("prod", {
    managers: { count: 3, size: "s-1vcpu-2gb" },
    workers: [
      { name: "web", count: 2, size: "s-1vcpu-1gb", labels: { "tier.name": "front" } },
      { name: "none", count: 0, size: "s-1vcpu-1gb" },
    ],
  });

  test("names are <cluster>-<pool>-<i>, managers first", () => {
    expect(nodes.map((n) => n.name)).toEqual([
      "prod-manager-0",
      "prod-manager-1",
      "prod-manager-2",
      "prod-web-0",
      "prod-web-1",
    ]);
    expect(nodes.map((n) => n.role)).toEqual(["manager", "manager", "manager", "worker", "worker"]);
  });

  test("labels include the pool; tags are DigitalOcean-safe", () => {
    expect(nodes[3].labels).toEqual(["do-swarm.pool=web", "tier.name=front"]);
    expect(nodes[3].tags).toEqual(["prod", "prod-worker", "prod-pool-web", "prod:tier_name:front"]);
    expect(allTags("prod", nodes)).toEqual([
      "prod",
      "prod-manager",
      "prod-pool-manager",
      "prod-worker",
      "prod-pool-web",
      "prod:tier_name:front",
    ]);
  });

  test("droplet names longer than a hostname (63) are refused, one problem per pool", () => {
    const cluster = "c".repeat(40);
    const long = planNodes(cluster, {
      managers: { count: 3, size: "s" },
      workers: [
        { name: "p".repeat(20), count: 11, size: "s" }, // <cluster>-ppp…-10: 64 characters
        { name: "db", count: 1, size: "s" },
      ],
    });
    expect(long.find((n) => n.key === `${"p".repeat(20)}-9`)!.name).toHaveLength(63); // fits exactly
    expect(hostnameProblems(cluster, long)).toEqual([
      `do-swarm:clusterName = "${cluster}" with do-swarm:workers[${"p".repeat(20)}].name = "${"p".repeat(20)}": ` +
        `droplet name "${cluster}-${"p".repeat(20)}-10" is 64 characters, and a hostname is at most 63: ` +
        "shorten the cluster name or the pool name by 1",
    ]);
    expect(hostnameProblems("prod", nodes)).toEqual([]);
    expect(MAX_HOSTNAME_LENGTH).toBe(63);
  });

  test("fault tolerance and cost", () => {
    expect([1, 3, 5, 7].map(faultTolerance)).toEqual([0, 1, 2, 3]);
    expect(monthlyCost(nodes, { "s-1vcpu-2gb": 12, "s-1vcpu-1gb": 6 })).toBe(48);
  });
});

describe("remote commands", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-remote-"));
  fs.writeFileSync(
    path.join(tmp, "probe.sh"),
    '#!/usr/bin/env bash\nset -euo pipefail\nprintf "%s|" "$@"\nread -r line\necho "stdin=$line"\nexit "${EXIT:-0}"\n',
  );

  test("the script runs with its arguments intact and the payload on stdin, then is removed", () => {
    const args = ["plain", "with space", "it's", "$(touch /tmp/pwned)", "*"];
    const run = spawnSync("bash", ["-c", scriptCommand("probe.sh", args, tmp)], {
      input: "SWMTKN-1-secret\n",
      cwd: tmp,
    });
    expect(run.status).toBe(0);
    expect(run.stdout.toString()).toBe(
      `plain|with space|it's|$(touch /tmp/pwned)|*|stdin=SWMTKN-1-secret\n`,
    );
    expect(fs.readdirSync("/tmp").filter((f) => /^do-swarm\.[A-Za-z0-9]{6}$/.test(f))).toEqual([]);
  });

  test("a failing script fails the command with its exit code", () => {
    const run = spawnSync(
      "bash",
      ["-c", `EXIT=3; export EXIT; ${scriptCommand("probe.sh", [], tmp)}`],
      { input: "x\n" },
    );
    expect(run.status).toBe(3);
  });

  test("the token never appears in the command, only arguments do", () => {
    const c = scriptCommand("swarm-join.sh", ["worker", "10.0.0.2", "10.0.0.1"], SCRIPTS_DIR);
    expect(c).toContain("bash \"$f\" 'worker' '10.0.0.2' '10.0.0.1'");
    expect(c).toContain(readScript("swarm-join.sh", SCRIPTS_DIR).trimEnd());
  });

  test("helpers a script sources from lib/ are inlined: the node has no lib/ directory", () => {
    const text = readScript("swarm-init.sh", SCRIPTS_DIR);
    expect(text).not.toContain('"$(dirname "$0")/lib/');
    expect(text).toContain(
      fs.readFileSync(path.join(SCRIPTS_DIR, "lib/peer-ssh.sh"), "utf8").trimEnd(),
    );
    // The same text runs from a temp file, far from the repository's lib/.
    const run = spawnSync("bash", ["-c", scriptCommand("swarm-init.sh", [], SCRIPTS_DIR)]);
    expect(run.stderr.toString()).toContain("usage: swarm-init.sh");
  });

  describe("the SSH key read from stdin (lib/peer-ssh.sh)", () => {
    const probe = (input: string) =>
      spawnSync(
        "bash",
        [
          "-c",
          `set -euo pipefail; . ${path.join(SCRIPTS_DIR, "lib/peer-ssh.sh")}
           if peer_read_key; then
             echo "key $(stat -c %a "$peer_keydir/key") $(stat -c %a "$peer_keydir") $peer_keydir"
           else echo "none"; fi
           peer_has_key && echo has || echo hasnt`,
        ],
        { input },
      );

    test("a key lands in a private file that is gone when the script exits", () => {
      const run = probe(TEST_PRIVATE_KEY);
      expect(run.status).toBe(0);
      const [first, second] = run.stdout.toString().trim().split("\n");
      const [word, fileMode, dirMode, dir] = first.split(" ");
      expect([word, fileMode, dirMode, second]).toEqual(["key", "600", "700", "has"]);
      expect(fs.existsSync(dir)).toBe(false);
    });

    test("no key on stdin: it says so and leaves nothing behind", () => {
      const before = fs.readdirSync("/dev/shm").filter((f) => f.startsWith("do-swarm-key."));
      const run = probe("");
      expect(run.stdout.toString()).toBe("none\nhasnt\n");
      const after = fs.readdirSync("/dev/shm").filter((f) => f.startsWith("do-swarm-key."));
      expect(after).toEqual(before);
    });
  });

  test("withFinalNewline", () => {
    expect(withFinalNewline("k")).toBe("k\n");
    expect(withFinalNewline("k\n")).toBe("k\n");
  });

  test("shellQuote", () => {
    expect(shellQuote("a'b")).toBe(`'a'"'"'b'`);
  });
});

describe("stack bundle", () => {
  test("round-trips text and binary files, sorted", () => {
    const files = {
      "stack.yml": "services: {}\n",
      "secrets/key-1a2b": Buffer.from([0, 255, 10, 13]),
    };
    const bundle = encodeBundle(files);
    expect(bundle.split("\n")[0]).toBe("secrets/key-1a2b AP8KDQ==");
    expect(decodeBundle(bundle)).toEqual({
      "stack.yml": Buffer.from("services: {}\n"),
      "secrets/key-1a2b": files["secrets/key-1a2b"],
    });
  });

  test.each(["/etc/passwd", "../x", "a/../../x", "has space"])(
    "refuses the unsafe path %p",
    (p) => {
      expect(() => encodeBundle({ [p]: "x" })).toThrow(/must be relative/);
    },
  );
});

test("encrypted overlays are found (ESP cannot cross DigitalOcean firewalls)", () => {
  const yaml = [
    "networks:",
    "  plain: {}",
    "  secure:",
    "    driver: overlay",
    "    driver_opts:",
    '      encrypted: ""',
    "  empty: null",
  ].join("\n");
  expect(encryptedNetworks(yaml)).toEqual(["secure"]);
  expect(encryptedNetworks("services: {}\n")).toEqual([]);
});
