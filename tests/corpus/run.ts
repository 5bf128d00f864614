/**
 * `npm run test:corpus -- [DIR]`: the renderer's acceptance suite on the real-world compose
 * corpus. DIR defaults to ../shared/corpus (beside the checkout, where our CI keeps it). A
 * missing folder is a failure that names it, never a silent pass.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  process.stdout.write(
    "usage: npm run test:corpus -- [DIR]\n" +
      "Runs the compose renderer's acceptance tests on a folder of real-world stack files\n" +
      "(DIR, default ../shared/corpus beside the checkout); a missing folder fails, naming it.\n",
  );
  process.exit(0);
}

const root = path.resolve(__dirname, "../..");
const arg = process.argv[2];
const dir = path.resolve(arg ?? path.join(root, "..", "shared", "corpus"));

function fail(message: string): never {
  process.stderr.write(`test:corpus: ${message}\n`);
  process.exit(2);
}

if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
  fail(
    `corpus folder ${dir} does not exist` +
      (arg === undefined ? " (the default, ../shared/corpus beside the checkout)" : "") +
      ". Pass the folder: npm run test:corpus -- DIR. Most users never need this suite: npm test covers the same behaviours with the project's fixtures.",
  );
}
if (!fs.readdirSync(dir).some((f) => f.endsWith(".yml"))) {
  fail(`corpus folder ${dir} has no *.yml files`);
}
process.stdout.write(`test:corpus: ${dir}\n`);
const jest = spawnSync(
  process.execPath,
  [require.resolve("jest/bin/jest"), "--config", path.join(root, "jest.corpus.config.js")],
  { cwd: root, stdio: "inherit", env: { ...process.env, DO_SWARM_CORPUS: dir } },
);
process.exit(jest.status ?? 1);
