#!/usr/bin/env bash
# Waits until a droplet can take part in the swarm: cloud-init has finished (it installs Docker
# Engine) and the engine answers. Runs on the node itself; safe to re-run at any time.
# Usage: node-ready.sh [TIMEOUT_SECONDS]
set -euo pipefail

timeout_s="${1:-900}"
log() { printf 'node-ready[%s]: %s\n' "$(hostname)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# /var/lib/cloud/instance exists once cloud-init has run its first stage on this boot's instance;
# hosts that were never provisioned by cloud-init (an operator's own box, the lab) skip the wait.
if command -v cloud-init >/dev/null 2>&1 && [ -d /var/lib/cloud/instance ]; then
  log "waiting for cloud-init to finish (up to ${timeout_s}s)"
  rc=0
  timeout "$timeout_s" cloud-init status --wait >/dev/null || rc=$?
  case "$rc" in
    0) ;;
    2) log "cloud-init finished with recoverable errors; see /var/log/cloud-init-output.log" ;;
    124) die "cloud-init did not finish within ${timeout_s}s; see /var/log/cloud-init-output.log" ;;
    *) die "cloud-init failed (exit $rc); run 'cloud-init status --long' and read /var/log/cloud-init-output.log" ;;
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
