/**
 * Writes the Caddyfile of every edge configuration the tests render (tests/fixtures/edge) to
 * DIR, one file per case, for Caddy's own validator:
 *
 *   npx ts-node --transpile-only tests/tools/edge-fixtures.ts DIR
 *   for f in DIR/*.Caddyfile; do caddy validate --config "$f" --adapter caddyfile; done
 */
import * as fs from "fs";
import * as path from "path";
import { planEdge } from "../../components/edge";
import { withBasicAuthHashes } from "../../components/edge/caddyfile";
import { EDGE_CASES, FIXTURE_HASHES } from "../fixtures/edge/cases";

const dir = process.argv[2];
if (dir === undefined) {
  process.stderr.write("usage: edge-fixtures.ts DIR\n");
  process.exit(2);
}
fs.mkdirSync(dir, { recursive: true });
for (const c of EDGE_CASES) {
  const plan = planEdge(c.edge, c.domains, c.entryPoint);
  // As the nodes get it: the basic-auth hashes in place of their placeholders.
  fs.writeFileSync(
    path.join(dir, `${c.name}.Caddyfile`),
    withBasicAuthHashes(plan.caddyfile, FIXTURE_HASHES),
  );
  process.stdout.write(`${c.name}.Caddyfile\n`);
}
