/**
 * An engine-order harness: the real program under Pulumi mocks, answered the way the Pulumi
 * engine answers it during an update (pulumi/pulumi pkg/resource/deploy: step.go,
 * step_executor.go, deployment.go), so hooks that would hang or misorder on a real `pulumi up`
 * do so here too. What it keeps of the engine:
 *
 * - A previous state: every resource existed, with the inputs the program gives now except the
 *   ones `previous` overrides, and the id it had (ids are stable per logical name).
 * - A resource whose inputs differ from its previous ones gets an update step: the engine calls
 *   the before-update hooks named in its registration, then the provider's Update, then the
 *   after-update hooks, and only then answers its RegisterResource, which is what resolves its
 *   outputs (id, addresses) in the program (UpdateStep.Apply; the answer is `reg.Done` after
 *   Apply returns). Every such step is in flight at once (the engine's parallelism); nothing
 *   here serialises them.
 * - Hooks are called through the registration the SDK makes: the program's
 *   `registerResourceHook` requests carry a callback address and token of the SDK's callback
 *   server, and the harness invokes it over gRPC exactly as the engine does (a
 *   ResourceHookRequest with the urn, id, old and new inputs and outputs). A hook's error fails
 *   the step. A hook name that was never registered fails the step with the engine's own text.
 * - In a dry run (preview) only hooks registered with onDryRun are called and nothing is
 *   updated.
 * - A failed step is never answered (the engine cancels and answers it only at shutdown), so
 *   nothing that depends on it registers.
 * - A resource whose inputs are unchanged is answered at once with its previous state.
 *
 * - A replacement: of what `replace` names (`--replace`), create-first; of a resource whose
 *   changed inputs are among its replaceOnChanges (a command's `triggers`), delete-first when
 *   its registration asks deleteBeforeReplace, else create-first; the deletes of create-first
 *   replacements run after every other step.
 *
 * - A delete-first replacement's dependents (step_generator.go calculateDependentReplacements):
 *   every resource that takes an input from a resource replaced delete-first (transitively
 *   through those so replaced), where that input would replace it (its replaceOnChanges, a
 *   command's `triggers`, or a key the provider forces a new resource for, PROVIDER_FORCE_NEW),
 *   is deleted before it, in reverse dependency order, and created anew when it registers.
 *   The engine finds them in the previous deployment's graph before the delete; here the graph
 *   is this run's (the same program), known only as each dependent registers, after the
 *   replaced resource was answered: so their `delete` events are inserted where the engine runs
 *   them (before the replaced resource's delete, in reverse dependency order), while their
 *   providerDelete is called when they register. Only `events` keeps the engine's order.
 *
 * Not modelled: deletes of resources the program no longer has (see `deleteStep`), the
 * bounded worker pool.
 */
import * as grpc from "@grpc/grpc-js";
import * as pulumi from "@pulumi/pulumi";
import { FAKE_SIZES, FakeOutputs, reveal } from "../harness";

/* eslint-disable @typescript-eslint/no-require-imports -- the SDK's generated gRPC modules have no typed entry points */
const callbackGrpc = require("@pulumi/pulumi/proto/callback_grpc_pb");
const callbackPb = require("@pulumi/pulumi/proto/callback_pb");
const resourcePb = require("@pulumi/pulumi/proto/resource_pb");
const structPb = require("google-protobuf/google/protobuf/struct_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

type Props = Record<string, unknown>;

export interface StepInfo {
  name: string;
  type: string;
  urn: string;
  id: string;
  oldInputs: Props;
  newInputs: Props;
}

export interface EngineOptions {
  /** The stack's config (`project:key` -> value). */
  config: Record<string, string>;
  /** Outputs the fake cloud returns for a resource, on top of echoing its inputs. */
  fake: FakeOutputs;
  /** The previous deployment: by logical name, the inputs that differed from today's. */
  previous?: Record<string, Props>;
  /**
   * Resources the engine replaces (as `pulumi up --replace NAME`): created anew with a new id,
   * the old one deleted after every create and update. In `previous`, "{{old-id:NAME}}" stands
   * for the old id. @default []
   */
  replace?: string[];
  /** A command's delete: what a replaced or deleted resource's stored `delete` runs. */
  providerDelete?: (step: { name: string; type: string; oldInputs: Props }) => Promise<void>;
  /** `pulumi preview`: only onDryRun hooks run, nothing is updated. @default false */
  dryRun?: boolean;
  /** The provider's Update of a changed resource; a rejection fails the step. */
  providerUpdate?: (step: StepInfo) => Promise<void>;
  /** Called when a custom resource registers, before its step runs (to seed the fake world). */
  onRegister?: (r: { name: string; type: string; id: string; state: Props }) => void;
}

export interface EngineEvent {
  at: number;
  what: string;
}

export interface Engine {
  /** `before NAME`, `update NAME`, `after NAME`, `answered NAME`, `failed NAME: ...` in order. */
  events: string[];
  /** Update steps: name -> "running" | "ok" | "failed: reason". */
  steps: Map<string, string>;
  /**
   * Resources whose registration carried an unknown input value: in a preview, the engine
   * shows each of them as `~ update` with unknown values.
   */
  unknownInputs: Set<string>;
  /** The hook names each resource's registration binds (what the engine stores in its state). */
  bindings: Map<string, Record<string, string[]>>;
  /** Hook names the program registered, with their dry-run flag. */
  hooks: Map<string, { onDryRun: boolean }>;
  /** The id a logical name has (stable across the previous and this deployment). */
  idOf(name: string): string;
  /** The id it had in the previous deployment (another one when it is replaced). */
  oldIdOf(name: string): string;
  /**
   * Resolves when every update step has ended and the program is quiet; rejects after
   * `timeoutMs` naming the steps still in flight (a hook waiting on its own step, say).
   */
  finished(timeoutMs: number): Promise<void>;
  /**
   * What the engine does for a resource in the state that the program no longer registers (or
   * in `pulumi destroy`): its delete step, with the hooks stored in its state. `failure` is the
   * provider's error, `registered` the hook names registered in that run (none in `pulumi
   * destroy`, which does not run the program); the result is the error the user sees.
   */
  deleteStep(
    stored: { onError?: string[] },
    failure: string | undefined,
    registered: ReadonlySet<string>,
  ): Promise<string | undefined>;
}

let idCounter = 0;

/** Inputs the provider replaces a resource for (ForceNew), by type: what the engine's Diff says. */
export const PROVIDER_FORCE_NEW: Record<string, string[]> = {
  // terraform-provider-digitalocean volume/resource_volume_attachment.go: both ForceNew.
  "digitalocean:index/volumeAttachment:VolumeAttachment": ["dropletId", "volumeId"],
};

/** Installs the mocks and the engine-order monitor. Call before importing the program. */
export async function startEngine(opts: EngineOptions): Promise<Engine> {
  const replace = new Set(opts.replace ?? []);
  const ids = new Map<string, string>();
  const oldIds = new Map<string, string>();
  const idOf = (name: string) => {
    if (!ids.has(name)) {
      ids.set(name, String(5000 + ++idCounter));
      // A replaced resource had another id before.
      if (replace.has(name)) oldIds.set(name, String(5000 + ++idCounter));
    }
    return ids.get(name)!;
  };
  const oldIdOf = (name: string) => (idOf(name), oldIds.get(name) ?? idOf(name));
  const previous: Record<string, Props> = JSON.parse(
    JSON.stringify(opts.previous ?? {}).replace(/\{\{old-id:([^}]+)\}\}/g, (_, n: string) =>
      oldIdOf(n),
    ),
  );
  /** Old resources a create-first replacement deletes at the end. */
  const pendingDeletes: { name: string; type: string; oldInputs: Props }[] = [];
  const inputsByName = new Map<string, Props>();
  /** Resources replaced delete-first in this run, and their dependents deleted with them: urn -> name. */
  const condemned = new Map<string, string>();
  const stateByName = new Map<string, Props>();

  await pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        inputsByName.set(args.name, args.inputs);
        const id = idOf(args.name);
        const state = {
          ...(reveal(args.inputs) as Props),
          ...(await opts.fake(args.type, args.name, args.inputs)),
        };
        stateByName.set(args.name, state);
        return { id, state };
      },
      call: (args) =>
        args.token === "digitalocean:index/getSizes:getSizes" ? { sizes: FAKE_SIZES } : {},
    },
    "do-swarm",
    "test",
    opts.dryRun ?? false,
  );
  pulumi.runtime.setAllConfig(opts.config);

  const events: string[] = [];
  const steps = new Map<string, string>();
  const hooks = new Map<string, { onDryRun: boolean; target: string; token: string }>();
  const bindings = new Map<string, Record<string, string[]>>();
  const unknownInputs = new Set<string>();
  // How the SDK sends a value that is not known yet (sdk/nodejs/runtime/rpc.ts unknownValue).
  const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
  let inFlight = 0;
  let registrations = 0;
  let lastChange = Date.now();
  const touch = () => (lastChange = Date.now());

  // The mock monitor is untyped in the SDK's declarations; these are the grpc request shapes.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const monitor = pulumi.runtime.getMonitor() as any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  monitor.registerResourceHook = (req: any, cb: (e: null, r: object) => void) => {
    hooks.set(req.getName(), {
      onDryRun: req.getOnDryRun(),
      target: req.getCallback().getTarget(),
      token: req.getCallback().getToken(),
    });
    cb(null, {});
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  monitor.registerErrorHook = (req: any, cb: (e: null, r: object) => void) => {
    hooks.set(req.getName(), {
      onDryRun: false,
      target: req.getCallback().getTarget(),
      token: req.getCallback().getToken(),
    });
    cb(null, {});
  };

  const clients = new Map<string, grpc.Client>();
  /** Calls one registered hook as the engine does (deployment.go RunHooks). */
  const callHook = async (
    hookName: string,
    step: StepInfo,
    newOutputs: Props | undefined,
    oldOutputs: Props,
  ): Promise<void> => {
    const hook = hooks.get(hookName);
    if (!hook) throw new Error(`hook "${hookName}" was not registered`);
    if ((opts.dryRun ?? false) && !hook.onDryRun) return;
    const req = new resourcePb.ResourceHookRequest();
    req.setUrn(step.urn);
    req.setId(step.id);
    req.setName(step.name);
    req.setType(step.type);
    req.setNewInputs(structPb.Struct.fromJavaScript(step.newInputs));
    req.setOldInputs(structPb.Struct.fromJavaScript(step.oldInputs));
    if (newOutputs) req.setNewOutputs(structPb.Struct.fromJavaScript(newOutputs));
    req.setOldOutputs(structPb.Struct.fromJavaScript(oldOutputs));
    const invoke = new callbackPb.CallbackInvokeRequest();
    invoke.setToken(hook.token);
    invoke.setRequest(req.serializeBinary());
    if (!clients.has(hook.target)) {
      clients.set(
        hook.target,
        new callbackGrpc.CallbacksClient(hook.target, grpc.credentials.createInsecure()),
      );
    }
    const client = clients.get(hook.target)! as unknown as {
      invoke(
        r: unknown,
        cb: (e: Error | null, resp: { getResponse_asU8(): Uint8Array }) => void,
      ): void;
    };
    const resp = await new Promise<{ getResponse_asU8(): Uint8Array }>((resolve, reject) =>
      client.invoke(invoke, (e, r) => (e ? reject(e) : resolve(r))),
    );
    const error: string = resourcePb.ResourceHookResponse.deserializeBinary(
      resp.getResponse_asU8(),
    ).getError();
    if (error) throw new Error(error);
  };

  const register = monitor.registerResource.bind(monitor);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  monitor.registerResource = (req: any, cb: (err: unknown, resp: any) => void) => {
    inFlight++;
    registrations++;
    touch();
    if (JSON.stringify(req.getObject()?.toJavaScript() ?? {}).includes(UNKNOWN))
      unknownInputs.add(req.getName());
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    register(req, async (err: unknown, resp: any) => {
      const name: string = req.getName();
      const type: string = req.getType();
      const answer = () => {
        inFlight--;
        touch();
        cb(err, resp);
      };
      // {beforeUpdateList: [...], onErrorList: [...]} -> {beforeUpdate: [...], onError: [...]}
      const binding = (req.getHooks?.()?.toObject() ?? {}) as Record<string, string[]>;
      bindings.set(
        name,
        Object.fromEntries(
          Object.entries(binding)
            .filter(([, list]) => list.length > 0)
            .map(([k, list]) => [k.replace(/List$/, ""), list]),
        ),
      );
      if (err || !req.getCustom()) return answer();
      const newInputs = inputsByName.get(name) ?? {};
      const override = previous[name];
      opts.onRegister?.({ name, type, id: idOf(name), state: stateByName.get(name) ?? {} });
      const oldInputs = { ...newInputs, ...(override ?? {}) };
      const changed =
        override !== undefined &&
        Object.keys(override).some(
          (k) => JSON.stringify(override[k]) !== JSON.stringify(newInputs[k]),
        );
      // A dependent of a delete-first replacement: deleted before it, created anew.
      const replaceOn = [
        ...(req.getReplaceonchangesList() as string[]).map((k) => k.replace(/\[\*\]$/, "")),
        ...(PROVIDER_FORCE_NEW[type] ?? []),
      ];
      const propDeps = (
        req.getPropertydependenciesMap().toArray() as [string, [string[]]][]
      ).flatMap(([k, [urns]]) => (replaceOn.includes(k) ? urns : []));
      const condemnedBy = propDeps.filter((u) => condemned.has(u)).map((u) => condemned.get(u)!);
      if (!(opts.dryRun ?? false) && condemnedBy.length > 0) {
        // Before the earliest delete of anything it depends on, dependsOn included (reverse
        // dependency order over the whole graph, as the engine's DependingOn list reversed).
        const allDeps = [
          ...(req.getDependenciesList() as string[]),
          ...(req.getPropertydependenciesMap().toArray() as [string, [string[]]][]).flatMap(
            ([, [urns]]) => urns,
          ),
        ];
        const at = Math.min(
          ...allDeps
            .filter((u) => condemned.has(u))
            .map((u) => events.indexOf(`delete ${condemned.get(u)}`)),
        );
        events.splice(at, 0, `delete ${name}`);
        condemned.set(resp.getUrn(), name);
        await opts.providerDelete?.({ name, type, oldInputs: reveal(oldInputs) as Props });
        events.push(`create ${name}`);
        return answer();
      }
      if (replace.has(name)) {
        // `--replace`: a create step (create-before-delete, the default), the old one deleted
        // once every create and update is done.
        events.push(`create ${name}`);
        pendingDeletes.push({ name, type, oldInputs: reveal(oldInputs) as Props });
        return answer();
      }
      if (!changed) return answer();
      const replaceKeys = replaceOn;
      const changedKeys = Object.keys(override).filter(
        (k) => JSON.stringify(override[k]) !== JSON.stringify(newInputs[k]),
      );
      if (!(opts.dryRun ?? false) && changedKeys.some((k) => replaceKeys.includes(k))) {
        const old = { name, type, oldInputs: reveal(oldInputs) as Props };
        if (req.getDeletebeforereplace()) {
          condemned.set(resp.getUrn(), name);
          events.push(`delete ${name}`);
          await opts.providerDelete?.(old);
          events.push(`create ${name}`);
        } else {
          events.push(`create ${name}`);
          pendingDeletes.push(old);
        }
        return answer();
      }
      if (opts.dryRun ?? false) {
        // A preview of an update: the provider returns the new inputs and leaves what it would
        // compute unknown (the SDK makes every output missing from the answer unknown).
        resp.setObject(structPb.Struct.fromJavaScript(reveal(newInputs) as Props));
      }

      // An update step, in flight with every other one.
      const step: StepInfo = {
        name,
        type,
        urn: resp.getUrn(),
        id: idOf(name),
        oldInputs: reveal(oldInputs) as Props,
        newInputs: reveal(newInputs) as Props,
      };
      const oldOutputs = { ...(stateByName.get(name) ?? {}), ...(override ?? {}) };
      const newOutputs = stateByName.get(name) ?? {};
      steps.set(name, "running");
      try {
        for (const h of binding.beforeUpdateList ?? []) {
          events.push(`before ${name}`);
          await callHook(h, step, undefined, oldOutputs);
        }
        if (!(opts.dryRun ?? false)) {
          events.push(`update ${name}`);
          await opts.providerUpdate?.(step);
          for (const h of binding.afterUpdateList ?? []) {
            events.push(`after ${name}`);
            await callHook(h, step, newOutputs, oldOutputs);
          }
        }
      } catch (e) {
        const reason = (e as Error).message;
        steps.set(name, `failed: ${reason}`);
        events.push(`failed ${name}: ${reason}`);
        inFlight--; // never answered: the engine cancels the deployment
        touch();
        return;
      }
      steps.set(name, "ok");
      events.push(`answered ${name}`);
      answer();
    });
  };

  return {
    events,
    steps,
    hooks,
    bindings,
    unknownInputs,
    idOf,
    oldIdOf,
    finished: (timeoutMs) =>
      new Promise<void>((resolve, reject) => {
        const t0 = Date.now();
        const check = () => {
          const running = [...steps].filter(([, s]) => s === "running").map(([n]) => n);
          const quiet = Date.now() - lastChange > 300;
          if (registrations > 0 && running.length === 0 && inFlight === 0 && quiet) {
            clients.forEach((c) => c.close());
            // The deletes of replaced resources come last (step_generator: after all steps).
            return void (async () => {
              for (const d of pendingDeletes.splice(0)) {
                events.push(`delete ${d.name}`);
                await opts.providerDelete?.(d);
              }
            })().then(resolve, reject);
          }
          if (Date.now() - t0 > timeoutMs) {
            return reject(
              new Error(
                `timed out after ${timeoutMs} ms; update steps still in flight: ${running.join(", ") || "none"}; ` +
                  `last events: ${events.slice(-5).join(" | ")}`,
              ),
            );
          }
          setTimeout(check, 50);
        };
        check();
      }),
    async deleteStep(stored, failure, registered) {
      // step.go DeleteStep.Apply -> withRetries -> RunErrorHooks(s.old.ResourceHooks[OnError]):
      // the names stored in the state, looked up among the hooks registered in this run.
      if (failure === undefined) return undefined;
      for (const h of stored.onError ?? []) {
        if (!registered.has(h))
          return `error hooks execution failed: error hook "${h}" was not registered`;
      }
      return failure;
    },
  };
}
