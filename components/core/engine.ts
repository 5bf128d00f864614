/**
 * The Pulumi CLI (engine) this program needs. Every droplet carries resource hooks (rolling
 * resize, components/maintenance/maintenance.ts), and what the engine does with them changed over releases;
 * each step below is from pulumi/pulumi's CHANGELOG.md and source at the named release.
 */
import * as pulumi from "@pulumi/pulumi";

export const MIN_PULUMI_CLI = "3.238.0";

/** Why MIN_PULUMI_CLI: the release that brought each engine behaviour the hooks rely on. */
export const CLI_REQUIREMENTS: readonly { version: string; what: string }[] = [
  // 3.182.0: "[engine] Implement ResourceHooks in the engine" (#19874), with on_dry_run.
  { version: "3.182.0", what: "resource hooks (beforeUpdate, afterUpdate, onDryRun)" },
  // 3.238.0: "[engine] Fail the deployment when an after hook fails" (#22935); before, only a
  // warning, so a failed re-activation would leave a node drained behind a green `pulumi up`.
  { version: "3.238.0", what: "a failing after-hook fails the deployment" },
  // No error hooks (onError): the droplets carry none (maintenance.ts says why), so neither
  // 3.217.1 (error hooks) nor 3.244.0 (every provider error reaches them) is needed.
];

/** What the engine told the SDK it supports (SupportsFeature, asked before the program runs). */
export interface EngineFeatures {
  resourceHooks: boolean;
}

const UPGRADE =
  `do-swarm needs Pulumi CLI ${MIN_PULUMI_CLI} or newer: check with \`pulumi version\`, ` +
  "upgrade as on https://www.pulumi.com/docs/install/ (README, Prerequisites)";

/** The problem to report when the engine lacks a hook kind the program uses; [] otherwise. */
export function engineProblems(features: EngineFeatures | undefined): string[] {
  if (features === undefined) return []; // cannot tell: the SDK refuses the hooks itself later
  return features.resourceHooks
    ? []
    : [`the Pulumi CLI running this program has no resource hooks (added in 3.182.0): ${UPGRADE}`];
}

/** The SDK's per-run store: where it keeps the monitor's answers. Not a public API. */
interface SdkStore {
  supportsResourceHooks?: unknown;
}

/**
 * The engine's feature answers, read synchronously so they can be reported with the other
 * problems before any resource exists. The SDK asks the monitor (SupportsFeature) in
 * setRootResource, before it loads the program (runtime/settings.js awaitFeatureSupport, called
 * from runtime/stack.js before init), and keeps the answers in its internal store; there is no
 * public synchronous accessor. If a future SDK moves them, this returns undefined and the SDK's
 * own "does not support resource hooks" error still stops the run (later).
 */
export function engineFeatures(): EngineFeatures | undefined {
  let store: SdkStore | undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const state = require("@pulumi/pulumi/runtime/state") as { getStore?: () => SdkStore };
    store = state.getStore?.();
  } catch {
    return undefined;
  }
  if (typeof store?.supportsResourceHooks !== "boolean") return undefined;
  return { resourceHooks: store.supportsResourceHooks };
}

/**
 * Asks the engine to refuse the run if it is older than MIN_PULUMI_CLI (RequirePulumiVersion,
 * engines >= 3.217.0). Pulumi.yaml's `requiredPulumiVersion` already stops CLIs >= 3.219.0
 * before the program starts and engineProblems stops those before 3.182.0: this covers the
 * releases between. It is asynchronous, so it fails the run rather than preceding it.
 */
export function requireEngineVersion(): Promise<void> {
  return pulumi.runtime.requirePulumiVersion(`>=${MIN_PULUMI_CLI}`).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\n${UPGRADE}`);
  });
}
