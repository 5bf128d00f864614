/**
 * Issue 16, point 8: the CLI version the program needs, and what the README says about it.
 * From pulumi/pulumi 3.238.0 (CHANGELOG: "[engine] Fail the deployment when an after hook fails",
 * #22935) a failing after hook fails the deployment; before, RunHooks only logged a warning. The
 * rolling resize re-activates a drained node in an after-update hook, so an older CLI would end a
 * failed re-activation with a green `pulumi up`. `requiredPulumiVersion` (enforced by the CLI's
 * up/preview/destroy/refresh from 3.219.0, ValidatePulumiVersionRange) refuses such CLIs.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

const root = path.resolve(__dirname, "..");
const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
  requiredPulumiVersion?: string;
};
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
const operations = fs.readFileSync(path.join(root, "docs", "operations.md"), "utf8");

/** Whether `version` satisfies a range of the one form used here, ">=X.Y.Z". */
function satisfies(range: string, version: string): boolean {
  const m = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(range);
  if (!m) throw new Error(`unexpected range ${range}`);
  const [a, b] = [m.slice(1).map(Number), version.split(".").map(Number)];
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return b[i] > a[i];
  return true;
}

test("Pulumi.yaml refuses CLIs whose failing after hooks only warn", () => {
  const range = project.requiredPulumiVersion ?? "";
  expect(range).toBe(">=3.238.0");
  expect(satisfies(range, "3.237.9")).toBe(false);
  expect(satisfies(range, "3.219.0")).toBe(false);
  expect(satisfies(range, "3.238.0")).toBe(true);
  expect(satisfies(range, "3.248.1")).toBe(true);
});

test("the README names the same minimum; it and docs/operations.md say pushed images survive destroy", () => {
  expect(readme).toMatch(/Pulumi CLI\]\([^)]*\)[^\n]*\n?[^\n]*3\.238\.0 or\s+newer/);
  expect(readme).toContain("3.238.0 fails the deployment when an after-hook fails");
  expect(readme).toMatch(/images\s+pushed to your container registry/);
  expect(operations).toContain("Images of build-only services survive `pulumi destroy`");
  expect(operations).toContain("doctl registry repository delete-manifest");
  expect(operations).toContain(
    "doctl registry garbage-collection start --include-untagged-manifests",
  );
});
