// node-register.sh against a stand-in docker: besides labelling the node that joined, it removes
// the entries of joins that never completed (no hostname, never Ready, over a minute old), which
// the lab saw left behind by a manager's join on a loaded machine and which kept the edge's
// global service from converging; an entry still joining, or a live one, is left alone.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { scriptCommand } from "../components/core/remote";
import { SWARM_SCRIPTS } from "../components/swarm/cloudInit";

test("removes a join's leftover entry (no hostname, not Ready, a minute old); one still joining reports in time and is kept; live nodes are kept", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-register-"));
  const now = Math.floor(Date.now() / 1000);
  // id -> hostname|state|created
  const nodes: Record<string, string> = {
    n1: `m1|ready|${now - 3600}`,
    ghost: `|unknown|${now - 300}`,
    // Reports its hostname on the second look (a join in progress).
    young: `|unknown|${now - 10}`,
    nameless: `|ready|${now - 300}`,
  };
  fs.writeFileSync(
    path.join(dir, "docker"),
    `#!/usr/bin/env bash
echo "$*" >>"${dir}/calls"
id="\${*: -1}"
case "$*" in
  "node inspect n1") ;;
  "node inspect --format {{.Description.Hostname}} n1") echo m1 ;;
  "node inspect --format {{.Status.State}} n1") echo ready ;;
  "node inspect --format {{index .Spec.Labels \\"do-swarm.managed-labels\\"}} n1") echo ;;
  "node update "*) ;;
  "node ls --format {{.ID}} {{.Hostname}}") printf '%s\\n' ${Object.entries(nodes)
    .map(([id, v]) => `'${id} ${v.split("|")[0]}'`)
    .join(" ")} ;;
  "node ls -q") printf '%s\\n' ${Object.keys(nodes).join(" ")} ;;
  "node inspect --format {{.Description.Hostname}}|{{.Status.State}}|{{.CreatedAt.Unix}} "*)
    case "$id" in
      young) if [ -f "${dir}/young.seen" ]; then echo 'w9|ready|${now - 8}'; else touch "${dir}/young.seen"; echo '${nodes.young}'; fi ;;
      ${Object.entries(nodes)
        .filter(([id]) => id !== "young")
        .map(([id, v]) => `${id}) echo '${v}' ;;`)
        .join(" ")}
    esac ;;
  "node rm --force "*) ;;
  *) echo "fake docker: unexpected: $*" >&2; exit 99 ;;
esac
`,
    { mode: 0o755 },
  );
  const r = spawnSync(
    "bash",
    ["-c", scriptCommand("node-register.sh", ["n1", "do-swarm.pool=manager"], SWARM_SCRIPTS)],
    { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } },
  );
  const calls = fs.readFileSync(path.join(dir, "calls"), "utf8");
  fs.rmSync(dir, { recursive: true, force: true });
  expect(r.stderr).toMatch(
    /removing the entry ghost of a join that never completed \(unknown, created 30\ds ago\)/,
  );
  expect(r.status).toBe(0);
  expect(calls.split("\n").filter((c) => c.startsWith("node rm"))).toEqual([
    "node rm --force ghost",
  ]);
});
