import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import { StackConfig } from "./config";
import { BuildSpec } from "../compose/types";
import { scriptCommand } from "../core/remote";
import { NetworkAttachment, withEdgeNetwork } from "./attach";
import * as path from "path";
import {
  builtImageName,
  planStackRender,
  registryLogin,
  renderPreview,
  renderReal,
  stackBundle,
  withRenderHeader,
} from "./stackBundle";

/** The stacks' scripts (the edge deploys with them too); the lab runs the very same files. */
export const STACKS_SCRIPTS = path.join(__dirname, "scripts");

/** Default seconds a deploy (stack-deploy.sh) may take, from its start, until every service converged. */
export const DEFAULT_DEPLOY_TIMEOUT_SECONDS = 600;

export interface SwarmStackArgs {
  /** The stack's configuration (name, file, env, replicas, update overrides). */
  stack: StackConfig;
  /** Directory the stack's `file` is relative to (the project directory). */
  projectDir: string;
  /** SSH connection to a manager (the cluster's reserved IP). */
  connection: command.types.input.remote.ConnectionArgs;
  /** Resources that must exist first: the cluster's bootstrap. @default [] */
  after?: pulumi.Input<pulumi.Resource>[];
  /**
   * The swarm's cluster ID. It is part of the deploy command, so a swarm created anew (its only
   * manager lost and replaced) deploys every stack again. @default none (no such redeploy)
   */
  clusterId?: pulumi.Input<string>;
  /** Values of `stack.secretEnv` variables; they reach the node only inside the secret stdin. @default {} */
  secretEnv?: Record<string, pulumi.Input<string>>;
  /** Per-service image references overriding the file (pinned digests, built images). @default {} */
  images?: pulumi.Input<Record<string, string>>;
  /** A docker config.json for private registries (`--with-registry-auth`). Secret. @default none */
  registryAuth?: pulumi.Input<string>;
  /**
   * Where build-only services are built and pushed (`docker build` on the machine running
   * Pulumi). Without it such services are an error. @default none
   */
  /**
   * Services of this stack the edge routes to: they join the edge's overlay network (a step
   * after the render, in the preview and the real render alike). @default none
   */
  edgeNetwork?: NetworkAttachment;
  registry?: {
    /** e.g. `registry.digitalocean.com/my-registry` */
    server: string;
    /** docker config.json with push rights. Secret. */
    pushCredentials: pulumi.Input<string>;
  };
}

/**
 * The `docker.Image` build paths of a build-only service, relative to the project directory (with
 * `/`), so that every checkout gives the same inputs: the provider diffs them literally, and an
 * absolute path would rebuild, push and roll the service from a teammate's clone or a CI runner.
 * Relative paths mean the same thing to the provider: Pulumi runs the program and its provider
 * plugins in the project directory, and pulumi-docker opens `context` and `dockerfile` relative
 * to its working directory (the dockerfile too, not relative to the context, as `docker build -f`
 * does). Compose's `dockerfile` is relative to the context, hence the join. Remote contexts (URLs)
 * and absolute dockerfiles pass as written.
 */
export function imageBuildPaths(
  projectDir: string,
  build: Pick<BuildSpec, "context" | "dockerfile">,
): { context: string; dockerfile?: string } {
  const fromProject = (p: string) =>
    path.relative(path.resolve(projectDir), p).split(path.sep).join("/") || ".";
  if (!path.isAbsolute(build.context))
    return { context: build.context, dockerfile: build.dockerfile };
  const context = fromProject(build.context);
  if (build.dockerfile === undefined) return { context };
  return {
    context,
    dockerfile: path.isAbsolute(build.dockerfile)
      ? build.dockerfile
      : path.posix.join(context, build.dockerfile.split(path.sep).join("/")),
  };
}

/** Whether an image reference is already pinned to a digest. */
export const isPinned = (ref: string) => /@sha256:[0-9a-f]{64}$/.test(ref);

/**
 * One compose stack on the swarm: the file rendered for swarm (safe rolling updates, hashed
 * config/secret names), shipped to a manager and deployed by stack-deploy.sh, which fails the
 * update when swarm rolled the deploy back. Redeploys only when the rendered stack changes.
 */
export class SwarmStack extends pulumi.ComponentResource {
  /** The rendered stack as `pulumi preview` shows it (secret variables as placeholders). */
  readonly rendered: pulumi.Output<string>;
  readonly deploy: command.remote.Command;

  constructor(name: string, args: SwarmStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("do-swarm:index:SwarmStack", name, {}, opts);
    const { stack, projectDir } = args;
    const plan = planStackRender(stack, projectDir, args.registry?.server);

    // Build-only services: built from their build: section, pushed, and deployed by digest, so
    // a changed build context rolls out and an unchanged one changes nothing.
    const built = plan.builds.map((b) => {
      const registry = args.registry!;
      const login = pulumi.secret(
        pulumi.output(registry.pushCredentials).apply((c) => registryLogin(c, registry.server)),
      );
      const image = new docker.Image(
        `${name}-image-${b.service}`,
        {
          imageName: `${builtImageName(registry.server, stack.name, b.service)}:latest`,
          build: {
            ...imageBuildPaths(projectDir, b),
            args: b.args,
            target: b.target,
            platform: "linux/amd64", // droplets are x86-64, whatever builds the image
          },
          registry: {
            server: registry.server.split("/")[0],
            username: login.apply((l) => l.username),
            password: login.apply((l) => l.password),
          },
        },
        { parent: this },
      );
      return image.repoDigest.apply((digest) => [b.service, digest] as const);
    });
    // Pinning: every tag the file names is resolved to the digest it points at now, so a tag
    // that moved shows up in `pulumi preview` as a changed image and rolls out.
    const pinned = stack.pinImages
      ? pulumi.all(
          Object.entries(plan.result.images)
            .filter(
              ([service, ref]) => !isPinned(ref) && !plan.builds.some((b) => b.service === service),
            )
            .map(([service, ref]) =>
              docker
                .getRegistryImageOutput({ name: ref }, { parent: this })
                .sha256Digest.apply((digest) => [service, `${ref}@${digest}`] as const),
            ),
        )
      : pulumi.output([] as (readonly [string, string])[]);
    const images = pulumi
      .all([pinned, pulumi.all(built), pulumi.output(args.images ?? {})])
      .apply(([pins, builds, explicit]) => ({
        ...Object.fromEntries(pins),
        ...Object.fromEntries(builds),
        ...explicit,
      }));
    const attach = args.edgeNetwork;
    this.rendered = images.apply(
      (imgs) => withEdgeNetwork(renderPreview(stack, projectDir, imgs), attach).yaml,
    );

    // The real render carries secret values (and file-based secrets), so the whole bundle is
    // secret: encrypted in state, "[secret]" in diffs, and sent only on the command's stdin.
    const bundle = pulumi.secret(
      pulumi
        .all([pulumi.all(args.secretEnv ?? {}), images, pulumi.output(args.registryAuth)])
        .apply(([secrets, imgs, auth]) =>
          stackBundle(withEdgeNetwork(renderReal(stack, projectDir, secrets, imgs), attach), auth),
        ),
    );

    // The readable render heads the command: what preview diffs, and what makes an edit
    // redeploy. Never `triggers`: they REPLACE the command (see withRenderHeader).
    const deploy = pulumi
      .all([this.rendered, args.clusterId])
      .apply(([yaml, clusterId]) =>
        withRenderHeader(
          stack.name,
          clusterId,
          yaml,
          scriptCommand("stack-deploy.sh", [
            stack.name,
            String(stack.timeoutSeconds ?? DEFAULT_DEPLOY_TIMEOUT_SECONDS),
          ], STACKS_SCRIPTS),
        ),
      );
    this.deploy = new command.remote.Command(
      `${name}-deploy`,
      {
        connection: args.connection,
        create: deploy,
        // An explicit update makes a change an in-place redeploy (without one, the provider runs
        // create again, which is the same script; explicit is clearer).
        update: deploy,
        delete: scriptCommand("stack-rm.sh", [stack.name], STACKS_SCRIPTS),
        stdin: bundle,
        // The provider would send the previous stdout/stderr as SSH environment requests on
        // every redeploy and on delete; sshd refuses them and the provider warns. Nothing reads
        // them (see swarmCluster.ts).
        addPreviousOutputInEnv: false,
      },
      // stderr too: the bundle holds secret values, and docker's own errors may quote a value.
      { parent: this, dependsOn: args.after ?? [], additionalSecretOutputs: ["stdin", "stderr"] },
    );
    this.registerOutputs({ rendered: this.rendered });
  }
}
