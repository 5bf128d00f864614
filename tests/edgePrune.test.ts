// edge-prune-configs.sh against a stand-in `docker` first on PATH: after a deploy, the edge
// stack's docker configs that no service names (in its spec or its previous spec, which a
// rollback returns to) are removed; used ones, other stacks' and ones docker refuses stay; it
// never fails. (Issue 27, item 5: every route change left an unused Caddyfile config behind.)
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { scriptCommand } from "../components/core/remote";
import { edgeDeployCommand } from "../components/edge";
import { EDGE_SCRIPTS } from "../components/edge/stack";

const FAKE_DOCKER = String.raw`#!/usr/bin/env bash
echo "docker $*" >>"$FAKE/calls"
case "$1 $2" in
  "config ls")
    [ "$4" = "label=com.docker.stack.namespace=do-swarm-edge" ] || exit 98
    [ -n "$FAKE_LS_FAILS" ] && exit 1
    printf '%s\n' do-swarm-edge_caddyfile_new do-swarm-edge_caddyfile_prev do-swarm-edge_caddyfile_old1 \
      do-swarm-edge_caddyfile_old2 do-swarm-edge_edge_caddy_sh_a do-swarm-edge_caddyfile_busy ;;
  "service ls") printf '%s\n' id-caddy id-config ;;
  "service inspect")
    echo "do-swarm-edge_edge_caddy_sh_a "
    echo "do-swarm-edge_caddyfile_new do-swarm-edge_caddyfile_prev " ;;
  "config rm")
    [ "$3" = do-swarm-edge_caddyfile_busy ] && { echo "in use by service x" >&2; exit 1; }
    echo "$3" ;;
  *) echo "fake docker: unexpected: $*" >&2; exit 99 ;;
esac
`;

function prune(env: Record<string, string> = {}) {
  const fake = fs.mkdtempSync(path.join(os.tmpdir(), "do-swarm-fake-"));
  fs.writeFileSync(path.join(fake, "docker"), FAKE_DOCKER, { mode: 0o755 });
  const run = spawnSync(
    "bash",
    ["-c", scriptCommand("edge-prune-configs.sh", ["do-swarm-edge"], EDGE_SCRIPTS)],
    {
      env: {
        ...process.env,
        PATH: `${fake}:${process.env.PATH}`,
        FAKE: fake,
        FAKE_LS_FAILS: "",
        ...env,
      },
    },
  );
  const calls = fs.readFileSync(path.join(fake, "calls"), "utf8").trim().split("\n");
  fs.rmSync(fake, { recursive: true, force: true });
  return { status: run.status, stderr: run.stderr.toString(), calls };
}

test("only the configs no service of the stack names are removed; used and previous ones stay", () => {
  const r = prune();
  expect(r.status).toBe(0);
  expect(r.calls.filter((c) => c.startsWith("docker config rm")).sort()).toEqual([
    "docker config rm do-swarm-edge_caddyfile_busy",
    "docker config rm do-swarm-edge_caddyfile_old1",
    "docker config rm do-swarm-edge_caddyfile_old2",
  ]);
  expect(r.calls).toContain(
    "docker service inspect --format {{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{.ConfigName}} {{end}}{{if .PreviousSpec}}{{range .PreviousSpec.TaskTemplate.ContainerSpec.Configs}}{{.ConfigName}} {{end}}{{end}} id-caddy id-config",
  );
  expect(r.stderr).toContain(
    "removed do-swarm-edge_caddyfile_old1 (no service of the stack uses it)",
  );
  expect(r.stderr).toContain("kept do-swarm-edge_caddyfile_busy (docker refused to remove it)");
  expect(r.stderr).toContain("2 unused config(s) removed");
});

test("a docker that cannot list removes nothing and fails nothing", () => {
  const r = prune({ FAKE_LS_FAILS: "1" });
  expect(r.status).toBe(0);
  expect(r.calls.some((c) => c.startsWith("docker config rm"))).toBe(false);
  expect(r.stderr).toContain("could not list the stack's configs; nothing removed");
});

test("the edge's deploy prunes only after stack-deploy.sh succeeded, and a prune never fails it", () => {
  const c = edgeDeployCommand(300);
  const deployEnd = c.indexOf("\n) && { (\n");
  expect(deployEnd).toBeGreaterThan(0);
  expect(c.slice(0, deployEnd)).toContain("stack-deploy[");
  expect(c.slice(deployEnd)).toContain("edge-prune-configs[");
  expect(c.endsWith("\n) </dev/null || true; }")).toBe(true);
  // As a whole: a failed deploy skips the prune and fails; a failed prune does not fail it.
  const shape = (deploy: string, prune: string) =>
    spawnSync("bash", ["-c", `(\n${deploy}\n) && { (\n${prune}\n) </dev/null || true; }`]).status;
  expect(shape("exit 3", "exit 0")).not.toBe(0);
  expect(shape("true", "exit 1")).toBe(0);
});
