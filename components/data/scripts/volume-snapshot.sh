#!/usr/bin/env bash
# Runs where `pulumi` runs (a local command), for one node's volume.
#   check:    proves the restore point can be taken later: curl is here, the API answers with
#             this token, the volume exists.
#   snapshot: runs before the volume is deleted (scale-in, the group's volume removed, pulumi
#             destroy): flushes the node's filesystem (sync over SSH; skipped with a warning
#             when the node is unreachable), takes a DigitalOcean snapshot of the volume, waits
#             until DigitalOcean lists it, and prints its name and id: the restore point. A
#             volume already gone has nothing to keep. Any failure fails the delete, so the
#             volume is not deleted without its snapshot.
# Usage: volume-snapshot.sh check|snapshot VOLUME_ID VOLUME_NAME CLUSTER API_URL NODE_ADDRESS MOUNT
#   stdin: line 1 the API token (empty: $DIGITALOCEAN_TOKEN), then the SSH private key.
# Bash 3.2 compatible (macOS): no associative arrays, no mapfile. The token never reaches argv.
set -euo pipefail

log() { printf 'volume-snapshot: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -eq 7 ] || die "usage: volume-snapshot.sh check|snapshot VOLUME_ID VOLUME_NAME CLUSTER API_URL NODE_ADDRESS MOUNT"
op=$1 volume_id=$2 volume_name=$3 cluster=$4 api_url=${5%/} node=$6 mount=$7
case "$op" in check | snapshot) ;; *) die "unknown operation '$op'" ;; esac

token=""
IFS= read -r token || true
key=$(cat)
token=${token:-${DIGITALOCEAN_TOKEN:-${DIGITALOCEAN_ACCESS_TOKEN:-}}}
[ -n "$token" ] ||
  die "no DigitalOcean API token: set digitalocean:token in the stack's config or export DIGITALOCEAN_TOKEN, then run again"
command -v curl >/dev/null 2>&1 || die "curl is needed where pulumi runs, to snapshot volume $volume_name"

work=$(mktemp -d "${TMPDIR:-/tmp}/do-swarm-snapshot.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 700 "$work"
# The header travels in a file (curl -H @FILE), never on the command line.
printf 'Authorization: Bearer %s\nContent-Type: application/json\n' "$token" >"$work/headers"

# api METHOD PATH [JSON]: sets STATUS and BODY.
api() {
  local out
  out=$(curl -sS -X "$1" -H @"$work/headers" ${3:+--data "$3"} -w '\n%{http_code}' \
    --retry 3 --max-time 60 "$api_url/v2$2") || die "cannot reach the DigitalOcean API at $api_url ($1 $2)"
  STATUS=${out##*$'\n'}
  BODY=${out%$'\n'*}
}
# field OBJECT KEY: a string field of an object in BODY (DigitalOcean's flat JSON).
field() {
  printf '%s' "$BODY" | tr -d '\n' |
    sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*{[^}]*\"$2\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p"
}
api_error() { printf '%s' "$BODY" | sed -n 's/.*"message"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p'; }

api GET "/volumes/$volume_id"
if [ "$op" = check ]; then
  [ "$STATUS" = 200 ] ||
    die "the restore point of volume $volume_name could not be taken: GET /v2/volumes/$volume_id answered HTTP $STATUS $(api_error)"
  command -v ssh >/dev/null 2>&1 || log "WARNING: no ssh here: the node cannot be flushed before its snapshot"
  echo "volume $volume_name ($volume_id): a snapshot will be taken before it is ever deleted"
  exit 0
fi

if [ "$STATUS" = 404 ]; then
  log "volume $volume_name ($volume_id) no longer exists: nothing to snapshot"
  exit 0
fi
[ "$STATUS" = 200 ] || die "GET /v2/volumes/$volume_id answered HTTP $STATUS $(api_error); the volume is kept"

# Flush what the node still holds in memory for the volume (DigitalOcean's snapshots are
# crash-consistent: they hold what reached the disk). The node is drained by now.
if [ -n "$key" ] && command -v ssh >/dev/null 2>&1; then
  printf '%s\n' "$key" >"$work/key"
  chmod 600 "$work/key"
  if ssh -i "$work/key" -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 \
    "root@$node" "sync -f '$mount' 2>/dev/null || sync" </dev/null >&2; then
    log "flushed $mount on $node"
  else
    log "WARNING: could not reach $node to flush $mount (the droplet is gone?): the snapshot holds what reached the volume"
  fi
fi

name="$volume_name-$(date -u +%Y%m%d-%H%M%S)"
api POST "/volumes/$volume_id/snapshots" "{\"name\":\"$name\",\"tags\":[\"$cluster\",\"do-swarm-restore-point\"]}"
case "$STATUS" in 200 | 201 | 202) ;; *) die "snapshot of $volume_name failed: HTTP $STATUS $(api_error); the volume is kept" ;; esac
snapshot_id=$(field snapshot id)
[ -n "$snapshot_id" ] || die "DigitalOcean answered the snapshot of $volume_name without an id: $BODY"

deadline=$((SECONDS + 600))
while :; do
  api GET "/snapshots/$snapshot_id"
  [ "$STATUS" = 200 ] && break
  [ "$SECONDS" -lt "$deadline" ] || die "snapshot $name ($snapshot_id) is not listed after 600s; the volume is kept"
  sleep 3
done
echo "do-swarm: kept snapshot $name (id $snapshot_id) of volume $volume_name before deleting it;" \
  "restore with restoreFrom \"$name\"; it bills until: doctl compute snapshot delete $snapshot_id"
