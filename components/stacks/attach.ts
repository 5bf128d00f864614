/**
 * A post-render step on a user's stack: the services the edge routes to join the edge's overlay
 * network, so the edge reaches their tasks by name and they need not publish any port. Works on
 * the rendered text as a YAML document, so everything else (quoting, `$$` escapes, key order)
 * stays byte for byte as the renderer wrote it.
 */
import { isMap, isSeq, parseDocument, YAMLMap, YAMLSeq } from "yaml";
import type { RenderResult } from "../compose";

/**
 * The overlay network routed services join (the edge's, re-exported by edge/routes.ts): here, as
 * the edge deploys with the stacks' bundle and scripts, so the stacks are on the floor below it.
 */
export const EDGE_NETWORK = "do-swarm-edge";

/** Which services of one stack join which external network. */
export interface NetworkAttachment {
  /** @default EDGE_NETWORK */
  network?: string;
  services: readonly string[];
}

/**
 * Adds the network to each named service and declares it external at the top level. A service
 * without `networks:` is on the stack's `default` network; it keeps that (its siblings still
 * reach it) and gains the edge's. Throws on a service the stack does not have.
 */
export function attachNetwork(yaml: string, attach: NetworkAttachment): string {
  const network = attach.network ?? EDGE_NETWORK;
  if (attach.services.length === 0) return yaml;
  const doc = parseDocument(yaml, { version: "1.1" });
  const services = doc.get("services");
  if (!isMap(services)) throw new Error("the rendered stack has no services");
  for (const name of attach.services) {
    const svc = services.get(name);
    if (!isMap(svc)) throw new Error(`the rendered stack has no service ${name}`);
    const nets = svc.get("networks");
    if (nets === undefined || nets === null) {
      svc.set("networks", doc.createNode(["default", network]));
    } else if (isSeq(nets)) {
      if (
        !(nets as YAMLSeq).items.some(
          (n) => String((n as { value?: unknown }).value ?? n) === network,
        )
      ) {
        nets.add(doc.createNode(network));
      }
    } else if (isMap(nets)) {
      if (!(nets as YAMLMap).has(network)) nets.set(network, doc.createNode({}));
    }
  }
  let top = doc.get("networks");
  if (!isMap(top)) {
    doc.set("networks", doc.createNode({}));
    top = doc.get("networks");
  }
  (top as YAMLMap).set(network, doc.createNode({ external: true, name: network }));
  return doc.toString({ lineWidth: 0, indentSeq: true, defaultStringType: "PLAIN" });
}

/** The same on a render result (preview or real): only its stack file changes. */
export function withEdgeNetwork(result: RenderResult, attach?: NetworkAttachment): RenderResult {
  if (attach === undefined || attach.services.length === 0) return result;
  return { ...result, yaml: attachNetwork(result.yaml, attach) };
}
