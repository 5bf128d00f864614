/**
 * The failover token's scopes as the docs tell users to create it (docs/entry-point.md, *The
 * token.*, the one place that lists them; the README links there): the boxes ticked
 * ("- `resource`: **verb**") and the scopes the panel adds (backquoted in the same bullet).
 * Used by tests/failoverAgent.test.ts and, as a CLI, by the lab, whose stand-in token holds
 * exactly these scopes (no second copy of the list):
 *
 *   npx ts-node --transpile-only tests/lab/readme-scopes.ts [DOC]   one line, comma-separated
 */
import * as fs from "fs";
import * as path from "path";

export const ENTRY_POINT_DOC = path.join(__dirname, "..", "..", "docs", "entry-point.md");

export function readmeScopes(file = ENTRY_POINT_DOC): string[] {
  const doc = fs.readFileSync(file, "utf8");
  if (!doc.includes("*The token.*")) throw new Error(`${file} has no *The token.*`);
  const section = doc.slice(doc.indexOf("*The token.*"));
  const bullets = section.slice(0, section.indexOf("\n\n", section.indexOf("\n- "))).split("\n- ");
  const scopes = new Set<string>();
  for (const b of bullets.slice(1)) {
    const tick = /^`(\w+)`: \*\*(\w+)\*\*/.exec(b);
    if (tick) scopes.add(`${tick[1]}:${tick[2]}`);
    for (const m of b.matchAll(/`(\w+:\w+)`/g)) scopes.add(m[1]);
  }
  if (scopes.size === 0) throw new Error(`${file}: *The token.* lists no scope`);
  return [...scopes];
}

if (require.main === module) {
  try {
    console.log(readmeScopes(process.argv[2]).join(","));
  } catch (e) {
    console.error(`readme-scopes: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(2);
  }
}
