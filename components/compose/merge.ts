// Merging several compose files the way `docker stack deploy -c a.yml -c b.yml` does.
//
// docker/cli (v28, cli/compose/loader/loader.go Load) loads each file on its own (interpolated,
// validated, decoded into typed structs, env_file and bare variables resolved into environment,
// relative paths resolved against the FIRST file's directory), then merges the typed configs
// (cli/compose/loader/merge.go): services with dario.cat/mergo (WithOverride, WithAppendSlice,
// and special transformers), and every top-level networks/volumes/secrets/configs entry replaced
// whole by the later file's. mergo on Go structs gives rules that look arbitrary on YAML but are
// what users get; each rule below names the Go type it comes from, and tests/compose-merge.test.ts
// checks them against `docker stack config -c a -c b`:
//  - scalars (string, bool, number, *bool, *Duration): a later file wins unless its value is the
//    zero value ("", false, 0, 0s), which cannot unset an earlier one (`read_only: false` keeps
//    true); pointers to integers (*uint64: replicas, retries, parallelism, max_attempts) win
//    whenever present, 0 included;
//  - plain lists ([]string, StringList, HostsList, HealthCheckTest, placement constraints and
//    preferences, generic_resources) are APPENDED, duplicates kept (healthcheck test included);
//  - command/entrypoint (ShellCommand) are replaced by a non-empty later value;
//  - ports, volumes, secrets and configs of a service defined in both files are keyed (by
//    published port, target path, source name), the later entry wins whole, and the list comes
//    out sorted by that key, even when the later file does not mention the key at all;
//  - labels, sysctls, deploy.labels: key by key, the later value wins (even "");
//  - environment: key by key, after each file resolved its own env_file and bare variables; a
//    later empty or value-less variable does not replace an earlier value;
//  - service networks: the union; for a network in both, a later mapping replaces the aliases
//    (an empty mapping clears them) and a non-empty ipv4/ipv6_address; a bare later entry keeps
//    the earlier mapping;
//  - ulimits: key by key, the later limit whole; logging: options merged when the drivers agree
//    (or one is unset), replaced by the later logging when they differ, and lost when the
//    earlier logging had no options (mergo merges into a copy of a nil map);
//  - x-* extension keys of a service are deep-merged (maps merged, lists appended); the
//    top-level x-* keys and version come from the first file only.
import { parseEnvFile } from "./files";
import { parseShortPort } from "./ports";
import { Report, Yaml, YamlMap, isMap } from "./types";

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** One file of a merge, already parsed, interpolated and top-level-normalised on its own. */
export interface MergeInput {
  file: string;
  data: YamlMap;
  /** Messages about this file name it. */
  report: Report;
}

/**
 * Which file each key of the merged result came from, so that a message about a key names the
 * file the user has to edit. Keys are dotted paths without list indices (services.web.ports).
 */
export class Origins {
  private readonly byPath = new Map<string, string>();
  constructor(readonly first: string) {}

  /** Record every mapping path of `tree` under `prefix` as coming from `file`. */
  record(prefix: string, file: string, tree: Yaml): void {
    this.byPath.set(prefix, file);
    if (isMap(tree)) {
      for (const [k, v] of Object.entries(tree)) this.record(`${prefix}.${k}`, file, v);
    }
  }

  /** Like record, forgetting what an earlier file said under `prefix` (a whole replacement). */
  replace(prefix: string, file: string, tree: Yaml): void {
    for (const k of [...this.byPath.keys()]) if (k.startsWith(`${prefix}.`)) this.byPath.delete(k);
    this.record(prefix, file, tree);
  }

  /** The file a message at `where` (e.g. `services.web.ports[0].published`) is about. */
  of(where: string): string {
    let p = where.replace(/\[\d+\]/g, "");
    for (;;) {
      const f = this.byPath.get(p);
      if (f !== undefined) return f;
      const dot = p.lastIndexOf(".");
      if (dot < 0) return this.first;
      p = p.slice(0, dot);
    }
  }
}

/** docker's schema.Version: no version, "" and "3" all mean 3.13 (the default). */
export function schemaVersion(data: YamlMap | undefined): string {
  const v = data?.version;
  if (v === undefined || v === null) return "3.13";
  const s = String(v);
  return s === "" || s === "3" ? "3.13" : s;
}

// ---------------------------------------------------------------------------------------------
// Zero values and value kinds, after the Go types of cli/compose/types.

type Kind =
  | "str" // string
  | "bool" // bool and *bool (deref merge: false never replaces true)
  | "num" // int/uint/float fields and pointers to them merged by deref
  | "dur" // Duration and *Duration
  | "bytes" // UnitBytes
  | "uint" // *uint64 with mergeUint64: present wins
  | "append" // []string and friends: appended
  | "command" // ShellCommand: a non-empty later value replaces
  | "labels" // Labels / Mapping / map[string]string: key by key, later wins
  | "env" // MappingWithEquals: key by key, later non-empty wins
  | "hosts" // HostsList: normalised to host:ip, appended
  | "test" // HealthCheckTest: a string is [CMD-SHELL, s]; appended
  | "refs" // []ServiceSecretConfig / []ServiceConfigObjConfig: keyed by source
  | "ports" // []ServicePortConfig: keyed by published
  | "volumes" // []ServiceVolumeConfig: keyed by target
  | "ulimits"
  | "networks"
  | "logging"
  | Struct;
interface Struct {
  fields: Record<string, Kind>;
  /** A string stands for this field of the struct (build: DIR is build: {context: DIR}). */
  fromString?: string;
}

const UPDATE: Struct = {
  fields: {
    parallelism: "uint",
    delay: "dur",
    failure_action: "str",
    monitor: "dur",
    max_failure_ratio: "num",
    order: "str",
  },
};
const DEPLOY: Struct = {
  fields: {
    mode: "str",
    replicas: "uint",
    labels: "labels",
    update_config: UPDATE,
    rollback_config: UPDATE,
    resources: {
      fields: {
        limits: { fields: { cpus: "str", memory: "bytes", pids: "num" } },
        reservations: { fields: { cpus: "str", memory: "bytes", generic_resources: "append" } },
      },
    },
    restart_policy: {
      fields: { condition: "str", delay: "dur", max_attempts: "uint", window: "dur" },
    },
    placement: {
      fields: { constraints: "append", preferences: "append", max_replicas_per_node: "num" },
    },
    endpoint_mode: "str",
  },
};
const HEALTHCHECK: Struct = {
  fields: {
    test: "test",
    timeout: "dur",
    interval: "dur",
    retries: "uint",
    start_period: "dur",
    start_interval: "dur",
    disable: "bool",
  },
};
const BUILD: Struct = {
  fromString: "context",
  fields: {
    context: "str",
    dockerfile: "str",
    args: "env",
    labels: "labels",
    cache_from: "append",
    extra_hosts: "hosts",
    network: "str",
    target: "str",
  },
};
const CREDENTIAL_SPEC: Struct = { fields: { config: "str", file: "str", registry: "str" } };

/** types.ServiceConfig, key by key. Keys not listed are replaced by a later file's value. */
export const SERVICE: Struct = {
  fields: {
    build: BUILD,
    cap_add: "append",
    cap_drop: "append",
    cgroupns_mode: "str",
    cgroup_parent: "str",
    command: "command",
    configs: "refs",
    container_name: "str",
    credential_spec: CREDENTIAL_SPEC,
    depends_on: "append",
    deploy: DEPLOY,
    devices: "append",
    dns: "append",
    dns_search: "append",
    domainname: "str",
    entrypoint: "command",
    environment: "env",
    env_file: "append",
    expose: "append",
    external_links: "append",
    extra_hosts: "hosts",
    hostname: "str",
    healthcheck: HEALTHCHECK,
    image: "str",
    init: "bool",
    ipc: "str",
    isolation: "str",
    labels: "labels",
    links: "append",
    logging: "logging",
    mac_address: "str",
    network_mode: "str",
    networks: "networks",
    pid: "str",
    ports: "ports",
    privileged: "bool",
    read_only: "bool",
    restart: "str",
    secrets: "refs",
    security_opt: "append",
    shm_size: "str",
    stdin_open: "bool",
    stop_grace_period: "dur",
    stop_signal: "str",
    sysctls: "labels",
    tmpfs: "append",
    tty: "bool",
    ulimits: "ulimits",
    user: "str",
    oom_score_adj: "num",
    userns_mode: "str",
    volumes: "volumes",
    working_dir: "str",
  },
};

/** Go's time.ParseDuration of a compose duration is zero ("0", "0s", "0m0s"). */
function zeroDuration(v: Yaml): boolean {
  if (typeof v === "number") return v === 0;
  return typeof v === "string" && /^[+-]?(0+(\.0*)?[a-zµ]*)+$/.test(v) && !/[1-9]/.test(v);
}

function isZero(kind: Kind, v: Yaml): boolean {
  switch (kind) {
    case "str":
      return v === "" || v === null;
    case "bool":
      return v === false || v === null;
    case "num":
      return v === null || Number(v) === 0;
    case "dur":
      return v === null || zeroDuration(v);
    case "bytes":
      return (
        v === null || (typeof v === "number" ? v === 0 : /^0+(\.0+)?\s*[a-zA-Z]*$/.test(String(v)))
      );
    default:
      return v === null;
  }
}

const asList = (v: Yaml): Yaml[] => (Array.isArray(v) ? v : v === null ? [] : [v]);

/** Labels / Mapping in either form, as a mapping of strings (docker's transformMappingOrList). */
function labelMap(v: Yaml): YamlMap {
  const out: YamlMap = {};
  if (isMap(v)) {
    for (const [k, x] of Object.entries(v)) out[k] = x === null ? "" : String(x);
  } else if (Array.isArray(v)) {
    for (const item of v) {
      const s = String(item);
      const eq = s.indexOf("=");
      if (eq < 0) out[s] = "";
      else out[s.slice(0, eq)] = s.slice(eq + 1);
    }
  }
  return out;
}

/** MappingWithEquals in either form; `K` alone is null (no value). */
export function environmentMap(v: Yaml | undefined): YamlMap {
  if (isMap(v)) return { ...v };
  const out: YamlMap = {};
  if (Array.isArray(v)) {
    for (const item of v) {
      const s = String(item);
      const eq = s.indexOf("=");
      if (eq < 0) out[s] = null;
      else out[s.slice(0, eq)] = s.slice(eq + 1);
    }
  }
  return out;
}

const emptyValue = (v: Yaml | undefined) => v === undefined || v === null || v === "";

/** HostsList: a mapping or a list of host:ip / host=ip, as `host:ip` strings. */
function hostsList(v: Yaml): Yaml[] {
  if (isMap(v)) {
    return Object.entries(v)
      .filter(([, ip]) => ip !== null)
      .map(([h, ip]) => `${h}:${String(ip)}`)
      .sort();
  }
  const out: Yaml[] = [];
  for (const e of asList(v)) {
    const s = String(e);
    const cut = ["=", ":"].map((sep) => s.indexOf(sep)).find((i) => i >= 0);
    if (cut === undefined) continue; // docker drops an entry without a separator
    let ip = s.slice(cut + 1);
    if (ip.length > 2 && ip.startsWith("[") && ip.endsWith("]")) ip = ip.slice(1, -1);
    out.push(`${s.slice(0, cut)}:${ip}`);
  }
  return out;
}

function healthTest(v: Yaml): Yaml[] {
  return typeof v === "string" ? ["CMD-SHELL", v] : asList(v);
}

/** A short port spec as docker's typed ports (one per port of a range); undefined if invalid. */
export function expandShortPort(spec: string): YamlMap[] | undefined {
  const parsed = parseShortPort(spec);
  if (!parsed) return undefined;
  const slash = spec.lastIndexOf("/");
  const rest = slash >= 0 ? spec.slice(0, slash) : spec;
  const m = /(\d+)(?:-(\d+))?$/.exec(rest);
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  const out: YamlMap[] = [];
  for (let t = lo; t <= hi; t++) {
    const p: YamlMap = { mode: "ingress", target: t };
    const published = parsed.published[t - lo];
    if (published !== undefined) p.published = published;
    p.protocol = parsed.protocol;
    out.push(p);
  }
  return out;
}

/** docker's ParseVolume, only as far as the target: `[SOURCE:]TARGET[:MODE]`. */
function volumeTarget(v: Yaml): string {
  if (isMap(v)) return String(v.target ?? "");
  const s = String(v);
  if (s.length <= 2) return s;
  const parts: string[] = [];
  let buf = "";
  for (const ch of s) {
    // A Windows drive letter (C:) is part of the path, not a separator.
    if (ch === ":" && !(buf.length === 1 && /[A-Za-z]/.test(buf))) {
      parts.push(buf);
      buf = "";
    } else buf += ch;
  }
  parts.push(buf);
  return parts.length === 1 ? parts[0] : parts[1];
}

const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * merge.go mergeSlice: both lists into one map by key (later wins), written back sorted by the
 * key. Only called when the earlier file has the list (mergo skips transformers on nil).
 */
function keyed(base: Yaml[], over: Yaml[], key: (v: Yaml) => string | number): Yaml[] {
  const m = new Map<string | number, Yaml>();
  for (const v of [...base, ...over]) m.set(key(v), v);
  return [...m.entries()].sort((a, b) => cmp(a[0], b[0])).map(([, v]) => v);
}

/** Short specs as docker's typed ports (a host IP has no place there: swarm ignores it). */
function typedPorts(list: Yaml[], where: string, report: Report): Yaml[] {
  const out: Yaml[] = [];
  for (const p of list) {
    if (typeof p === "string" || typeof p === "number") {
      const parsed = parseShortPort(String(p));
      if (parsed?.hostIp !== undefined && parsed.hostIp !== "" && parsed.published.length > 0) {
        report.warn(
          where,
          `host IP ${parsed.hostIp} of ${String(p)} is ignored by swarm: the port is published on every address of every node; use a firewall or drop the port`,
        );
      }
      out.push(...(expandShortPort(String(p)) ?? [p])); // invalid: reported by the renderer
    } else out.push(p);
  }
  return out;
}

function portKey(p: Yaml): number | string {
  if (isMap(p)) return Number(p.published ?? 0);
  return `invalid:${String(p)}`;
}

function refSource(r: Yaml): string {
  return isMap(r) ? String(r.source ?? "") : String(r);
}

/** mergeServiceNetworkConfig, per network, after docker's list-to-map transform. */
function mergeNetworks(base: Yaml, over: Yaml): Yaml {
  const toMap = (v: Yaml): YamlMap =>
    Array.isArray(v) ? Object.fromEntries(v.map((n) => [String(n), null])) : isMap(v) ? v : {};
  const out: YamlMap = { ...toMap(base) };
  for (const [k, o] of Object.entries(toMap(over))) {
    const b = out[k];
    if (!has(out, k) || !isMap(b)) out[k] = o;
    else if (isMap(o)) {
      const r: YamlMap = { ...b };
      if (o.aliases !== undefined) r.aliases = o.aliases;
      else delete r.aliases;
      for (const a of ["ipv4_address", "ipv6_address"]) if (!emptyValue(o[a])) r[a] = o[a];
      out[k] = r;
    }
  }
  return out;
}

/** mergeLoggingConfig (via safelyMerge). */
function mergeLogging(base: Yaml, over: Yaml): Yaml {
  if (!isMap(base) || !isMap(over)) return over;
  const bd = typeof base.driver === "string" ? base.driver : "";
  const od = typeof over.driver === "string" ? over.driver : "";
  if (bd !== od && bd !== "" && od !== "") return over;
  const out: YamlMap = { ...base };
  if (bd === "" && od !== "") out.driver = od;
  // docker merges the options into a local copy of the earlier map: when the earlier logging
  // had no options, the later options are lost. Kept, as `docker stack deploy` does it.
  if (isMap(base.options) && isMap(over.options))
    out.options = { ...base.options, ...over.options };
  return out;
}

/** mergo's own rules on untyped values (x-* keys): maps merged, lists appended, else replace. */
function mergeUntyped(base: Yaml | undefined, over: Yaml): Yaml {
  if (isMap(over) && isMap(base) && Object.keys(base).length > 0) {
    const out: YamlMap = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = has(out, k) ? mergeUntyped(out[k], v) : v;
    return out;
  }
  if (Array.isArray(over) && Array.isArray(base)) return [...base, ...over];
  return over;
}

function mergeValue(
  kind: Kind,
  base: Yaml | undefined,
  over: Yaml,
  where: string,
  report: Report,
  earlier: Report,
): Yaml {
  if (base === undefined || base === null) {
    return typeof kind === "object" && typeof over === "string" && kind.fromString
      ? { [kind.fromString]: over }
      : over;
  }
  if (typeof kind === "object") return mergeStruct(kind, base, over, where, report, earlier);
  switch (kind) {
    case "uint":
      return over;
    case "append":
      return [...asList(base), ...asList(over)];
    case "command":
      return (typeof over === "string" ? over.trim() !== "" : asList(over).length > 0)
        ? over
        : base;
    case "labels":
      return { ...labelMap(base), ...labelMap(over) };
    case "env": {
      const out = environmentMap(base);
      for (const [k, v] of Object.entries(environmentMap(over))) {
        if (!(emptyValue(v) && !emptyValue(out[k]))) out[k] = v;
      }
      return out;
    }
    case "hosts":
      return [...hostsList(base), ...hostsList(over)];
    case "test": {
      const test = [...healthTest(base), ...healthTest(over)];
      report.warn(
        where,
        `docker's merge appends the test to the earlier file's, giving ${JSON.stringify(test)}, which is what deploys; write the whole test in one file`,
      );
      return test;
    }
    case "refs":
      return Array.isArray(base) ? keyed(base, asList(over), refSource) : over;
    case "ports":
      return Array.isArray(base)
        ? keyed(typedPorts(base, where, earlier), typedPorts(asList(over), where, report), portKey)
        : over;
    case "volumes":
      return Array.isArray(base) ? keyed(base, asList(over), volumeTarget) : over;
    case "ulimits":
      return isMap(base) && isMap(over) ? { ...base, ...over } : over;
    case "networks":
      return mergeNetworks(base, over);
    case "logging": {
      const merged = mergeLogging(base, over);
      if (
        isMap(over) &&
        isMap(over.options) &&
        isMap(merged) &&
        merged !== over &&
        !isMap(merged.options)
      ) {
        report.warn(
          `${where}.options`,
          "ignored: docker's merge drops logging options when the earlier file's logging has none; move the options into the earlier file",
        );
      }
      return merged;
    }
    default:
      if (!isZero(kind, over)) return over;
      if (over !== null && over !== base && !isZero(kind, base)) {
        report.warn(
          where,
          `${JSON.stringify(over)} is ignored: docker's merge never replaces a value with an empty, false or zero one, so ${JSON.stringify(base)} from the earlier file stays; remove it there instead`,
        );
      }
      return base;
  }
}

/**
 * Lists docker's schema says hold unique items, which the merge appends. docker validates each
 * file before merging, so `docker stack deploy -c a -c b` accepts `cap_add: [X]` in both files
 * (the service gets X twice, which means X once); the merged file we emit is validated as one
 * file, where the duplicate would be refused. So duplicates are kept once, with a warning.
 */
const UNIQUE = new Set([
  "cap_add", "cap_drop", "devices", "expose", "external_links", "links", "security_opt",
  "depends_on", "dns", "dns_search", "env_file", "tmpfs", "extra_hosts", "build.cache_from",
  "build.extra_hosts",
]); // prettier-ignore

function dedupe(where: string, list: Yaml, report: Report): Yaml {
  if (!Array.isArray(list)) return list;
  const seen = new Set<string>();
  const out: Yaml[] = [];
  for (const v of list) {
    const k = JSON.stringify(v);
    if (seen.has(k)) {
      report.warn(
        where,
        `${typeof v === "string" ? v : k} is listed in more than one file; docker's merge appends the lists, and the merged stack lists it once (a single stack file may not repeat it)`,
      );
    } else {
      seen.add(k);
      out.push(v);
    }
  }
  return out;
}

function mergeStruct(
  kind: Struct,
  base: Yaml,
  over: Yaml,
  where: string,
  report: Report,
  earlier: Report,
): Yaml {
  const lift = (v: Yaml): Yaml =>
    typeof v === "string" && kind.fromString ? { [kind.fromString]: v } : v;
  const b = lift(base);
  const o = lift(over);
  if (!isMap(b) || !isMap(o)) return over;
  const out: YamlMap = { ...b };
  for (const [k, v] of Object.entries(o)) {
    if (k.startsWith("x-")) out[k] = has(out, k) ? mergeUntyped(out[k], v) : v;
    else if (v === null)
      continue; // docker decodes null as the zero value: nothing to merge
    else if (has(kind.fields, k))
      out[k] = mergeValue(kind.fields[k], out[k], v, `${where}.${k}`, report, earlier);
    else out[k] = v;
  }
  // Keyed lists of a service in both files are re-keyed and sorted even when the later file
  // does not mention them: mergo calls the transformer for every field whose earlier value is set.
  for (const [k, sub] of Object.entries(kind.fields)) {
    if (has(o, k) && o[k] !== null) continue;
    if ((sub === "refs" || sub === "ports" || sub === "volumes") && Array.isArray(out[k])) {
      out[k] = mergeValue(sub, out[k], [], `${where}.${k}`, report, earlier);
    }
  }
  return out;
}

/**
 * docker's resolveEnvironment for one file's service: env_file (relative to the first file's
 * directory), then environment; a variable without a value, or empty, takes the render env's
 * value. Done per file, before the merge, as docker does: the merge's "a later empty value does
 * not replace" rule sees the resolved values.
 */
function resolveEnvironment(
  name: string,
  svc: YamlMap,
  dir: string,
  env: Record<string, string>,
  report: Report,
  read: (dir: string, rel: string, where: string, report: Report) => Buffer | undefined,
): YamlMap {
  if (!has(svc, "env_file") && !has(svc, "environment")) return svc;
  const fill = (k: string, v: Yaml): Yaml => (emptyValue(v) && has(env, k) ? env[k] : v);
  const resolved: YamlMap = {};
  asList(svc.env_file ?? null).forEach((f, i) => {
    const content = read(dir, String(f), `services.${name}.env_file[${i}]`, report);
    if (content)
      for (const [k, v] of parseEnvFile(content.toString("utf8"), env)) resolved[k] = fill(k, v);
  });
  for (const [k, v] of Object.entries(environmentMap(svc.environment))) resolved[k] = fill(k, v);
  const out: YamlMap = { ...svc, environment: resolved };
  if (has(svc, "env_file")) {
    delete out.env_file;
    report.warn(
      `services.${name}.env_file`,
      "inlined into environment (the bundle deployed on the manager does not carry env files)",
    );
  }
  return out;
}

/**
 * Merge already interpolated, top-level-normalised files in order; `origins` learns which file
 * each key came from. `read` reads a file relative to the first file's directory (`dir`).
 */
export function mergeFiles(
  inputs: MergeInput[],
  dir: string,
  env: Record<string, string>,
  origins: Origins,
  read: (dir: string, rel: string, where: string, report: Report) => Buffer | undefined,
): YamlMap {
  const [first, ...rest] = inputs;
  const out: YamlMap = { ...first.data };
  for (const [k, v] of Object.entries(first.data)) origins.record(k, first.file, v);

  // Services defined in more than one file resolve their environment per file, as docker does.
  const count = new Map<string, number>();
  for (const { data } of inputs) {
    for (const name of Object.keys(isMap(data.services) ? data.services : {})) {
      count.set(name, (count.get(name) ?? 0) + 1);
    }
  }
  const servicesOf = ({ data, report }: MergeInput): YamlMap => {
    const s: YamlMap = { ...(isMap(data.services) ? data.services : {}) };
    for (const [name, svc] of Object.entries(s)) {
      if ((count.get(name) ?? 0) > 1 && isMap(svc)) {
        s[name] = resolveEnvironment(name, svc, dir, env, report, read);
      }
    }
    return s;
  };
  const services = servicesOf(first);

  for (const input of rest) {
    const { file, data, report } = input;
    for (const k of Object.keys(data)) {
      if (k.startsWith("x-")) {
        report.warn(
          k,
          "ignored: docker stack deploy keeps the top-level x- keys of the first file only",
        );
      }
    }
    for (const [name, svc] of Object.entries(servicesOf(input))) {
      const base = services[name];
      if (isMap(base) && isMap(svc)) {
        // Messages about what the earlier files said name the file each key came from.
        const earlier = new Report(
          origins.first,
          (w) => origins.of(w),
          report.warnings,
          report.problems,
        );
        const merged = mergeStruct(
          SERVICE,
          base,
          svc,
          `services.${name}`,
          report,
          earlier,
        ) as YamlMap;
        for (const key of UNIQUE) {
          const [k, sub] = key.split(".");
          const where = `services.${name}.${key}`;
          const parent = sub === undefined ? merged : merged[k];
          const leaf = sub ?? k;
          if (isMap(parent) && Array.isArray(parent[leaf])) {
            parent[leaf] = dedupe(where, parent[leaf], report);
          }
        }
        services[name] = merged;
      } else services[name] = svc;
      if (!isMap(base)) origins.replace(`services.${name}`, file, svc);
      else origins.record(`services.${name}`, file, svc);
    }
    // merge.go mergeVolumes/Networks/Secrets/Configs: mergo.Map on map[string]<struct>: a later
    // entry replaces the earlier one whole.
    for (const section of ["networks", "volumes", "secrets", "configs"]) {
      const s = data[section];
      if (!isMap(s)) continue;
      const merged: YamlMap = { ...(isMap(out[section]) ? out[section] : {}) };
      for (const [k, v] of Object.entries(s)) {
        merged[k] = v;
        origins.replace(`${section}.${k}`, file, v);
      }
      out[section] = merged;
    }
  }
  out.services = services;
  return out;
}
