#!/usr/bin/env bash
# Installs Docker Engine on an Ubuntu droplet from Docker's apt repository, at the newest release
# matching the pinned version, and holds the packages so unattended upgrades never restart every
# node's engine at once. cloud-init writes this file and runs it at first boot (runcmd);
# node-ready.sh runs it again when that install failed.
#
# Success is recorded in a marker written LAST (/var/lib/do-swarm/docker-installed): node-ready.sh
# trusts nothing else. Idempotent: with the marker present it does nothing (it never upgrades a
# running engine); without it every step may run again. Its output also goes to
# /var/log/do-swarm-install-docker.log, which node-ready.sh prints when the install failed.
#
# The dpkg lock: on a fresh droplet unattended-upgrades holds it for minutes. Every apt-get call
# waits for it (DPkg::Lock::Timeout) and is retried while a lock is held, for at most
# APT_LOCK_TIMEOUT seconds (600) over the whole install; other failures (a download that broke)
# are tried 3 times.
#
# Usage: install-docker.sh [DOCKER_VERSION]   "28.5" (newest 28.5.x) or "28.5.2"; by default the
#   version in /etc/do-swarm/docker-version (written by cloud-init).
# DO_SWARM_ROOT (tests only) puts every file this script reads or writes under another root.
set -euo pipefail

root="${DO_SWARM_ROOT:-}"
marker="$root/var/lib/do-swarm/docker-installed"
log_file="$root/var/log/do-swarm-install-docker.log"
lock_timeout_s="${APT_LOCK_TIMEOUT:-600}"
lock_deadline=$((SECONDS + lock_timeout_s)) # for the whole install, not per apt call
retry_pause_s=10

log() { printf 'do-swarm install-docker: %s\n' "$*"; }
die() {
  log "ERROR: $*"
  exit 1
}

# apt_retry TOOL ARGS...: apt-get or apt-mark that waits for the dpkg lock and retries, bounded (see
# the header). The lock wait is apt's own (DPkg::Lock::Timeout, what is left of the budget); the
# loop covers what that option does not: the lists lock of a concurrent `apt-get update`.
apt_retry() {
  local tool="$1" failures=0 rc out left
  shift
  out="$(mktemp)"
  while :; do
    rc=0
    left=$((lock_deadline - SECONDS))
    [ "$left" -gt 0 ] || left=0
    DEBIAN_FRONTEND=noninteractive "$tool" -o DPkg::Lock::Timeout="$left" -o Acquire::Retries=3 \
      -o APT::Update::Error-Mode=any "$@" 2>&1 | tee "$out" || rc=$?
    [ "$rc" -ne 0 ] || break
    if grep -q 'Could not get lock\|Unable to acquire the dpkg frontend lock\|Unable to lock' "$out"; then
      [ "$SECONDS" -lt "$lock_deadline" ] ||
        die "$tool $1: the apt/dpkg lock was still held after ${lock_timeout_s}s ($(grep -m1 'Could not get lock' "$out" || echo 'by another apt process')); is unattended-upgrades still running? (see /var/log/unattended-upgrades/)"
      log "$tool $1: the apt/dpkg lock is held by another process; waiting (up to ${lock_timeout_s}s in all)"
    else
      failures=$((failures + 1))
      [ "$failures" -lt 3 ] || die "$tool $* failed $failures times (exit $rc)"
      log "$tool $1 failed (exit $rc), attempt $failures of 3; trying again in ${retry_pause_s}s"
    fi
    sleep "$retry_pause_s"
  done
  rm -f "$out"
}

main() {
  local version pattern v
  version="${1:-$(cat "$root/etc/do-swarm/docker-version" 2>/dev/null || true)}"
  [ -n "$version" ] || die "no Docker version given and none in /etc/do-swarm/docker-version"
  if [ -f "$marker" ]; then
    log "already installed: $(cat "$marker"); nothing to do"
    return 0
  fi
  log "installing Docker Engine $version ($(date -u +%FT%TZ))"
  apt_retry apt-get update
  apt_retry apt-get install -y ca-certificates curl
  install -m 0755 -d "$root/etc/apt/keyrings"
  curl -fsSL --retry 5 --retry-delay 3 --retry-connrefused \
    https://download.docker.com/linux/ubuntu/gpg -o "$root/etc/apt/keyrings/docker.asc"
  chmod a+r "$root/etc/apt/keyrings/docker.asc"
  # shellcheck source=/dev/null
  . "$root/etc/os-release"
  echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/ubuntu ${VERSION_CODENAME:?} stable" \
    >"$root/etc/apt/sources.list.d/docker.list"
  apt_retry apt-get update
  # [.] rather than \. : awk -v would turn the backslash escape into a plain "any character".
  pattern="^5:${version//./[.]}[.-]"
  v="$(apt-cache madison docker-ce | awk -v p="$pattern" '$3 ~ p { print $3; exit }')"
  [ -n "$v" ] || die "Docker Engine $version is not in Docker's apt repository (set do-swarm:dockerVersion to a released version)"
  apt_retry apt-get install -y "docker-ce=$v" "docker-ce-cli=$v" containerd.io docker-buildx-plugin
  apt_retry apt-mark hold docker-ce docker-ce-cli containerd.io
  systemctl enable --now docker
  docker version --format '{{.Server.Version}}' >/dev/null || die "Docker Engine $v was installed but does not answer; see 'journalctl -u docker'"
  # Last: only a complete install leaves the marker.
  mkdir -p "$(dirname "$marker")"
  printf 'docker-ce=%s\n' "$v" >"$marker.tmp"
  mv "$marker.tmp" "$marker"
  log "Docker Engine $v installed and held"
}

mkdir -p "$(dirname "$log_file")"
main "$@" 2>&1 | tee -a "$log_file"
