#!/usr/bin/env bash
# Runs where `pulumi` runs (a local command), for one node's volume.
#   check:    proves the restore point can be taken later: curl is here, the API answers with
#             this token, the volume exists.
#   snapshot: runs before the volume is deleted (scale-in, the group's volume removed, pulumi
#             destroy): flushes the node's filesystem (sync over SSH; skipped with a warning
#             when the node is unreachable), takes a DigitalOcean snapshot of the volume and
#             prints its name and id (from the POST's answer): the restore point. A volume
#             already gone has nothing to keep. Any failure fails the delete, so the volume is
#             not deleted without its snapshot.
# DigitalOcean's rules for volume snapshots (docs.digitalocean.com/products/snapshots/details/
# limits/): at most 25 snapshots of a volume, and one snapshot of a volume every 10 minutes.
#   - 25: counted before the POST (GET /v2/volumes/{id}/snapshots, scope block_storage_snapshot:read,
#     openapi specification/resources/volumes/volumeSnapshots_list.yml); at 25 the step fails,
#     naming the volume and how to delete old snapshots. (The API's own error for it is not in
#     the spec; unknown.)
#   - 10 minutes: the spec does not document its error. DigitalOcean answers 429 "failed to create
#     snapshot: this operation is rate-limited - one request per 10m0s" (seen in
#     digitalocean/velero-plugin#6, velero-io/velero#6164). A 429 (this, or the 250 requests a
#     minute per token) is waited out, retried every $DO_SWARM_SNAPSHOT_RETRY_SECONDS (30) for at
#     most $DO_SWARM_SNAPSHOT_WAIT_SECONDS (660), with a message.
#   - POST /v2/volumes/{id}/snapshots answers 201 with the snapshot object (openapi
#     specification/resources/volumes/volumeSnapshots_create.yml, responses/volumeSnapshot.yml):
#     nothing to poll, so no GET /v2/snapshots/{id} (which needs snapshot:read,
#     specification/resources/snapshots/snapshots_get.yml). The POST is never retried blindly:
#     each snapshot bills.
#   - No tags on the snapshot: request tags need `tag:create` (specification/shared/attributes/
#     tags_array.yml). Its name starts with the volume's, which starts with the cluster's.
# Usage: volume-snapshot.sh check|snapshot VOLUME_ID VOLUME_NAME CLUSTER API_URL NODE_ADDRESS MOUNT
#   stdin: line 1 the API token (empty: $DIGITALOCEAN_TOKEN), then the SSH private key.
# Bash 3.2 compatible (macOS): no associative arrays, no mapfile. The token never reaches argv.
set -euo pipefail

log() { printf 'volume-snapshot: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$#" -eq 7 ] || die "usage: volume-snapshot.sh check|snapshot VOLUME_ID VOLUME_NAME CLUSTER API_URL NODE_ADDRESS MOUNT"
# shellcheck disable=SC2034 # CLUSTER stays in the interface; snapshots carry no tag (above).
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

# api METHOD PATH [JSON]: sets STATUS and BODY. Only reads are retried by curl (a retried POST
# could take, and bill, a second snapshot).
api() {
  local out retry=3
  [ "$1" = GET ] || retry=0
  out=$(curl -sS -X "$1" -H @"$work/headers" ${3:+--data "$3"} -w '\n%{http_code}' \
    --retry "$retry" --max-time 60 "$api_url/v2$2") || die "cannot reach the DigitalOcean API at $api_url ($1 $2)"
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

# At most 25 snapshots of a volume: fail before taking one, saying what to delete.
api GET "/volumes/$volume_id/snapshots?per_page=200"
if [ "$STATUS" = 200 ]; then
  count=$(printf '%s' "$BODY" | tr -d '\n' | sed -n 's/.*"total"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p')
  if [ "${count:-0}" -ge 25 ]; then
    die "volume $volume_name ($volume_id) has $count snapshots, DigitalOcean's limit is 25 per volume: delete old ones" \
      "(doctl compute snapshot list --resource volume --format ID,Name,CreatedAt | grep '$volume_name-';" \
      "doctl compute snapshot delete <id>...), then run pulumi again; the volume is kept"
  fi
else
  log "WARNING: could not count the snapshots of $volume_name (HTTP $STATUS $(api_error)); taking one anyway"
fi

wait_s=${DO_SWARM_SNAPSHOT_WAIT_SECONDS:-660}
retry_s=${DO_SWARM_SNAPSHOT_RETRY_SECONDS:-30}
deadline=$((SECONDS + wait_s))
while :; do
  name="$volume_name-$(date -u +%Y%m%d-%H%M%S)"
  api POST "/volumes/$volume_id/snapshots" "{\"name\":\"$name\"}"
  case "$STATUS" in
    200 | 201 | 202) break ;;
    429)
      [ "$SECONDS" -lt "$deadline" ] ||
        die "snapshot of $volume_name still refused after ${wait_s}s: HTTP 429 $(api_error); the volume is kept"
      log "DigitalOcean refused the snapshot of $volume_name for now (HTTP 429 $(api_error)):" \
        "it takes one snapshot of a volume every 10 minutes (was one taken by hand just now?);" \
        "retrying in ${retry_s}s, for at most $((deadline - SECONDS))s more"
      sleep "$retry_s"
      ;;
    *) die "snapshot of $volume_name failed: HTTP $STATUS $(api_error); the volume is kept" ;;
  esac
done
# The answer is the snapshot itself (201): its id and name, nothing to wait for.
snapshot_id=$(field snapshot id)
[ -n "$snapshot_id" ] || die "DigitalOcean answered the snapshot of $volume_name without an id: $BODY"
name=$(field snapshot name)
name=${name:-$volume_name}
echo "do-swarm: kept snapshot $name (id $snapshot_id) of volume $volume_name before deleting it;" \
  "restore with restoreFrom \"$name\"; it bills until: doctl compute snapshot delete $snapshot_id"
