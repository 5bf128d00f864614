/**
 * The edge: the user's domains routed to their stacks' services by a reverse proxy (Caddy) that
 * the program configures and deploys as a stack of its own. What it serves is decided by pure
 * functions (routes.ts: checks and sites; caddyfile.ts: the proxy config; stack.ts: the stack;
 * attach.ts: routed services joining its network); SwarmEdge only deploys the result.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { EdgeSettings } from "./config";
import type { PublicPort } from "../core/firewall";
import { scriptCommand } from "../core/remote";
import { withRenderHeader } from "../stacks/stackBundle";
import { STACKS_SCRIPTS } from "../stacks/swarmStack";
import { DEFAULT_VPC_IP_RANGE, renderCaddyfile, withBasicAuthHashes } from "./caddyfile";
import { EDGE_STACK, EdgeDomain, EdgeSite, planSites, routedServices } from "./routes";
import { EDGE_SCRIPTS, edgeBundle, EdgeStack, EdgeStackArgs, renderEdgeStack } from "./stack";

export { attachNetwork, withEdgeNetwork } from "../stacks/attach";
export type { NetworkAttachment } from "../stacks/attach";
export { renderCaddyfile } from "./caddyfile";
export { checkRoutes, EDGE_NETWORK, EDGE_STACK, servicePorts, upstreamName } from "./routes";
export type { EdgeDomain, EdgeSite, StackFacts } from "./routes";
export { renderEdgeStack } from "./stack";

/** Where traffic enters the cluster (do-swarm:entryPoint). */
export type EntryPointMode = "reservedIp" | "loadBalancer";

/** Everything the edge will be, decided before any resource exists. */
export interface EdgePlan {
  sites: EdgeSite[];
  caddyfile: string;
  stack: EdgeStack;
  /** Ports the edge publishes on its nodes: opened by the firewall (or the load balancer). */
  publicPorts: PublicPort[];
  /** Stack name -> the services the edge routes to, which join its network. */
  attachments: Map<string, string[]>;
  /** A stopping edge has its node's failover agent move the reserved IP first (stack.ts). */
  handOff: boolean;
  /** What the stack was rendered from besides the Caddyfile (SwarmEdge renders it again with the basic-auth hashes). */
  stackArgs: Omit<EdgeStackArgs, "caddyfile">;
  /** The config keys holding the basic-auth users' hashes (secret), in the Caddyfile as placeholders. */
  basicAuthKeys: string[];
}

/**
 * The edge for these routes. At the reserved IP the edge terminates TLS itself for `https`
 * domains (ACME HTTP-01) and runs on the managers, one of which holds the IP. Behind the load
 * balancer, TLS ends at the load balancer (its managed certificate, which never expires under
 * the edge's feet), the edge serves HTTP on every node the load balancer targets, and trusts the
 * X-Forwarded-Proto the balancer sets.
 */
export function planEdge(
  edge: EdgeSettings,
  domains: readonly EdgeDomain[],
  entryPoint: EntryPointMode = "reservedIp",
  /** Whether the failover agent runs on the managers (do-swarm:failoverToken is set). */
  failoverAgent = false,
  /** do-swarm:vpcIpRange: behind the load balancer, the only source trusted for X-Forwarded-*. */
  vpcIpRange: string = DEFAULT_VPC_IP_RANGE,
): EdgePlan {
  const behindLoadBalancer = entryPoint === "loadBalancer";
  const sites = planSites(edge.routes, domains, !behindLoadBalancer, edge.hsts !== false);
  const caddyfile = renderCaddyfile({
    sites,
    email: edge.email,
    behindLoadBalancer,
    vpcIpRange,
    securityHeaders: edge.securityHeaders,
    compression: edge.compression,
    accessLog: edge.accessLog,
  });
  const https = sites.some((s) => s.https);
  // Only at the reserved IP: the load balancer sends to every node and takes one out by its
  // health check.
  const handOff = !behindLoadBalancer && failoverAgent;
  const stackArgs: Omit<EdgeStackArgs, "caddyfile"> = {
    image: edge.image,
    placement: behindLoadBalancer ? "all" : "managers",
    https,
    handOff,
  };
  const stack = renderEdgeStack({ caddyfile, ...stackArgs });
  const basicAuthKeys = [
    ...new Set(
      sites.flatMap((site) =>
        site.routes.flatMap((r) => ("basicAuth" in r ? (r.basicAuth ?? []) : []).map((u) => u.key)),
      ),
    ),
  ].sort();
  const publicPorts: PublicPort[] = [80, ...(https ? [443] : [])].map((port) => ({
    port,
    protocol: "tcp",
    source: "the edge (do-swarm:edge)",
  }));
  return {
    sites,
    caddyfile,
    stack,
    publicPorts,
    attachments: routedServices(edge.routes),
    handOff,
    stackArgs,
    basicAuthKeys,
  };
}

/**
 * The edge's deploy: stack-deploy.sh (reads the bundle on stdin), then, only once it succeeded,
 * edge-prune-configs.sh, which removes the Caddyfiles (docker configs, named by content) no
 * service uses any more; it never fails the deploy. Each in a subshell of its own (each script
 * command sets its own EXIT trap for its temp file).
 */
export function edgeDeployCommand(timeoutSeconds: number): string {
  const deploy = scriptCommand(
    "stack-deploy.sh",
    [EDGE_STACK, String(timeoutSeconds)],
    STACKS_SCRIPTS,
  );
  const prune = scriptCommand("edge-prune-configs.sh", [EDGE_STACK], EDGE_SCRIPTS);
  return `(\n${deploy}\n) && { (\n${prune}\n) </dev/null || true; }`;
}

function missing(key: string): never {
  throw new Error(`SwarmEdge: no basicAuthHashes entry for config key ${key}`);
}

/** Ports the stacks publish that the edge needs for itself. */
export function portConflicts(
  edgePorts: readonly PublicPort[],
  stackPorts: readonly PublicPort[],
): string[] {
  return stackPorts
    .filter((p) => p.protocol === "tcp" && edgePorts.some((e) => e.port === p.port))
    .map(
      (p) =>
        `${p.source ?? "a stack"} publishes ${p.port}/tcp, which the edge publishes on the entry nodes: route the service through do-swarm:edge and remove the published port`,
    );
}

/** Default seconds stack-deploy.sh waits for the edge to converge. */
export const EDGE_DEPLOY_TIMEOUT_SECONDS = 300;

export interface SwarmEdgeArgs {
  /** The plan (planEdge). */
  plan: EdgePlan;
  /** SSH connection to a manager. */
  connection: command.types.input.remote.ConnectionArgs;
  /** Resources that must exist first: the cluster's bootstrap. @default [] */
  after?: pulumi.Input<pulumi.Resource>[];
  /** The swarm's cluster ID: a swarm created anew gets the edge again. @default none */
  clusterId?: pulumi.Input<string>;
  /** Seconds the deploy waits for every edge task to run. @default 300 */
  timeoutSeconds?: number;
  /**
   * The basic-auth users' bcrypt hashes by config key (plan.basicAuthKeys; index.ts reads them
   * with requireSecret). @default {}
   */
  basicAuthHashes?: Record<string, pulumi.Input<string>>;
}

/**
 * The edge stack on the swarm, deployed like any stack (stack-deploy.sh, which fails when swarm
 * rolled the edge back). The ACME account key and the certificates are made on the nodes, in
 * the edge's volume, and never pass through Pulumi; the only secret the bundle can hold is the
 * basic-auth users' bcrypt hashes, and then the bundle is secret.
 */
export class SwarmEdge extends pulumi.ComponentResource {
  readonly caddyfile: string;
  readonly deploy: command.remote.Command;

  constructor(name: string, args: SwarmEdgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("do-swarm:index:SwarmEdge", name, {}, opts);
    const { plan } = args;
    this.caddyfile = plan.caddyfile;
    // Preview shows the stack and the Caddyfile as a line diff; either changing redeploys.
    // With basic auth, the Caddyfile the nodes get holds the users' hashes: it is rendered
    // again with them, and the bundle (stdin) is secret. What is shown keeps the placeholders
    // ([secret:KEY]); the stack shown is the real one (it holds no hash, but names the
    // Caddyfile's docker config by the real file's content), so a new hash in the same key
    // shows as a new config name in the preview and redeploys.
    const real =
      plan.basicAuthKeys.length === 0
        ? pulumi.output(plan.stack)
        : pulumi
            .all(
              Object.fromEntries(
                plan.basicAuthKeys.map((k) => [k, args.basicAuthHashes?.[k] ?? missing(k)]),
              ),
            )
            .apply((hashes) =>
              renderEdgeStack({
                ...plan.stackArgs,
                caddyfile: withBasicAuthHashes(
                  plan.caddyfile,
                  Object.fromEntries(Object.entries(hashes).map(([k, v]) => [k, v.trim()])),
                ),
              }),
            );
    const readable = pulumi
      .unsecret(real.apply((stack) => stack.yaml))
      .apply((yaml) => `${yaml}# Caddyfile:\n${plan.caddyfile.replace(/^/gm, "# ")}`);
    const deploy = pulumi
      .all([args.clusterId, readable])
      .apply(([clusterId, text]) =>
        withRenderHeader(
          EDGE_STACK,
          clusterId,
          text,
          edgeDeployCommand(args.timeoutSeconds ?? EDGE_DEPLOY_TIMEOUT_SECONDS),
        ),
      );
    const stdin =
      plan.basicAuthKeys.length === 0
        ? edgeBundle(plan.stack)
        : pulumi.secret(real.apply((stack) => edgeBundle(stack)));
    this.deploy = new command.remote.Command(
      `${name}-deploy`,
      {
        connection: args.connection,
        create: deploy,
        update: deploy,
        delete: scriptCommand("stack-rm.sh", [EDGE_STACK], STACKS_SCRIPTS),
        stdin,
      },
      { parent: this, dependsOn: args.after ?? [] },
    );
    this.registerOutputs({ caddyfile: this.caddyfile });
  }
}
