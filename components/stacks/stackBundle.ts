import * as path from "path";
import { parse } from "yaml";
import { BuildSpec, renderStack, RenderResult, StackRenderError } from "../compose";
import { StackConfig } from "./config";

/**
 * What stack-deploy.sh reads on stdin: one line per file, "RELATIVE_PATH BASE64". Line-based so
 * a bash `read` loop can unpack it with nothing but coreutils on the node; base64 so any content
 * (binary secrets included) survives the SSH channel and Pulumi's string-typed stdin.
 */
export function encodeBundle(files: Record<string, string | Buffer>): string {
  return (
    Object.keys(files)
      .sort()
      .map((rel) => {
        if (rel.startsWith("/") || rel.split("/").includes("..") || /\s/.test(rel)) {
          throw new Error(
            `bundle path '${rel}' must be relative, inside the bundle, without spaces`,
          );
        }
        const content = files[rel];
        return `${rel} ${(typeof content === "string" ? Buffer.from(content) : content).toString("base64")}`;
      })
      .join("\n") + "\n"
  );
}

/** The inverse of encodeBundle, for tests and the lab. */
export function decodeBundle(bundle: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (const line of bundle.split("\n")) {
    if (line === "") continue;
    const [rel, b64] = line.split(" ");
    files[rel] = Buffer.from(b64 ?? "", "base64");
  }
  return files;
}

/** The bundle of a rendered stack: stack.yml, its config/secret files, optional registry auth. */
export function stackBundle(result: RenderResult, dockerConfigJson?: string): string {
  return encodeBundle({
    "stack.yml": result.yaml,
    ...result.files,
    ...(dockerConfigJson === undefined ? {} : { ".docker/config.json": dockerConfigJson }),
  });
}

/** A stack's compose file(s), absolute: one file, or several merged in order (base first). */
export function stackFiles(stack: StackConfig, projectDir: string): string | string[] {
  return typeof stack.file === "string"
    ? path.resolve(projectDir, stack.file)
    : stack.file.map((f) => path.resolve(projectDir, f));
}

/** What a secret variable renders as in the preview (and in everything that is not secret). */
export const secretPlaceholder = (name: string) => `[secret:${name}]`;

/**
 * Renders a configured stack with its secret variables replaced by placeholders: what
 * `pulumi preview` shows, what decides whether the stack redeploys, and the early validation
 * of the file (every problem is thrown before any resource exists).
 */
export function renderPreview(
  stack: StackConfig,
  projectDir: string,
  images?: Record<string, string>,
): RenderResult {
  return renderStack({
    file: stackFiles(stack, projectDir),
    env: {
      ...(stack.env ?? {}),
      ...Object.fromEntries(
        Object.keys(stack.secretEnv ?? {}).map((k) => [k, secretPlaceholder(k)]),
      ),
    },
    replicas: stack.replicas,
    update: stack.update,
    images,
  });
}

/** The real render: the same as the preview, with the secret values in place. */
export function renderReal(
  stack: StackConfig,
  projectDir: string,
  secretValues: Record<string, string>,
  images?: Record<string, string>,
): RenderResult {
  return renderStack({
    file: stackFiles(stack, projectDir),
    env: { ...(stack.env ?? {}), ...secretValues },
    replicas: stack.replicas,
    update: stack.update,
    images,
  });
}

/** Where do-swarm pushes the image it builds for a build-only service. */
export const builtImageName = (registryServer: string, stack: string, service: string) =>
  `${registryServer}/${stack}-${service}`;

/**
 * The preview render, and the build-only services to build. Without a registry a build-only
 * service is an error (the renderer says how to fix it); with one, the preview renders them
 * with the image they will be pushed as, and the caller builds them.
 */
export function planStackRender(
  stack: StackConfig,
  projectDir: string,
  registryServer?: string,
): { result: RenderResult; builds: BuildSpec[] } {
  try {
    return { result: renderPreview(stack, projectDir), builds: [] };
  } catch (e) {
    const builds = e instanceof StackRenderError ? (e.builds ?? []).filter((b) => b.buildOnly) : [];
    if (registryServer === undefined || builds.length === 0) throw e;
    const pending = Object.fromEntries(
      builds.map((b) => [
        b.service,
        `${builtImageName(registryServer, stack.name, b.service)}:pending-build`,
      ]),
    );
    return { result: renderPreview(stack, projectDir, pending), builds };
  }
}

/** Username and password for `server` from a docker config.json (as DigitalOcean issues them). */
export function registryLogin(
  dockerConfigJson: string,
  server: string,
): { username: string; password: string } {
  const auths =
    (JSON.parse(dockerConfigJson) as { auths?: Record<string, { auth?: string }> }).auths ?? {};
  const host = server.split("/")[0];
  const auth = auths[host]?.auth;
  if (auth === undefined) throw new Error(`the registry credentials have no entry for ${host}`);
  const decoded = Buffer.from(auth, "base64").toString();
  const colon = decoded.indexOf(":");
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Overlay networks a rendered stack asks to encrypt. Swarm encrypts them with IPsec ESP (IP
 * protocol 50); DigitalOcean cloud firewalls only pass TCP, UDP and ICMP, so ESP between the
 * firewalled droplets is most likely dropped and such networks silently carry nothing.
 */
export function encryptedNetworks(renderedYaml: string): string[] {
  const networks = (
    parse(renderedYaml) as { networks?: Record<string, { driver_opts?: Record<string, unknown> }> }
  ).networks;
  return Object.entries(networks ?? {})
    .filter(([, n]) => n?.driver_opts !== undefined && "encrypted" in n.driver_opts)
    .map(([name]) => name);
}

/** Marks the lines of the readable render at the head of a deploy command. */
const RENDER_LINE = "# | ";

/**
 * Puts the readable render (secret values masked) at the head of the deploy command, as shell
 * comments, so `pulumi preview` shows a line diff of the stack and an edit changes the command.
 *
 * Why not the command's `triggers`: @pulumi/command marks them replaceOnChanges (whatever its
 * docs say, pulumi/pulumi-command#855), and a replaced deploy command runs the NEW deploy and
 * then the OLD command's delete, `docker stack rm`: every edit would take the stack down. A
 * changed `create`/`update` is an in-place update, which runs `update` (a redeploy).
 */
export function withRenderHeader(
  stackName: string,
  clusterId: string | undefined,
  renderedYaml: string,
  command: string,
): string {
  const lines = renderedYaml.replace(/\n*$/, "").split("\n");
  const on = clusterId ? ` on swarm ${clusterId}` : "";
  return [
    `# do-swarm: stack ${stackName}${on} as deployed, secret values masked`,
    ...lines.map((l) => (RENDER_LINE + l).trimEnd()),
    command,
  ].join("\n");
}

/** The readable render at the head of a deploy command (the inverse of withRenderHeader). */
export function renderFromHeader(command: string): string {
  const out: string[] = [];
  for (const line of command.split("\n").slice(1)) {
    if (!line.startsWith(RENDER_LINE.trimEnd())) break;
    out.push(line.slice(RENDER_LINE.length));
  }
  return out.join("\n") + "\n";
}
