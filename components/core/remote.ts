import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";

/** The heredoc delimiter that wraps a script; no script may contain it on a line of its own. */
const DELIMITER = "DO_SWARM_SCRIPT_EOF";

/** A script's line sourcing a helper next to it: `. "$(dirname "$0")/lib/NAME.sh"`. */
const SOURCE_LIB = /^\. "\$\(dirname "\$0"\)\/(lib\/[A-Za-z0-9_-]+\.sh)"$/;

/**
 * Reads the script NAME of `dir` (a capability's `components/<capability>/scripts`, whose
 * scripts the lab runs as the very same files), with every helper it sources from `lib/` inlined: the script runs from a temp file on the node, where no lib/ exists, and
 * the same file still runs as it is from the repository (the lab, shellcheck).
 */
export function readScript(name: string, dir: string): string {
  const text = fs
    .readFileSync(path.join(dir, name), "utf8")
    .split("\n")
    .map((line) => {
      const lib = SOURCE_LIB.exec(line)?.[1];
      return lib ? fs.readFileSync(path.join(dir, lib), "utf8").replace(/\n*$/, "") : line;
    })
    .join("\n");
  if (text.split("\n").some((line) => line === DELIMITER)) {
    throw new Error(`${name} contains the line ${DELIMITER}, which would end its heredoc early`);
  }
  return text;
}

/** Quotes one word for a POSIX shell: the result is always a single, literal argument. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'"'"'`)}'`;
}

/**
 * Builds the command string a `remote.Command` sends over SSH to run the script NAME of `dir`
 * (`components/<capability>/scripts`) with ARGS.
 *
 * Why this shape: the script travels inside the command (a quoted heredoc written to a private
 * temp file), so `pulumi preview` shows a readable diff when a script or an argument changes, and
 * the node needs nothing pre-installed. The command's standard input is left free for the
 * payload that must stay secret (a join token, a rendered stack holding secret values): it never
 * appears in argv, in `ps`, in the command string or in the plaintext state. Arguments must
 * therefore never carry secrets.
 */
export function scriptCommand(name: string, args: readonly string[], dir: string): string {
  const body = readScript(name, dir).replace(/\n*$/, "\n");
  const argv = args.map(shellQuote).join(" ");
  return [
    `set -e; f=$(mktemp /tmp/do-swarm.XXXXXX); trap 'rm -f "$f"' EXIT`,
    `cat > "$f" <<'${DELIMITER}'`,
    body + DELIMITER,
    `bash "$f"${argv ? " " + argv : ""}`,
  ].join("\n");
}

/** OpenSSH refuses a private key file whose last line has no newline ("invalid format"). */
export const withFinalNewline = (key: string) => (key.endsWith("\n") ? key : `${key}\n`);

export type Connection = command.types.input.remote.ConnectionArgs;

/** How every command logs in: as root with the program's key, patient while a droplet boots. */
export function sshConnection(
  host: pulumi.Input<string>,
  privateKey: pulumi.Input<string>,
  dialAttempts: number,
): Connection {
  return {
    host,
    user: "root",
    privateKey: pulumi.secret(privateKey),
    dialErrorLimit: dialAttempts,
    perDialTimeout: 10,
  };
}
