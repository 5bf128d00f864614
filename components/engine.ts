/**
 * The Pulumi CLI (engine) this program needs. Every droplet carries resource hooks (rolling
 * resize, components/maintenance.ts), and what the engine does with them changed over releases;
 * each step below is from pulumi/pulumi's CHANGELOG.md and source at the named release.
 */
import * as pulumi from "@pulumi/pulumi";

export const MIN_PULUMI_CLI = "3.244.0";

/** Why MIN_PULUMI_CLI: the release that brought each engine behaviour the hooks rely on. */
export const CLI_REQUIREMENTS: readonly { version: string; what: string }[] = [
  // 3.182.0: "[engine] Implement ResourceHooks in the engine" (#19874), with on_dry_run.
  { version: "3.182.0", what: "resource hooks (beforeUpdate, afterUpdate, onDryRun)" },
  // 3.217.0 added the OnError hook (#21291) but its monitor answered SupportsFeature("errorHooks")
  // with false until #21515 (3.217.1), and the Node SDK refuses error hooks without it.
  { version: "3.217.1", what: "error hooks (onError)" },
  // 3.238.0: "[engine] Fail the deployment when an after hook fails" (#22935); before, only a
  // warning, so a failed re-activation would leave a node drained behind a green `pulumi up`.
  { version: "3.238.0", what: "a failing after-hook fails the deployment" },
  // 3.244.0: "[engine] Forward all provider errors to error hooks for retry" (#23347); before,
  // only partial failures reached onError, so a plain failed resize kept the resize lock.
  { version: "3.244.0", what: "every failed update reaches the onError hook" },
];

/** What the engine told the SDK it supports (SupportsFeature, asked before the program runs). */
export interface EngineFeatures {
  resourceHooks: boolean;
  errorHooks: boolean;
}

const UPGRADE =
  `do-swarm needs Pulumi CLI ${MIN_PULUMI_CLI} or newer: check with \`pulumi version\`, ` +
  "upgrade as on https://www.pulumi.com/docs/install/ (README, Prerequisites)";

/** The problem to report when the engine lacks a hook kind the program uses; [] otherwise. */
export function engineProblems(features: EngineFeatures | undefined): string[] {
  if (features === undefined) return []; // cannot tell: the SDK refuses the hooks itself later
  const missing = [
    ...(features.resourceHooks ? [] : ["resource hooks (added in 3.182.0)"]),
    ...(features.errorHooks ? [] : ["error hooks (added in 3.217.1)"]),
  ];
  return missing.length === 0
    ? []
    : [`the Pulumi CLI running this program has no ${missing.join(" and ")}: ${UPGRADE}`];
}

/** The SDK's per-run store: where it keeps the monitor's answers. Not a public API. */
interface SdkStore {
  supportsResourceHooks?: unknown;
  supportsErrorHooks?: unknown;
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
  if (
    typeof store?.supportsResourceHooks !== "boolean" ||
    typeof store.supportsErrorHooks !== "boolean"
  ) {
    return undefined;
  }
  return { resourceHooks: store.supportsResourceHooks, errorHooks: store.supportsErrorHooks };
}

/**
 * Asks the engine to refuse the run if it is older than MIN_PULUMI_CLI (RequirePulumiVersion,
 * engines >= 3.217.0). Pulumi.yaml's `requiredPulumiVersion` already stops CLIs >= 3.219.0
 * before the program starts and engineProblems stops those before 3.217.1: this covers the two
 * releases between. It is asynchronous, so it fails the run rather than preceding it.
 */
export function requireEngineVersion(): Promise<void> {
  return pulumi.runtime.requirePulumiVersion(`>=${MIN_PULUMI_CLI}`).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\n${UPGRADE}`);
  });
}
