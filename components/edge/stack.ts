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
 */
import { createHash } from "crypto";
import { Document } from "yaml";
import { encodeBundle } from "../stackBundle";
import { HEALTH_PATH, INTERNAL_PORT } from "./caddyfile";
import { EDGE_NETWORK } from "./routes";

export interface EdgeStackArgs {
  /** The rendered Caddyfile. */
  caddyfile: string;
  /** The Caddy image. */
  image: string;
  /** Where the edge runs: the managers (reserved IP) or every node (load balancer). */
  placement: "managers" | "all";
  /** Publish 443 (the edge terminates TLS). */
  https: boolean;
}

export interface EdgeStack {
  /** stack.yml */
  yaml: string;
  /** Files stack.yml refers to, by relative path. */
  files: Record<string, string>;
}

/** Seconds in-flight requests get when an edge stops; longer than Caddy's own grace period. */
const STOP_GRACE = "15s";

export function renderEdgeStack(args: EdgeStackArgs): EdgeStack {
  // Configs are immutable in swarm: a changed Caddyfile is a new config, named by its content.
  const hash = createHash("sha256").update(args.caddyfile).digest("hex").slice(0, 12);
  const configName = `caddyfile_${hash}`;
  const ports = [80, ...(args.https ? [443] : [])].map((p) => ({
    target: p,
    published: p,
    protocol: "tcp",
    mode: "host",
  }));
  const stack = {
    version: "3.8",
    services: {
      caddy: {
        image: args.image,
        command: ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"],
        configs: [{ source: configName, target: "/etc/caddy/Caddyfile", mode: 0o444 }],
        ports,
        // /data holds the ACME account and certificates; /config Caddy's autosave.
        volumes: ["caddy_data:/data", "caddy_config:/config"],
        networks: [EDGE_NETWORK],
        healthcheck: {
          test: [
            "CMD",
            "wget",
            "-q",
            "-O",
            "/dev/null",
            `http://127.0.0.1:${INTERNAL_PORT}${HEALTH_PATH}`,
          ],
          interval: "2s",
          timeout: "2s",
          retries: 3,
          start_period: "5s",
        },
        stop_grace_period: STOP_GRACE,
        deploy: {
          mode: "global",
          ...(args.placement === "managers"
            ? { placement: { constraints: ["node.role == manager"] } }
            : {}),
          // A host port is held by one task per node: the old edge stops before the new one
          // starts there. Config changes of the routes are the common update (see README).
          update_config: {
            parallelism: 1,
            delay: "5s",
            order: "stop-first",
            failure_action: "rollback",
            monitor: "10s",
          },
          rollback_config: { parallelism: 1, order: "stop-first", failure_action: "pause" },
          restart_policy: { condition: "any", delay: "1s" },
        },
      },
    },
    networks: {
      // Named explicitly, so other stacks find it as an external network by this name.
      [EDGE_NETWORK]: { name: EDGE_NETWORK, driver: "overlay", attachable: true },
    },
    volumes: { caddy_data: {}, caddy_config: {} },
    configs: { [configName]: { file: "./Caddyfile" } },
  };
  const yaml = new Document(stack).toString({ lineWidth: 0, indentSeq: true });
  return { yaml, files: { Caddyfile: args.caddyfile } };
}

/** What stack-deploy.sh reads on stdin for the edge. Nothing in it is secret. */
export function edgeBundle(stack: EdgeStack): string {
  return encodeBundle({ "stack.yml": stack.yaml, ...stack.files });
}
