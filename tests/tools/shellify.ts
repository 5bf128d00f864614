/**
 * cloud-init's util.shellify, ported line for line (cloudinit/util.py; cc_runcmd writes its
 * result as <instance>/scripts/runcmd and cloud-final runs that file): "#!/bin/sh", then one line
 * per item: a list is each word in single quotes (a ' becomes '\''), a string goes in as it is,
 * a null (a YAML comment) is skipped. No `set -e`: the script's status is its last command's.
 * `npm test` uses this port; the acceptance run (DO_SWARM_CLOUD_INIT_CODE=1) checks it against
 * cloud-init's own code, byte for byte.
 */
export function shellify(cmdlist: readonly unknown[], addHeader = true): string {
  let content = addHeader ? "#!/bin/sh\n" : "";
  for (const args of cmdlist) {
    if (Array.isArray(args)) {
      content += args.map((f) => `'${String(f).replace(/'/g, `'\\''`)}'`).join(" ") + "\n";
    } else if (typeof args === "string") {
      content += args + "\n";
    } else if (args !== null) {
      throw new TypeError(
        `Unable to shellify type '${typeof args}'. Expected list, string, tuple.`,
      );
    }
  }
  return content;
}
