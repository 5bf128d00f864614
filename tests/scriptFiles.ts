/** Every script the program sends, wherever its capability keeps it: components/<capability>/scripts. */
import * as fs from "fs";
import * as path from "path";

export const COMPONENTS = path.join(__dirname, "..", "components");

/** Each script and lib/ helper, as a path under components/ ("swarm/scripts/lib/swarm.sh"). */
export function allScripts(): string[] {
  return fs
    .readdirSync(COMPONENTS)
    .map((capability) => path.join(capability, "scripts"))
    .filter((dir) => fs.existsSync(path.join(COMPONENTS, dir)))
    .flatMap((dir) => [
      ...fs
        .readdirSync(path.join(COMPONENTS, dir))
        .filter((f) => f.endsWith(".sh"))
        .map((f) => path.join(dir, f)),
      ...(fs.existsSync(path.join(COMPONENTS, dir, "lib"))
        ? fs.readdirSync(path.join(COMPONENTS, dir, "lib")).map((f) => path.join(dir, "lib", f))
        : []),
    ]);
}
