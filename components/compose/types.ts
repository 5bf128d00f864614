// Shared types of the compose renderer. The public API lives in index.ts and re-exports these.

/** A parsed YAML value: what `yaml`'s toJS() yields for compose files (no Dates, no Maps). */
export type Yaml = string | number | boolean | null | Yaml[] | YamlMap;
export interface YamlMap {
  [key: string]: Yaml;
}

export function isMap(v: unknown): v is YamlMap {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export interface UpdateDefaults {
  parallelism?: number;
  delaySeconds?: number;
  monitorSeconds?: number;
  failureAction?: "rollback" | "pause" | "continue";
  maxFailureRatio?: number;
  order?: "start-first" | "stop-first";
}

export interface RenderOptions {
  /**
   * Path of the compose file, or of several merged in order as `docker stack deploy -c a -c b`
   * merges them (see merge.ts). Errors name the file a key came from; relative paths (file
   * configs/secrets, env_file, build contexts) resolve against the FIRST file's directory.
   */
  file: string | string[];
  /** Contents of the (first) file if already read (else it is read). Buffers are decoded (BOM-aware). */
  text?: string | Buffer;
  /** The ONLY source for ${VAR} interpolation (never process.env: renders must be reproducible). */
  env?: Record<string, string>;
  /** Per-service replica overrides (service must exist and be replicated). */
  replicas?: Record<string, number>;
  /** Overrides of the safe rolling-update defaults (never of explicit file values). */
  update?: UpdateDefaults;
  /** Per-service image override (pinned digests or built images); wins over the file's image. */
  images?: Record<string, string>;
}

export interface PublishedPort {
  service: string;
  port: number;
  protocol: "tcp" | "udp";
  mode: "ingress" | "host";
}

export interface BuildSpec {
  service: string;
  /** Absolute path (or the URL as written, for remote contexts). */
  context: string;
  dockerfile?: string;
  args?: Record<string, string>;
  target?: string;
  /** Image named in the file; for build-only services, a suggested name (see renderStack). */
  image?: string;
  /** True when the file names no image: the service cannot run until it is built and pushed. */
  buildOnly: boolean;
}

export interface RenderResult {
  yaml: string;
  files: Record<string, Buffer>;
  warnings: string[];
  publishedPorts: PublishedPort[];
  services: string[];
  builds: BuildSpec[];
  images: Record<string, string>;
}

/** Every problem found in one render, each naming file, location and the fix. */
export class StackRenderError extends Error {
  readonly problems: string[];
  /** Warnings found before giving up: they often explain the problems (e.g. a dropped build:). */
  readonly warnings: string[];
  /**
   * Builds found before giving up: a build-only service fails until `images` names its pushed
   * image, so a caller learns here what to build, builds and pushes it, then renders again.
   */
  readonly builds: BuildSpec[];
  constructor(file: string, problems: string[], warnings: string[] = [], builds: BuildSpec[] = []) {
    super(
      `${file}: ${problems.length} problem(s) in compose file:\n  - ${problems.join("\n  - ")}`,
    );
    this.name = "StackRenderError";
    this.problems = problems;
    this.warnings = warnings;
    this.builds = builds;
  }
}

/**
 * Collects warnings and problems while the pipeline runs, so that one render reports every
 * problem at once instead of stopping at the first (docker stops at the first; users hate that).
 */
export class Report {
  /**
   * @param file the file (or `a + b` for a merge) the render is about: StackRenderError names it
   * @param origin for a merge: the file a key (`services.web.ports[0]`) came from; messages
   *   about that key name it. @default every key comes from `file`
   */
  constructor(
    readonly file: string,
    private readonly origin?: (where: string) => string,
    readonly warnings: string[] = [],
    readonly problems: string[] = [],
  ) {}
  /** The file a message about `where` names. */
  sourceOf(where: string): string {
    return this.origin?.(where) ?? this.file;
  }
  /** A report about one of several files, writing into the same lists. */
  forFile(file: string): Report {
    return new Report(file, undefined, this.warnings, this.problems);
  }
  warn(where: string, message: string): void {
    this.warnings.push(`${this.sourceOf(where)}: ${where}: ${message}`);
  }
  problem(where: string, message: string): void {
    this.problems.push(`${this.sourceOf(where)}: ${where}: ${message}`);
  }
  throwIfProblems(builds: BuildSpec[] = []): void {
    if (this.problems.length > 0) {
      throw new StackRenderError(this.file, this.problems, this.warnings, builds);
    }
  }
}
