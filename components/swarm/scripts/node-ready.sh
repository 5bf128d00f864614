#!/usr/bin/env bash
# Waits until a droplet can take part in the swarm: cloud-init has finished, Docker Engine is
# installed (install-docker.sh left its marker) and the engine answers. Runs on the node itself;
# safe to re-run at any time.
#
# A failed first-boot install fails at once, printing the installer's own log, instead of
# waiting for an engine that will never come. The next run (the next `pulumi up`) runs the
# installer again: it is idempotent, and a transient cause (a mirror down, a lock held past its
# bound) has usually passed by then.
# Usage: node-ready.sh [TIMEOUT_SECONDS]
# DO_SWARM_ROOT (tests only) puts every file this script reads or writes under another root.
set -euo pipefail

timeout_s="${1:-900}"
root="${DO_SWARM_ROOT:-}"
installer="$root/usr/local/lib/do-swarm/install-docker.sh"
marker="$root/var/lib/do-swarm/docker-installed"
install_log="$root/var/log/do-swarm-install-docker.log"
reported="$root/var/lib/do-swarm/install-failure-reported"
log() { printf 'node-ready[%s]: %s\n' "$(hostname)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

show_install_log() {
  if [ -s "$install_log" ]; then
    log "the Docker install's log ($install_log), last lines:"
    tail -n 40 "$install_log" | sed 's/^/    | /' >&2
  else
    log "the Docker install never ran (no $install_log); cloud-init says:"
    { cloud-init status --long 2>&1 || true; } | sed 's/^/    | /' >&2
    if [ -f "$root/var/log/cloud-init-output.log" ]; then
      tail -n 20 "$root/var/log/cloud-init-output.log" | sed 's/^/    | /' >&2
    fi
  fi
}

# /var/lib/cloud/instance exists once cloud-init has run its first stage on this boot's instance;
# hosts that were never provisioned by cloud-init (an operator's own box, the lab) skip the wait.
ci_rc=0
if command -v cloud-init >/dev/null 2>&1 && [ -d "$root/var/lib/cloud/instance" ]; then
  log "waiting for cloud-init to finish (up to ${timeout_s}s)"
  timeout "$timeout_s" cloud-init status --wait >/dev/null || ci_rc=$?
  [ "$ci_rc" -ne 124 ] || die "cloud-init did not finish within ${timeout_s}s; see /var/log/cloud-init-output.log"
fi

if [ -x "$installer" ]; then
  # Booted with do-swarm's user data: the marker, written last by the installer, is the verdict.
  if [ ! -f "$marker" ]; then
    if [ ! -f "$reported" ]; then
      show_install_log
      mkdir -p "$(dirname "$reported")"
      date -u +%FT%TZ >"$reported"
      die "the first boot's Docker install failed (cloud-init exit $ci_rc). The next 'pulumi up' runs it again on this node; if the log above names a cause of yours (dockerVersion), fix it first"
    fi
    log "the first boot's Docker install failed earlier (reported $(cat "$reported")); running it again"
    if ! DO_SWARM_ROOT="$root" "$installer" >&2 || [ ! -f "$marker" ]; then
      die "the Docker install failed again (its output is above and in $install_log); the next 'pulumi up' tries once more"
    fi
    rm -f "$reported"
  fi
  log "Docker Engine installed: $(cat "$marker")"
  [ "$ci_rc" -eq 0 ] || log "cloud-init reported errors (exit $ci_rc) in other steps; see 'cloud-init status --long'"
else
  # An older do-swarm's user data (no marker) or no cloud-init: cloud-init's verdict, as before.
  case "$ci_rc" in
    0) ;;
    2) log "cloud-init finished with recoverable errors; see /var/log/cloud-init-output.log" ;;
    *) die "cloud-init failed (exit $ci_rc); run 'cloud-init status --long' and read /var/log/cloud-init-output.log" ;;
  esac
fi

deadline=$((SECONDS + timeout_s))
until docker info >/dev/null 2>&1; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    die "Docker Engine did not answer within ${timeout_s}s; check 'systemctl status docker' and 'journalctl -u docker'"
  fi
  sleep 2
done
log "Docker Engine $(docker version --format '{{.Server.Version}}') is ready"
