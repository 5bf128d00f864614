/**
 * The program's checks, run before any resource exists (index.ts reads the config once and
 * passes it in): the config of every capability (swarm/config.ts validateConfig), then what
 * only the whole program can check (the stacks as rendered, their ports, the edge's routes).
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import {
  checkEntryPointPorts,
  checkVolumeNames,
  ClusterConfig,
  ConfigError,
  RawConfig,
  StackConfig,
  validateConfig,
  volumeGroupsOf,
} from "../swarm/config";
import { secretEnvKeys, unknownConfigKeyProblems } from "../core/configKeys";
import { engineFeatures, engineProblems } from "../core/engine";
import { checkPublicPorts, PublicPort } from "../core/firewall";
import { hostnameProblems, planNodes } from "../core/nodes";
import { basicAuthKeys, isBcryptHash, validateEdge } from "../edge/config";
import { validateEntryPoint } from "../entryPoint/config";
import { alertsSecretKeys, webhookProblems, wellFormedSlack } from "../alerts/config";
import { encryptedNetworks, planStackRender } from "../stacks/stackBundle";
import { checkRoutes, EdgePlan, planEdge, portConflicts, servicePorts, StackFacts } from "../edge";

/** What validateAll reads: index.ts reads the config once and passes it in. */
export interface ProgramInput {
  raw: RawConfig;
  clusterName: string;
  /** Where relative stack files are (the project's directory). */
  projectDir: string;
  /** A key of this project's config (`new pulumi.Config().get`). */
  getKey: (key: string) => string | undefined;
  /** Every config key set (`pulumi.runtime.allConfig()`), with the project's name. */
  allConfig: Record<string, string>;
  project: string;
}

export const registryServer = (name: string | undefined) =>
  name === undefined ? undefined : `registry.digitalocean.com/${name}`;

/**
 * Everything is checked before any resource exists, and every problem is reported at once:
 * the config, then each stack's file (rendered with placeholders for its secrets), then the
 * ports the stacks would open in the firewall, then the edge's routes against the stacks as
 * rendered and the domains.
 */
export function validateAll(input: ProgramInput): {
  cfg: ClusterConfig;
  publicPorts: PublicPort[];
  edge?: EdgePlan;
} {
  const { raw, clusterName, projectDir } = input;
  const problems: string[] = [];
  let cfg: ClusterConfig | undefined;
  let stacks: StackConfig[] = [];
  try {
    cfg = validateConfig(raw);
    stacks = cfg.stacks;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(...e.problems);
    stacks = e.wellFormedStacks;
  }
  if (!/^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$/.test(clusterName)) {
    problems.push(
      `do-swarm:clusterName = ${JSON.stringify(clusterName)}: use a lowercase DNS label (a-z, 0-9, '-')`,
    );
  } else if (cfg !== undefined) {
    problems.push(...hostnameProblems(clusterName, planNodes(clusterName, cfg)));
  }
  problems.push(...checkVolumeNames(clusterName, volumeGroupsOf(raw)));
  const publicPorts: PublicPort[] = [];
  const facts: StackFacts[] = [];
  for (const stack of stacks) {
    for (const [variable, key] of Object.entries(stack.secretEnv ?? {})) {
      if (input.getKey(key) === undefined) {
        problems.push(
          `do-swarm:stacks[${stack.name}].secretEnv.${variable} names config key '${key}', which is not set: pulumi config set --secret ${key} VALUE`,
        );
      }
    }
    try {
      const { result: rendered } = planStackRender(
        stack,
        projectDir,
        registryServer(typeof raw.registry === "string" ? raw.registry : undefined),
      );
      rendered.warnings.forEach((w) => pulumi.log.warn(`stack ${stack.name}: ${w}`));
      for (const network of encryptedNetworks(rendered.yaml)) {
        pulumi.log.warn(
          `stack ${stack.name}: network ${network} is an encrypted overlay; swarm encrypts it with IPsec ESP ` +
            "(IP protocol 50), which DigitalOcean cloud firewalls cannot allow, so traffic on it between " +
            "droplets is likely dropped. Remove the encrypted option (the VPC is private) or test it first.",
        );
      }
      facts.push({
        name: stack.name,
        file: [stack.file].flat().join(" + "),
        services: servicePorts(rendered.yaml, readSources(stack.file, projectDir)),
      });
      publicPorts.push(
        ...rendered.publishedPorts.map((p) => ({
          port: p.port,
          protocol: p.protocol,
          source: `stack ${stack.name}, service ${p.service}`,
        })),
      );
    } catch (e) {
      const list = (e as { problems?: string[] }).problems;
      problems.push(
        ...(list ?? [(e as Error).message]).map(
          (p) => `do-swarm:stacks[${stack.name}] (${[stack.file].flat().join(" + ")}): ${p}`,
        ),
      );
    }
  }
  problems.push(...checkPublicPorts(publicPorts));
  // The alerts' Slack webhook is a secret key the setting names: set, and an https URL
  // (checked when the setting is well formed, even if other settings are not).
  const slack = wellFormedSlack(raw.alerts);
  if (slack !== undefined) problems.push(...webhookProblems(slack, input.getKey(slack.urlKey)));
  // A mistyped key would be ignored silently; keys a stack's secretEnv (or the alerts' Slack
  // webhook) names are known too.
  problems.push(
    ...unknownConfigKeyProblems(input.allConfig, input.project, [
      ...secretEnvKeys(raw.stacks),
      ...alertsSecretKeys(raw.alerts),
      ...basicAuthKeys(raw.edge),
    ]),
  );
  // Each basic-auth user's hash: set, and a bcrypt hash (its value never enters a message).
  for (const key of new Set(basicAuthKeys(raw.edge))) {
    const value = input.getKey(key);
    if (value === undefined) {
      problems.push(
        `do-swarm:edge basicAuth names config key '${key}', which is not set: pulumi config set --secret ${key} "$(caddy hash-password)"`,
      );
    } else if (!isBcryptHash(value.trim())) {
      problems.push(
        `do-swarm:${key} (a basicAuth user's hash) is not a bcrypt hash (value not shown): set the output of caddy hash-password, e.g. pulumi config set --secret ${key} "$(caddy hash-password)"`,
      );
    }
  }
  problems.push(...engineProblems(engineFeatures()));
  // The routes are checked even when the config has problems (with what of it is well formed),
  // so that one run reports everything.
  const routing = cfg ? { ...cfg, stackNames: cfg.stacks.map((s) => s.name) } : wellFormedEdge(raw);
  let edge: EdgePlan | undefined;
  if (routing.edge.routes.length > 0) {
    edge = planEdge(
      routing.edge,
      routing.domains,
      routing.entryPoint,
      raw.failoverToken !== undefined,
      routing.vpcIpRange,
    );
    problems.push(
      ...checkRoutes(routing.edge.routes, {
        stacks: facts,
        domains: routing.domains,
        configured: routing.stackNames,
      }),
      ...portConflicts(edge.publicPorts, publicPorts),
    );
    publicPorts.push(...edge.publicPorts);
  }
  if (cfg !== undefined) problems.push(...checkEntryPointPorts(cfg, publicPorts));
  if (problems.length > 0 || cfg === undefined) throw new ConfigError(problems);
  return { cfg, publicPorts, edge };
}

/** What of the edge, the domains and the stack names is well formed (their problems are reported). */
function wellFormedEdge(raw: RawConfig) {
  const ignore = () => undefined;
  const stacks = Array.isArray(raw.stacks) ? (raw.stacks as unknown[]) : [];
  return {
    edge: validateEdge(raw.edge, ignore) ?? { routes: [], image: "" },
    ...validateEntryPoint(raw, "unset", ignore, []),
    vpcIpRange: typeof raw.vpcIpRange === "string" ? raw.vpcIpRange : undefined,
    stackNames: stacks.flatMap((x) =>
      typeof (x as { name?: unknown })?.name === "string" ? [(x as { name: string }).name] : [],
    ),
  };
}

/** A stack's compose files as written (for what the render drops, such as expose:). */
function readSources(file: string | string[], projectDir: string): string[] {
  return [file].flat().flatMap((f) => {
    try {
      return [fs.readFileSync(path.resolve(projectDir, f), "utf8")];
    } catch {
      return []; // the render has reported it
    }
  });
}
