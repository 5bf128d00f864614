"""Prints the runcmd script cloud-init makes from #cloud-config user data read on stdin, made by
cloud-init's own code: its YAML loader (util.load_yaml, what the cloud-config part handler uses)
and its runcmd module's handle(), which writes <instance>/scripts/runcmd with util.shellify.
Run with the Python cloud-init itself runs with (the shebang of `cloud-init`). Used by
tests/boot.test.ts when DO_SWARM_CLOUD_INIT_CODE=1 (the acceptance run of .ci/run)."""
import inspect
import logging
import os
import sys
import tempfile

from cloudinit import util
from cloudinit.config import cc_runcmd


class Cloud:
    """The one thing cc_runcmd asks of the cloud: the instance's paths."""

    def __init__(self, directory):
        self.directory = directory

    def get_ipath(self, name=None):
        return os.path.join(self.directory, name) if name else self.directory


cfg = util.load_yaml(sys.stdin.read())
with tempfile.TemporaryDirectory() as d:
    # handle(name, cfg, cloud, log, args) before cloud-init 23.2, handle(name, cfg, cloud, args) after.
    if "log" in inspect.signature(cc_runcmd.handle).parameters:
        cc_runcmd.handle("runcmd", cfg, Cloud(d), logging.getLogger("runcmd"), [])
    else:
        cc_runcmd.handle("runcmd", cfg, Cloud(d), [])
    with open(os.path.join(d, "scripts", "runcmd")) as f:
        sys.stdout.write(f.read())
