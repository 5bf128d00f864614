#!/usr/bin/env bash
# Runs on a node whose group has a volume, once DigitalOcean has attached it: waits for the
# volume's device, mounts it at MOUNT by its stable id (one fstab line: defaults,nofail,discard,
# noatime; DigitalOcean's own first-attach mount elsewhere, its systemd mount unit, is undone),
# and creates the data directory MOUNT/data ON the volume. Services bind MOUNT/data: it exists only while the volume
# is mounted, so a volume that failed to mount makes their tasks fail to start instead of
# writing to the droplet's own disk. Formats only a device with no filesystem signature at all
# (DigitalOcean formats new volumes; a restored one has its snapshot's). Safe to re-run.
# Usage: volume-mount.sh VOLUME_NAME MOUNT [DEVICE_PREFIX] [TIMEOUT_SECONDS]
set -euo pipefail

log() { printf 'volume-mount[%s]: %s\n' "$(hostname)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -ge 2 ] || die "usage: volume-mount.sh VOLUME_NAME MOUNT [DEVICE_PREFIX] [TIMEOUT_SECONDS]"
name=$1
mount=$2
prefix=${3:-/dev/disk/by-id/scsi-0DO_Volume_}
timeout_s=${4:-300}
dev="$prefix$name"
data="$mount/data"
# (Both overridable only for the tests: sshd passes no such variable.)
fstab=${DO_SWARM_FSTAB:-/etc/fstab}
units=${DO_SWARM_UNIT_DIR:-/etc/systemd/system}
case "$mount" in /?*) ;; *) die "MOUNT must be an absolute path, not '$mount'" ;; esac

# cloud-init may still be installing packages on a new droplet.
if command -v cloud-init >/dev/null 2>&1 && [ -d /var/lib/cloud/instance ]; then
  timeout "$timeout_s" cloud-init status --wait >/dev/null || true
fi

deadline=$((SECONDS + timeout_s))
until [ -b "$dev" ]; do
  [ "$SECONDS" -lt "$deadline" ] ||
    die "no device $dev after ${timeout_s}s: is volume $name attached to this droplet? (doctl compute volume list)"
  sleep 1
done
real=$(readlink -f "$dev")

fstype=$(blkid -p -o value -s TYPE "$real" 2>/dev/null) || rc=$?
if [ -z "${fstype:-}" ]; then
  # blkid -p exits 2 only when it found no signature at all: a new, unformatted volume.
  [ "${rc:-0}" = 2 ] || die "cannot read the filesystem of $dev (blkid exit ${rc:-0})"
  log "$dev has no filesystem: formatting it xfs"
  mkfs.xfs -q "$real" # without -f: refuses a device with any signature
  fstype=xfs
fi
case "$fstype" in
  xfs | ext4) ;;
  *) die "$dev holds a '$fstype' filesystem; do-swarm volumes are xfs (or ext4)" ;;
esac

# DigitalOcean's automount: at a pre-formatted volume's first attach, a systemd mount unit in
# /etc/systemd/system mounts it at /mnt/<name> (mnt-<name>.mount, e.g. mnt-volume_nyc_01.mount;
# docs.digitalocean.com/products/volumes/details/naming-conventions/), not an fstab line. Left
# there, it mounts the volume a second time at every boot. Remove the unit whose What= is THIS
# volume's device, whatever its name: disable, stop (unmounts it), delete, daemon-reload.
# Nothing to do once it is gone.
removed=0
for unit in "$units"/*.mount; do
  [ -f "$unit" ] || continue
  awk -F= -v d="$dev" '$1 == "What" { sub(/^[ \t]+/, "", $2); sub(/[ \t]+$/, "", $2); if ($2 == d) f = 1 }
    END { exit !f }' "$unit" || continue
  u=${unit##*/}
  log "removing DigitalOcean's mount unit $u for $dev (it would mount the volume again at every boot)"
  systemctl disable "$u" >/dev/null 2>&1 || true
  systemctl stop "$u" || log "WARNING: systemctl stop $u failed; unmounting below"
  rm -f "$unit" "$units"/*.wants/"$u"
  removed=1
done
if [ "$removed" = 1 ]; then systemctl daemon-reload || true; fi

# Mounted somewhere else (DigitalOcean mounts a formatted volume at /mnt/<name> on its first
# attach): unmount it there; its fstab line goes below.
while read -r other; do
  if [ -z "$other" ] || [ "$other" = "$mount" ]; then continue; fi
  log "unmounting $dev from $other (mounted there by DigitalOcean at its first attach)"
  umount "$other"
done < <(findmnt -rn -S "$real" -o TARGET || true)

# One fstab line for this device and this mount point: ours. Written in place (cat >), so the
# file keeps its inode.
line="$dev $mount $fstype defaults,nofail,discard,noatime 0 2"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
awk -v d="$dev" -v m="$mount" '$1 != d && $2 != m' "$fstab" >"$tmp"
printf '%s\n' "$line" >>"$tmp"
if ! cmp -s "$tmp" "$fstab"; then
  cat "$tmp" >"$fstab"
  log "fstab: $line"
  if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
fi

mkdir -p "$mount"
if ! mountpoint -q "$mount"; then
  if [ -n "$(ls -A "$mount")" ]; then
    # Written while no volume was mounted: on the droplet's own disk. Kept, never hidden.
    die "$mount is not mounted but not empty (files written on the root disk?): move them away, then run again"
  fi
  mount "$mount"
fi
src=$(findmnt -rn -M "$mount" -o SOURCE)
[ "$(readlink -f "$src")" = "$real" ] || die "$mount holds $src, not $dev"
mkdir -p "$data"
log "$name mounted at $mount ($fstype, $(df -h --output=size "$mount" | tail -n 1 | tr -d ' ')); services bind $data"
