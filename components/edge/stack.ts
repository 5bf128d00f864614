/**
 * The edge as a compose stack of its own (`do-swarm-edge`), rendered by a pure function: one
 * Caddy per entry node, publishing 80 (and 443 when it terminates TLS) in host mode, on the
 * overlay network that routed services join.
 *
 * Why host mode, one per node: the entry point delivers every request to a node (the reserved IP
 * to the manager holding it; the load balancer to any node), and the edge on that node answers
 * it directly: no second hop through the routing mesh, the client's address intact, and the
 * edge that receives a TLS handshake is the one that receives the ACME challenge it causes (see
 * caddyfile.ts). Certificates live in a volume on each node, so they survive a restart of the
 * edge; each node keeps its own, so the IP moving to another manager and back issues nothing.
 *
 * An edge that stops on the node holding the reserved IP (an image change, the node drained)
 * first has the IP moved to another manager, whose edge serves, and stops only then (handOff:
 * its node's failover agent moves it). So nothing is refused where the IP points; the move
 * resets only connections a client holds open and idle at that instant (README, "Domains and
 * HTTPS", has the lab's figures).
 * Behind the load balancer, a stopping edge first fails the balancer's health check for
 * LOAD_BALANCER_DRAIN_SECONDS, serving meanwhile, so the balancer stops sending to it first.
 *
 * Two services, so that a change of the routes never replaces a Caddy task. A host port is one
 * task's per node, so a replaced Caddy task means a gap on that node (stop-first). Hence:
 * - `caddy` carries no Caddyfile: its spec (image, ports, the wrapper script edge-caddy.sh)
 *   changes only with `edge.image` or the published ports (https on or off, the entry point's
 *   mode), the rare updates that still replace its tasks, one node at a time, stop-first;
 * - `config` carries the Caddyfile (a docker config named by its content): a new route is a new
 *   task of this service on each node, start-first, which validates the file, installs it in the
 *   node's volume `edge_conf`, and is healthy once the node's Caddy reloaded it in place
 *   (edge-config.sh, edge-caddy.sh). A file Caddy refuses fails that task, so swarm rolls the
 *   update back and stack-deploy.sh fails the deploy.
 */
import { createHash } from "crypto";
import * as path from "path";
import { Document } from "yaml";
import { readScript } from "../core/remote";
import { encodeBundle } from "../stacks/stackBundle";
import { LOAD_BALANCER_CHECK_TIMING } from "../entryPoint/entryPointPlan";
import { HEALTH_PATH, INTERNAL_PORT, SHARED_DIR } from "./caddyfile";
import { EDGE_NETWORK } from "./routes";

/** The scripts this capability sends to the nodes (the lab runs the very same files). */
export const EDGE_SCRIPTS = path.join(__dirname, "scripts");

export interface EdgeStackArgs {
  /** The rendered Caddyfile. */
  caddyfile: string;
  /** The Caddy image. */
  image: string;
  /** Where the edge runs: the managers (reserved IP) or every node (load balancer). */
  placement: "managers" | "all";
  /** Publish 443 (the edge terminates TLS). */
  https: boolean;
  /**
   * A failover agent runs on every edge node (the reserved IP with failoverToken): an edge that
   * stops first asks it to move the IP off its node (edge-caddy.sh, failover-agent.sh), and
   * stops only once that is done or HANDOFF_WAIT_SECONDS passed. @default false
   */
  handOff?: boolean;
}

export interface EdgeStack {
  /** stack.yml */
  yaml: string;
  /** Files stack.yml refers to, by relative path. */
  files: Record<string, string>;
}

/** Seconds in-flight requests get when an edge stops; longer than Caddy's own grace period. */
const STOP_GRACE_SECONDS = 15;
/**
 * Seconds a stopping edge waits for its node's failover agent to move the reserved IP away
 * (the agent answers within a round, about a second, when its node does not hold the IP; a
 * move takes DigitalOcean a few seconds). It serves all along, so waiting costs only time.
 */
export const HANDOFF_WAIT_SECONDS = 45;
/**
 * Behind the load balancer: seconds a stopping edge answers the balancer's health check with
 * 503 (serving every site meanwhile) before it stops: until the balancer took the node out
 * (unhealthyThreshold failed checks, checkIntervalSeconds apart), and one interval more.
 */
export const LOAD_BALANCER_DRAIN_SECONDS =
  LOAD_BALANCER_CHECK_TIMING.checkIntervalSeconds *
  (LOAD_BALANCER_CHECK_TIMING.unhealthyThreshold + 1);
/**
 * Behind the load balancer: seconds between one node's new edge running and the next node's
 * edge starting to drain. The balancer puts a node back after healthyThreshold passed checks
 * (at most one interval more), and takes the next one out only after unhealthyThreshold failed
 * ones: with this delay, the first is back before the second is out, so at most one node is
 * out of the balancer's rotation at a time.
 */
export const LOAD_BALANCER_UPDATE_DELAY_SECONDS =
  LOAD_BALANCER_CHECK_TIMING.checkIntervalSeconds * LOAD_BALANCER_CHECK_TIMING.healthyThreshold;
/** Where the scripts and the Caddyfile are mounted (docker configs). */
const MOUNT_DIR = "/do-swarm";
/** What the config task creates once the node's Caddy runs its file; its healthcheck tests it. */
const READY_FILE = "/tmp/do-swarm-edge-ready";
/**
 * Seconds a config task waits for the node's Caddy to load its file before it fails (and swarm
 * rolls back); long enough for a Caddy task that is itself being replaced (an image change at
 * the same time) to start. Caddy's wrapper waits as long for the first file.
 */
export const CONFIG_LOAD_TIMEOUT_SECONDS = 90;

/** A docker config's name for a content: configs are immutable, so a new content, a new name. */
function contentName(prefix: string, content: string): string {
  return `${prefix}_${createHash("sha256").update(content).digest("hex").slice(0, 12)}`;
}

export function renderEdgeStack(args: EdgeStackArgs): EdgeStack {
  const files = {
    Caddyfile: args.caddyfile,
    "edge-caddy.sh": readScript("edge-caddy.sh", EDGE_SCRIPTS),
    "edge-config.sh": readScript("edge-config.sh", EDGE_SCRIPTS),
  };
  const names = {
    caddyfile: contentName("caddyfile", files.Caddyfile),
    caddySh: contentName("edge_caddy_sh", files["edge-caddy.sh"]),
    configSh: contentName("edge_config_sh", files["edge-config.sh"]),
  };
  const ports = [80, ...(args.https ? [443] : [])].map((p) => ({
    target: p,
    published: p,
    protocol: "tcp",
    mode: "host",
  }));
  const placement =
    args.placement === "managers" ? { placement: { constraints: ["node.role == manager"] } } : {};
  const health = `http://127.0.0.1:${INTERNAL_PORT}${HEALTH_PATH}`;
  const handOff = args.handOff === true ? HANDOFF_WAIT_SECONDS : 0;
  const behindLoadBalancer = args.placement === "all";
  const drain = behindLoadBalancer ? LOAD_BALANCER_DRAIN_SECONDS : 0;
  const caddy = {
    image: args.image,
    command: [
      "/bin/sh",
      `${MOUNT_DIR}/edge-caddy.sh`,
      SHARED_DIR,
      health,
      "120",
      "1",
      String(handOff),
      String(drain),
    ],
    configs: [{ source: names.caddySh, target: `${MOUNT_DIR}/edge-caddy.sh`, mode: 0o444 }],
    ports,
    // /data holds the ACME account and certificates; /config Caddy's autosave.
    volumes: ["caddy_data:/data", "caddy_config:/config", `edge_conf:${SHARED_DIR}`],
    networks: [EDGE_NETWORK],
    healthcheck: {
      test: ["CMD", "wget", "-q", "-O", "/dev/null", health],
      interval: "2s",
      timeout: "2s",
      retries: 3,
      // A new node's Caddy first waits for the config task to install its file.
      start_period: "30s",
    },
    stop_grace_period: `${handOff + drain + STOP_GRACE_SECONDS}s`,
    deploy: {
      mode: "global",
      ...placement,
      // A host port is held by one task per node: the old edge stops before the new one starts
      // there. Only an image or port change gets here (see above); routes reload in place.
      update_config: {
        parallelism: 1,
        delay: behindLoadBalancer ? `${LOAD_BALANCER_UPDATE_DELAY_SECONDS}s` : "5s",
        order: "stop-first",
        failure_action: "rollback",
        monitor: "10s",
      },
      rollback_config: { parallelism: 1, order: "stop-first", failure_action: "pause" },
      restart_policy: { condition: "any", delay: "1s" },
    },
  };
  const config = {
    // The edge's own image: `caddy validate` is the very Caddy that will load the file.
    image: args.image,
    command: [
      "/bin/sh",
      `${MOUNT_DIR}/edge-config.sh`,
      `${MOUNT_DIR}/Caddyfile`,
      SHARED_DIR,
      READY_FILE,
      String(CONFIG_LOAD_TIMEOUT_SECONDS),
    ],
    configs: [
      { source: names.caddyfile, target: `${MOUNT_DIR}/Caddyfile`, mode: 0o444 },
      { source: names.configSh, target: `${MOUNT_DIR}/edge-config.sh`, mode: 0o444 },
    ],
    volumes: [`edge_conf:${SHARED_DIR}`],
    // It listens on nothing; on the edge's network rather than a default network of its own.
    networks: [EDGE_NETWORK],
    healthcheck: {
      test: ["CMD", "test", "-f", READY_FILE],
      interval: "2s",
      timeout: "2s",
      retries: 3,
      // Unhealthy only after the script itself would have given up.
      start_period: `${CONFIG_LOAD_TIMEOUT_SECONDS + 30}s`,
    },
    stop_grace_period: "5s",
    deploy: {
      mode: "global",
      ...placement,
      // Start-first: the new task installs while the old one (which only sleeps) still runs.
      // A task that fails (file refused: nothing installed; not loaded in time: the previous
      // file put back) rolls the whole update back: nodes already updated get a task of the
      // previous spec, which installs the previous file again.
      update_config: {
        parallelism: 1,
        delay: "0s",
        order: "start-first",
        failure_action: "rollback",
        monitor: "5s",
      },
      rollback_config: {
        parallelism: 1,
        order: "start-first",
        failure_action: "pause",
        monitor: "5s",
      },
      restart_policy: { condition: "on-failure", delay: "5s" },
    },
  };
  const stack = {
    version: "3.8",
    services: { caddy, config },
    networks: {
      // Named explicitly, so other stacks find it as an external network by this name.
      [EDGE_NETWORK]: { name: EDGE_NETWORK, driver: "overlay", attachable: true },
    },
    // Local volumes: one of each per node.
    volumes: { caddy_data: {}, caddy_config: {}, edge_conf: {} },
    configs: {
      [names.caddyfile]: { file: "./Caddyfile" },
      [names.caddySh]: { file: "./edge-caddy.sh" },
      [names.configSh]: { file: "./edge-config.sh" },
    },
  };
  const yaml = new Document(stack).toString({ lineWidth: 0, indentSeq: true });
  return { yaml, files };
}

/** What stack-deploy.sh reads on stdin for the edge. Nothing in it is secret. */
export function edgeBundle(stack: EdgeStack): string {
  return encodeBundle({ "stack.yml": stack.yaml, ...stack.files });
}
