// A service's `volumes:` entries as docker's stack loader reads them, for the two rules that
// depend on them: which mounts are data two tasks must not share (update order, defaults.ts)
// and which name a top-level volume that must be declared (references.ts).
import { Yaml, isMap } from "./types";

export interface Mount {
  /** volume, bind, tmpfs, npipe, cluster, image (or whatever a long entry says). */
  type: string;
  /** Empty for an anonymous volume (and for tmpfs). */
  source: string;
  target: string;
  readOnly: boolean;
}

/**
 * docker/cli internal/volumespec isFilePath: a source starting with `.`, `/` or `~`, a Windows
 * drive (`C:`) or a `\\` pipe is a host path (a bind); any other source names a volume.
 */
function isFilePath(source: string): boolean {
  if (/^[./~]/.test(source)) return true;
  const chars = [...source];
  if (chars.length === 1) return false;
  return source.startsWith("\\\\") || (/^\p{L}$/u.test(chars[0]) && chars[1] === ":");
}

/**
 * The short syntax `[SOURCE:]TARGET[:MODE]`, parsed as docker/cli's volumespec.Parse does: a
 * one- or two-character spec is an anonymous volume; `C:` stays inside a part; the type is bind
 * for a host path, volume otherwise (anonymous when there is no source). Undefined where docker
 * refuses the spec (an empty part, too many colons): docker reports those itself.
 */
function parseShort(spec: string): Mount | undefined {
  if (spec.length === 0) return undefined;
  const m: Mount = { type: "volume", source: "", target: "", readOnly: false };
  if (spec.length <= 2) return { ...m, target: spec };
  let buffer: string[] = [];
  const chars = [...spec];
  for (let i = 0; i <= chars.length; i++) {
    const c = i < chars.length ? chars[i] : undefined; // undefined: the end of the spec
    if (c === ":" && buffer.length === 1 && /^\p{L}$/u.test(buffer[0])) {
      buffer.push(c); // a Windows drive letter
    } else if (c === ":" || c === undefined) {
      const part = buffer.join("");
      if (part === "") return undefined;
      if (m.source === "" && c === undefined) m.target = part;
      else if (m.source === "") m.source = part;
      else if (m.target === "") m.target = part;
      else if (c === ":") return undefined;
      else {
        for (const option of part.split(",")) {
          if (option === "ro") m.readOnly = true;
          else if (option === "rw") m.readOnly = false;
        }
      }
      buffer = [];
    } else {
      buffer.push(c);
    }
  }
  if (m.source !== "" && isFilePath(m.source)) m.type = "bind";
  return m;
}

/** One `volumes:` entry of a service, short or long syntax; undefined if docker would refuse it. */
export function parseMount(entry: Yaml): Mount | undefined {
  if (typeof entry === "string") return parseShort(entry);
  if (!isMap(entry) || typeof entry.type !== "string") return undefined;
  return {
    type: entry.type,
    source: typeof entry.source === "string" ? entry.source : "",
    target: typeof entry.target === "string" ? entry.target : "",
    readOnly: entry.read_only === true,
  };
}

/**
 * The named volume a mount needs declared under the top-level `volumes:`, if any. docker/cli's
 * convert (cli/compose/convert/volume.go) fails the deploy with `undefined volume "NAME"` for a
 * volume-type mount with a source, and for a cluster mount whose source is not `group:...`;
 * anonymous volumes, binds, tmpfs, npipe and image mounts need nothing.
 */
export function volumeNeeded(m: Mount): string | undefined {
  if ((m.type === "volume" || m.type === "") && m.source !== "") return m.source;
  if (m.type === "cluster" && m.source !== "" && !m.source.startsWith("group:")) return m.source;
  return undefined;
}

/** Host paths that are kernel interfaces or runtime sockets, not data: /var/run/docker.sock. */
const NOT_DATA = ["/proc", "/sys", "/dev", "/run", "/var/run"];

/**
 * Does the mount hold data that an old and a new task must not both write? What counts:
 *  - a named volume or a cluster volume: the new task on the same node gets the same volume;
 *  - a bind of a host path (`/mnt/do-swarm-data/data`, `./data`, `~/x`): the same directory;
 *    except kernel interfaces and runtime sockets (/proc, /sys, /dev, /run, /var/run: a proxy
 *    watching /var/run/docker.sock is made to be shared, and holds no data).
 * What does not:
 *  - a read-only mount: a task that cannot write cannot corrupt it, and a config bind is read
 *    by both tasks safely (if another service writes it, that service's own order decides);
 *  - an anonymous volume, a tmpfs: each task gets its own, empty;
 *  - npipe (Windows) and image mounts (read-only by nature).
 * Returns a description for messages (`volume pgdata at /var/lib/postgresql/data`), or undefined.
 */
export function writableData(m: Mount): string | undefined {
  if (m.readOnly) return undefined;
  const at = m.target !== "" ? ` at ${m.target}` : "";
  if (m.type === "volume" || m.type === "cluster" || m.type === "") {
    return m.source !== "" ? `${m.type || "volume"} ${m.source}${at}` : undefined;
  }
  if (m.type === "bind") {
    const p = m.source.replace(/\/+$/, "");
    if (NOT_DATA.some((d) => p === d || p.startsWith(`${d}/`))) return undefined;
    return `bind ${m.source}${at}`;
  }
  return undefined;
}

/** The first writable data mount of a service's `volumes:` (see writableData), if any. */
export function firstWritableData(volumes: Yaml | undefined): string | undefined {
  if (!Array.isArray(volumes)) return undefined;
  for (const v of volumes) {
    const m = parseMount(v);
    const d = m && writableData(m);
    if (d) return d;
  }
  return undefined;
}
