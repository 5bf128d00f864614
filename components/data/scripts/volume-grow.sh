#!/usr/bin/env bash
# Runs on a node after DigitalOcean has resized its volume: waits until the kernel sees the new
# size (asking the SCSI device to rescan), then grows the mounted filesystem to it, online: no
# unmount, no restart of what uses it (xfs_growfs; resize2fs for ext4). Safe to re-run: a
# filesystem already at the device's size is left as it is.
# Usage: volume-grow.sh VOLUME_NAME MOUNT SIZE_GB [DEVICE_PREFIX] [TIMEOUT_SECONDS]
set -euo pipefail

log() { printf 'volume-grow[%s]: %s\n' "$(hostname)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -ge 3 ] || die "usage: volume-grow.sh VOLUME_NAME MOUNT SIZE_GB [DEVICE_PREFIX] [TIMEOUT_SECONDS]"
name=$1
mount=$2
size_gb=$3
prefix=${4:-/dev/disk/by-id/scsi-0DO_Volume_}
timeout_s=${5:-300}
dev="$prefix$name"
case "$size_gb" in '' | *[!0-9]*) die "SIZE_GB must be a whole number, not '$size_gb'" ;; esac

[ -b "$dev" ] || die "no device $dev: is volume $name attached? (volume-mount.sh runs first)"
real=$(readlink -f "$dev")
mountpoint -q "$mount" || die "$mount is not mounted (volume-mount.sh mounts it)"
[ "$(readlink -f "$(findmnt -rn -M "$mount" -o SOURCE)")" = "$real" ] || die "$mount does not hold $dev"

want=$((size_gb * 1024 * 1024 * 1024))
rescan="/sys/class/block/$(basename "$real")/device/rescan"
deadline=$((SECONDS + timeout_s))
while [ "$(blockdev --getsize64 "$real")" -lt "$want" ]; do
  [ "$SECONDS" -lt "$deadline" ] ||
    die "$dev is $(blockdev --getsize64 "$real") bytes after ${timeout_s}s, not ${size_gb} GiB: did the volume's resize finish? (doctl compute volume get)"
  if [ -w "$rescan" ]; then echo 1 >"$rescan"; fi
  sleep 2
done

fstype=$(findmnt -rn -M "$mount" -o FSTYPE)
before=$(df -B1 --output=size "$mount" | tail -n 1 | tr -d ' ')
case "$fstype" in
  xfs) xfs_growfs "$mount" >/dev/null ;;
  ext4) resize2fs "$real" >&2 ;;
  *) die "cannot grow a '$fstype' filesystem" ;;
esac
after=$(df -B1 --output=size "$mount" | tail -n 1 | tr -d ' ')
if [ "$after" -gt "$before" ]; then
  log "$name grown online at $mount: $((before / 1048576)) MiB -> $((after / 1048576)) MiB"
else
  log "$name at $mount is already at its device's size ($((after / 1048576)) MiB)"
fi
