#!/usr/bin/env bash
# Runs where `pulumi` runs (a local command), BEFORE a node's volume is detached from its droplet
# (issue 21, item 9): DigitalOcean says "Unmount volumes before resizing or detaching them to
# protect data integrity" (docs.digitalocean.com/products/volumes/how-to/detach/), and a detach
# does not unmount the droplet's filesystem: it stays mounted, and dead. So, on the droplet that
# holds the volume now (over SSH): every running container with a mount at or under MOUNT is
# stopped (`docker stop`: its stop grace period, then SIGKILL; a swarm task started again meanwhile
# is stopped again, and once the volume is unmounted it cannot start: its bind source is gone),
# then MOUNT, and any other mount of the same device, is unmounted: a clean unmount, retried until
# TIMEOUT while something still uses it, never lazy, never forced. If it cannot, the step fails
# naming what holds the mount, and the volume stays attached (the detach comes after this step).
#   - The volume gone, or attached to another droplet than DROPLET_ID (a lost droplet whose volume
#     DigitalOcean already detached): nothing to unmount here.
#   - Attached to DROPLET_ID but the droplet cannot be reached: fails (something may write).
# Usage: volume-release.sh VOLUME_ID VOLUME_NAME DROPLET_ID NODE_ADDRESS MOUNT API_URL [TIMEOUT_SECONDS]
#   stdin: line 1 the API token (empty: $DIGITALOCEAN_TOKEN), then the SSH private key.
# Bash 3.2 compatible (macOS). The token never reaches argv.
set -euo pipefail

log() { printf 'volume-release: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -ge 6 ] || die "usage: volume-release.sh VOLUME_ID VOLUME_NAME DROPLET_ID NODE_ADDRESS MOUNT API_URL [TIMEOUT_SECONDS]"
volume_id=$1 volume_name=$2 droplet_id=$3 node=$4 mount=$5 api_url=${6%/} timeout_s=${7:-300}
case "$mount" in /?*) ;; *) die "MOUNT must be an absolute path, not '$mount'" ;; esac

token=""
IFS= read -r token || true
key=$(cat)
token=${token:-${DIGITALOCEAN_TOKEN:-${DIGITALOCEAN_ACCESS_TOKEN:-}}}
[ -n "$token" ] ||
  die "no DigitalOcean API token: set digitalocean:token in the stack's config or export DIGITALOCEAN_TOKEN, then run again"
command -v curl >/dev/null 2>&1 || die "curl is needed where pulumi runs, to release volume $volume_name"

work=$(mktemp -d "${TMPDIR:-/tmp}/do-swarm-release.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"
printf 'Authorization: Bearer %s\nContent-Type: application/json\n' "$token" >"$work/headers"

# api GET PATH: sets STATUS and BODY (reads only).
api() {
  local out
  out=$(curl -sS -X "$1" -H @"$work/headers" -w '\n%{http_code}' --retry 3 --max-time 60 \
    "$api_url/v2$2") || die "cannot reach the DigitalOcean API at $api_url; volume $volume_name stays attached"
  STATUS=${out##*$'\n'}
  BODY=${out%$'\n'*}
}
# Where the volume is attached now: its droplet_ids (scope block_storage:read).
api GET "/volumes/$volume_id"
if [ "$STATUS" = 404 ]; then
  log "volume $volume_name ($volume_id) no longer exists: nothing to unmount"
  exit 0
fi
[ "$STATUS" = 200 ] ||
  die "GET /v2/volumes/$volume_id answered HTTP $STATUS: cannot tell where volume $volume_name is attached; it stays attached"
attached=$(printf '%s' "$BODY" | tr -d '\n' |
  sed -n 's/.*"droplet_ids"[[:space:]]*:[[:space:]]*\[\([^]]*\)\].*/\1/p' | tr -d ' ' | tr ',' '\n')
if ! printf '%s\n' "$attached" | grep -qx "$droplet_id"; then
  log "volume $volume_name is not attached to droplet $droplet_id (now: ${attached:-none}): nothing to unmount there"
  exit 0
fi

[ -n "$key" ] || die "no SSH private key on stdin: cannot unmount $mount on $node before volume $volume_name is detached"
command -v ssh >/dev/null 2>&1 || die "ssh is needed where pulumi runs, to unmount volume $volume_name before its detach"
printf '%s\n' "$key" >"$work/key"
chmod 600 "$work/key"

# What runs on the droplet (bash -s, this text on its stdin): $1 MOUNT, $2 TIMEOUT_SECONDS.
cat >"$work/remote.sh" <<'REMOTE'
set -euo pipefail
mount=$1
timeout_s=$2
log() { printf 'volume-release[%s]: %s\n' "$(hostname)" "$*" >&2; }
if ! mountpoint -q "$mount"; then
  log "$mount is not mounted: nothing to unmount"
  exit 0
fi
src=$(findmnt -rn -M "$mount" -o SOURCE)
# Running containers with a mount whose source is MOUNT or below it.
# (A container gone between the listing and the inspect is no user.)
users() {
  { docker ps -q | xargs -r docker inspect --format '{{.ID}} {{.Name}}{{range .Mounts}} {{.Source}}{{end}}' 2>/dev/null || true; } |
    awk -v m="$mount" '{ for (i = 3; i <= NF; i++) if ($i == m || index($i, m "/") == 1) { print $1, $2; break } }'
}
# Mount namespaces that still hold the device (a container's holds its bind mounts even once
# the droplet's own mount is gone): their processes.
holders() { grep -ls -- " $src " /proc/[0-9]*/mountinfo 2>/dev/null | cut -d/ -f3 | sort -un | tr '\n' ' ' || true; }
deadline=$((SECONDS + timeout_s))
err=$(mktemp)
trap 'rm -f "$err"' EXIT
while :; do
  found=$(users)
  if [ -n "$found" ]; then
    log "stopping the containers that use $mount:$(printf '%s\n' "$found" | awk '{ printf " %s", $2 }')"
    # shellcheck disable=SC2046 # one word per container id
    docker stop $(printf '%s\n' "$found" | awk '{ print $1 }') >/dev/null || true
  fi
  : >"$err"
  for target in $(findmnt -rn -S "$src" -o TARGET | sort -r); do
    if umount "$target" 2>>"$err"; then log "unmounted $src from $target"; fi
  done
  # Done when nothing has it mounted any more, in any namespace, and no container uses it.
  if [ -z "$(findmnt -rn -S "$src" -o TARGET)" ] && [ -z "$(users)" ] && [ -z "$(holders)" ]; then break; fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    log "ERROR: $src is still in use after ${timeout_s}s: $(tr '\n' ' ' <"$err")"
    log "mounted at: $(findmnt -rn -S "$src" -o TARGET | tr '\n' ' ')containers: $(users | awk '{ printf "%s ", $2 }')processes holding it: $(holders)"
    exit 1
  fi
  sleep 1
done
REMOTE

log "unmounting volume $volume_name at $mount on droplet $droplet_id ($node) before it is detached"
if ! ssh -i "$work/key" -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
  -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 -o ConnectionAttempts=3 \
  "root@$node" bash -s -- "'$mount'" "'$timeout_s'" <"$work/remote.sh" >&2; then
  die "volume $volume_name could not be unmounted on droplet $droplet_id ($node), so it is NOT detached" \
    "(DigitalOcean: unmount volumes before detaching them). Stop what uses $mount there and run pulumi again;" \
    "if the droplet is dead (nothing can write), detach it yourself: doctl compute volume-action detach $volume_id $droplet_id"
fi
echo "volume $volume_name unmounted on droplet $droplet_id: it can be detached"
