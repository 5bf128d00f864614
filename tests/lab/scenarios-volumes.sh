# shellcheck shell=bash disable=SC2016 # remote commands expand on the host, in single quotes here
# Volume scenarios (issue 12), sourced by run.sh after the others; they run last, on whatever
# cluster those leave (its managers are read from the current plan). The worker pool gets a
# volume per node; the stateful stack (stacks/records.yml) writes numbered records to
# lab-worker-1's volume. DigitalOcean's side is the stand-in tests/lab/do-volumes.ts: an API on
# loopback (the program's restore point talks to it, unchanged but for its address) and the
# provider's volume steps (apply/delete), with a volume as a loop-device image that appears only
# on the lab host it is attached to. The mount, grow and snapshot steps are the program's.

LAB_DO_PORT=${LAB_DO_PORT:-18731}
LAB_DO_API=http://127.0.0.1:$LAB_DO_PORT
# dov SUBCOMMAND ARGS...: the stand-in's command line (see do-volumes.ts).
dov() { "${LAB_TSNODE[@]}" "$LAB_DIR/do-volumes.ts" "$1" --api "$LAB_DO_API" --lab-run "$LAB_RUN" "${@:2}"; }
LAB_VOL_HOST=lab-worker-1
LAB_RECORDS=records_writer
LAB_DATA=/mnt/do-swarm-data

# The stand-in API, started once (its state is in files, so it survives a restart).
do_api_up() {
  local pidfile=$LAB_RUN/do-api/server.pid k
  mkdir -p "$LAB_RUN/do-api"
  if [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 0; fi
  # Not through dov (a function): in the background it would be a subshell, and the pid below
  # that subshell's, which lab_down would kill leaving the server listening (seen: a stale
  # stand-in of another checkout answered on this port).
  "${LAB_TSNODE[@]}" "$LAB_DIR/do-volumes.ts" serve --lab-run "$LAB_RUN" --state "$LAB_RUN/do-api" \
    --port "$LAB_DO_PORT" </dev/null >>"$LAB_OUT/do-api.log" 2>&1 &
  echo $! >"$pidfile"
  for ((k = 0; k < 60; k++)); do
    curl -s -o /dev/null "$LAB_DO_API/v2/volumes" && return 0
    sleep 0.5
  done
  fail "the DigitalOcean stand-in did not start: $(tail -n 5 "$LAB_OUT/do-api.log")"
}

# The managers of the current plan (the cluster the earlier scenarios left).
current_managers() { grep -c '"name": "lab-manager-[0-9]*-register"' "$LAB_OUT/current.json"; }

# vol_plan NAME WORKERS ARGS...: a plan of the current managers, WORKERS workers with volumes,
# the records stack, and the program's DigitalOcean steps pointed at the stand-in.
vol_plan() {
  local name=$1 workers=$2
  shift 2
  lab_plan "$name" --managers "$(current_managers)" --workers "$workers" --do-api "$LAB_DO_API" \
    --stack "records=$LAB_DIR/stacks/records.yml" "$@"
}

# json FILE EXPR: evaluates a JavaScript expression on the JSON in FILE (as `j`).
json() { node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(eval(process.argv[2]))' "$1" "$2"; }

# records_on HOST: "COUNT BAD" of the records on HOST's volume (BAD: lines not "record <line>").
records_on() {
  lab_exec "$1" sh -c "cat $LAB_DATA/data/records 2>/dev/null || true" |
    awk '$0 != "record " NR { bad++ } END { print NR, bad + 0 }'
}
writer_running() {
  [[ $(m "docker service ps --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' $LAB_RECORDS" 2>/dev/null) == "$LAB_VOL_HOST Running"* ]]
}
writer_container() { lab_ssh "$LAB_VOL_HOST" "docker ps -q --filter label=com.docker.swarm.service.name=$LAB_RECORDS"; }
at_least() {
  local want=$1 got
  got=$(records_on "$LAB_VOL_HOST")
  ((${got% *} >= want))
}
# check_records HOST MIN WHAT: at least MIN records on HOST, none missing or out of order.
check_records() {
  local got
  got=$(records_on "$1")
  ((${got#* } == 0)) || fail "$3: ${got#* } of ${got% *} records on $1 are missing or out of order" || return 1
  ((${got% *} >= $2)) || fail "$3: ${got% *} records on $1, fewer than the $2 written before" || return 1
  RECORDS=${got% *}
}

scenario_volume_replace() {
  do_api_up || return 1
  # The stateful node: a fresh droplet if an earlier scenario removed it.
  if ! lab_ssh "$LAB_VOL_HOST" true 2>/dev/null; then lab_rebuild "$LAB_VOL_HOST"; fi
  vol_plan vol1 2 --volume-gb 1
  json "$LAB_OUT/vol1.json" 'j.commands.find((c) => c.name === "lab-worker-1-register").dependsOn.includes("lab-worker-1-volume-mount")' |
    grep -qx true || fail "the plan does not register lab-worker-1 after mounting its volume" || return 1
  dov apply --state "$LAB_OUT/state.json" --plan "$LAB_OUT/vol1.json" | sed 's/^/    /' || fail "the provider's volume steps failed" || return 1
  lab_replay vol-up --plan "$LAB_OUT/vol1.json" --prev "$LAB_OUT/current.json" ||
    fail "adding volumes and the records stack failed" || return 1
  cp "$LAB_OUT/vol1.json" "$LAB_OUT/current.json"
  local fstab
  fstab=$(lab_exec "$LAB_VOL_HOST" grep do-swarm-data /etc/fstab)
  [[ $fstab == "/tmp/lab-disks/scsi-0DO_Volume_lab-worker-1 $LAB_DATA xfs defaults,nofail,discard,noatime 0 2" ]] ||
    fail "fstab line on $LAB_VOL_HOST: '$fstab'" || return 1
  m "docker node inspect --format '{{index .Spec.Labels \"do-swarm.volume\"}}' $LAB_VOL_HOST" | grep -qx true ||
    fail "$LAB_VOL_HOST has no do-swarm.volume=true label" || return 1
  poll 90 writer_running || fail "$LAB_RECORDS does not run on $LAB_VOL_HOST" || return 1
  poll 30 at_least 25 || fail "the writer wrote fewer than 25 records in 30 s" || return 1

  # The droplet is lost: it dies, DigitalOcean detaches its volume; Pulumi makes a new droplet
  # of the same name, attaches the volume to it and runs the node's commands (mount first).
  lab_power_off "$LAB_VOL_HOST"
  # Read from the volume itself: a power-off ends the host's mounts, as on a droplet.
  local before
  before=$(records_on_volume lab-worker-1) || return 1
  note "records before the droplet is lost: $before"
  dov lose-droplet --host "$(lab_index "$LAB_VOL_HOST")" | sed 's/^/    /'
  lab_rebuild "$LAB_VOL_HOST"
  [[ -z $(lab_exec "$LAB_VOL_HOST" ls -A "$LAB_DATA" 2>/dev/null) ]] ||
    fail "the rebuilt $LAB_VOL_HOST still has something at $LAB_DATA" || return 1
  dov apply --state "$LAB_OUT/state.json" --plan "$LAB_OUT/current.json" | sed 's/^/    /' || fail "re-attaching the volume failed" || return 1
  lab_replay vol-replaced --plan "$LAB_OUT/current.json" --all || fail "the bootstrap of the replacement failed" || return 1
  poll 90 writer_running || fail "$LAB_RECORDS does not run on the replaced $LAB_VOL_HOST" || return 1
  check_records "$LAB_VOL_HOST" "$before" "after the replacement" || return 1
  poll 30 at_least $((before + 10)) || fail "the writer does not write on the replacement" || return 1
  note "records after the replacement: all $before there, the writer goes on ($(records_on "$LAB_VOL_HOST" | cut -d' ' -f1) now)"
}

scenario_volume_grow() {
  do_api_up || return 1
  poll 60 writer_running || fail "$LAB_RECORDS is not running before the grow" || return 1
  local c0 c1 s0 s1 before ran
  c0=$(writer_container)
  s0=$(lab_exec "$LAB_VOL_HOST" df -B1 --output=size "$LAB_DATA" | tail -n 1 | tr -d ' ')
  before=$(records_on "$LAB_VOL_HOST" | cut -d' ' -f1)
  vol_plan vol2 2 --volume-gb 2
  dov apply --state "$LAB_OUT/state.json" --plan "$LAB_OUT/vol2.json" | sed 's/^/    /' || fail "the volumes' resize failed" || return 1
  lab_replay vol-grow --plan "$LAB_OUT/vol2.json" --prev "$LAB_OUT/current.json" || fail "the grow failed" || return 1
  cp "$LAB_OUT/vol2.json" "$LAB_OUT/current.json"
  ran=$(json "$LAB_OUT/vol-grow/results.json" 'j.map((r) => r.op + ":" + r.name).sort().join(" ")')
  [[ $ran == "update:lab-worker-0-volume-grow update:lab-worker-1-volume-grow" ]] ||
    fail "a size change ran [$ran], not only the two grow steps" || return 1
  # busybox df: 1 KiB blocks.
  s1=$(lab_ssh "$LAB_VOL_HOST" "docker exec $c0 df -k /data" | awk 'NR == 2 { print $2 * 1024 }')
  ((s1 > s0 && s1 > 1900000000)) || fail "the writer sees $s1 bytes at /data, was $s0" || return 1
  c1=$(writer_container)
  [[ $c1 == "$c0" ]] || fail "the writer was restarted by the grow ($c0 -> $c1)" || return 1
  poll 10 at_least $((before + 10)) || fail "the writer stopped writing during the grow" || return 1
  check_records "$LAB_VOL_HOST" "$before" "after the grow" || return 1
  note "grown online: $((s0 / 1048576)) -> $((s1 / 1048576)) MiB seen by the writer, same container, records $before -> $RECORDS, none lost"
}

scenario_volume_scale_in_restore() {
  do_api_up || return 1
  local before snap sid w0 order
  w0=$(dov get --path "/v2/volumes?name=lab-worker-0" | json /dev/stdin 'j.volumes[0].id')
  # Scale in: the pool goes from 2 to 1, lab-worker-1 (and its volume) go.
  vol_plan vol3 1 --volume-gb 2
  lab_replay vol-scale-in --plan "$LAB_OUT/vol3.json" --prev "$LAB_OUT/current.json" ||
    fail "the scale-in failed" || return 1
  dov delete --plan "$LAB_OUT/vol3.json" --prev "$LAB_OUT/current.json" | sed 's/^/    /' ||
    fail "the provider's volume delete failed" || return 1
  cp "$LAB_OUT/vol3.json" "$LAB_OUT/current.json"
  snap=$(sed -n 's/^do-swarm: kept snapshot \([^ ]*\) (id \([^)]*\)).*/\1 \2/p' "$LAB_OUT/vol-scale-in/lab-worker-1-volume-snapshot.delete.out")
  [[ -n $snap ]] || fail "the restore point printed no snapshot" || return 1
  sid=${snap#* }
  snap=${snap% *}
  order=$(json "$LAB_RUN/do-api/state.json" 'j.events.filter((e) => e.volume === "lab-worker-1" && ["snapshot", "detach", "delete"].includes(e.what)).map((e) => e.what).join(" ")')
  [[ $order == *"snapshot detach delete" ]] || fail "lab-worker-1's volume: [$order], not snapshot, detach, delete" || return 1
  [[ $(dov get --path "/v2/volumes?name=lab-worker-1" | json /dev/stdin 'j.volumes.length') == 0 ]] ||
    fail "lab-worker-1's volume still exists" || return 1
  # What the snapshot holds: the image it copied, mounted read-only here.
  before=$(records_in_snapshot "$sid") || return 1
  note "scale-in: snapshot $snap ($sid) taken with $before records, then the volume detached and deleted"
  lab_power_off "$LAB_VOL_HOST" # Pulumi then destroys the droplet

  # Restore: the node again (a new droplet), its volume created from the snapshot by name.
  lab_rebuild "$LAB_VOL_HOST"
  vol_plan vol4 2 --volume-gb 2 --restore-from "$snap"
  [[ $(json "$LAB_OUT/vol4.json" 'j.volumes.find((v) => v.name === "lab-worker-1").snapshotId') == "$sid" ]] ||
    fail "restoreFrom $snap did not reach lab-worker-1's volume as snapshot $sid" || return 1
  dov apply --state "$LAB_OUT/state.json" --plan "$LAB_OUT/vol4.json" | sed 's/^/    /' || fail "creating the volume from the snapshot failed" || return 1
  lab_replay vol-restore --plan "$LAB_OUT/vol4.json" --prev "$LAB_OUT/current.json" ||
    fail "the restored node's bootstrap failed" || return 1
  cp "$LAB_OUT/vol4.json" "$LAB_OUT/current.json"
  [[ $(dov get --path "/v2/volumes?name=lab-worker-0" | json /dev/stdin 'j.volumes[0].id') == "$w0" ]] ||
    fail "restoreFrom replaced lab-worker-0's existing volume" || return 1
  poll 90 writer_running || fail "$LAB_RECORDS does not run on the restored node" || return 1
  check_records "$LAB_VOL_HOST" "$before" "after the restore" || return 1
  note "restored from $snap: all $before records there, the writer goes on; lab-worker-0's volume untouched"
}

# records_in_snapshot ID: the record count of a stand-in snapshot's image (checked for gaps),
# read from a copy (mounting replays the filesystem's log, as a restored volume's mount does).
records_in_snapshot() {
  local img=$LAB_RUN/do-api/img/snap-$1.img dir out
  dir=$(mktemp -d)
  cp --sparse=always "$img" "$dir.img"
  mount -o loop,nouuid "$dir.img" "$dir" || { fail "cannot mount a copy of snapshot $1"; return 1; }
  out=$(awk '$0 != "record " NR { bad++ } END { print NR, bad + 0 }' "$dir/data/records")
  umount "$dir"
  rm -rf "$dir" "$dir.img"
  ((${out#* } == 0)) || { fail "snapshot $1: ${out#* } records missing or out of order"; return 1; }
  echo "${out% *}"
}

no_writer_task_error() {
  WRITER_ERR=$(m "docker service ps --no-trunc --format '{{.Node}} {{.CurrentState}} {{.Error}}' $LAB_RECORDS" | head -n 3)
  grep -q "bind source path does not exist" <<<"$WRITER_ERR"
}

scenario_volume_failed_mount() {
  do_api_up || return 1
  poll 60 writer_running || fail "$LAB_RECORDS is not running before the test" || return 1
  local before left
  # A reboot after which the volume is not there to mount (a failed attach): fstab's nofail
  # lets the droplet boot, and the writer must not start on the droplet's own disk.
  lab_power_off "$LAB_VOL_HOST"
  before=$(records_on_volume lab-worker-1) || return 1
  dov lose-droplet --host "$(lab_index "$LAB_VOL_HOST")" | sed 's/^/    /'
  lab_power_on "$LAB_VOL_HOST"
  poll 90 no_writer_task_error || fail "the writer's task did not fail on the missing bind source: $WRITER_ERR" || return 1
  note "the writer's task fails: $(grep -o 'invalid mount config.*' <<<"$WRITER_ERR" | head -n 1)"
  [[ -z $(writer_container) ]] || fail "a writer container runs on $LAB_VOL_HOST without its volume" || return 1
  left=$(lab_exec "$LAB_VOL_HOST" find "$LAB_DATA" -mindepth 1)
  [[ -z $left ]] || fail "written on the root disk under $LAB_DATA: $left" || return 1
  lab_exec "$LAB_VOL_HOST" mountpoint -q "$LAB_DATA" && { fail "$LAB_DATA is mounted"; return 1; }
  note "nothing written on the root disk: $LAB_DATA is empty and not mounted"
  # The volume back, its mount step again: the writer runs with every record.
  dov apply --state "$LAB_OUT/state.json" --plan "$LAB_OUT/current.json" | sed 's/^/    /' || fail "re-attaching failed" || return 1
  lab_replay vol-remount --plan "$LAB_OUT/current.json" --all || fail "the re-run after the re-attach failed" || return 1
  poll 90 writer_running || fail "$LAB_RECORDS does not run once the volume is back" || return 1
  check_records "$LAB_VOL_HOST" "$before" "after the remount" || return 1
  note "volume back: the writer runs again with all $before records"
}

# records_on_volume NAME: the record count on volume NAME, read from its image (none missing).
records_on_volume() {
  local vid got
  vid=$(dov get --path "/v2/volumes?name=$1" | json /dev/stdin 'j.volumes[0].id')
  got=$(records_in_image "$LAB_RUN/do-api/img/vol-$vid.img") || return 1
  ((${got#* } == 0)) || { fail "volume $1: ${got#* } of ${got% *} records missing or out of order"; return 1; }
  echo "${got% *}"
}

# mounts_of HOST: the mount points of HOST's volume device (the link the stand-in made there).
mounts_of() {
  lab_exec "$1" sh -c 'd=$(readlink -f /tmp/lab-disks/scsi-0DO_Volume_$1) && findmnt -rn -S "$d" -o TARGET' sh "$2" 2>/dev/null || true
}
# one_mount HOST VOLUME WHAT: HOST has VOLUME mounted once, at the data mount, and no mount unit.
one_mount() {
  local got units
  got=$(mounts_of "$1" "$2" | paste -sd' ')
  [[ $got == "$LAB_DATA" ]] || fail "$WHAT: volume $2 on host $1 is mounted at [$got], not once at $LAB_DATA" || return 1
  units=$(lab_exec "$1" sh -c 'ls /etc/systemd/system/*.mount 2>/dev/null' || true)
  [[ -z $units ]] || fail "$WHAT: mount units left on host $1: $units"
}
# records_in_image FILE: "COUNT BAD" of the records in a volume image, read from a copy
# (mounting replays the filesystem's log, as the next mount of the volume would).
records_in_image() {
  local dir out
  dir=$(mktemp -d)
  cp --sparse=always "$1" "$dir.img"
  mount -o loop,nouuid "$dir.img" "$dir" || { fail "cannot mount a copy of $1"; return 1; }
  out=$(awk '$0 != "record " NR { bad++ } END { print NR, bad + 0 }' "$dir/data/records")
  umount "$dir"
  rm -rf "$dir" "$dir.img"
  echo "$out"
}
writer_on() {
  [[ $(m "docker service ps --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' $LAB_RECORDS" 2>/dev/null) == "$LAB_VOL_HOST Running"* ]] &&
    [[ -n $(lab_ssh "$1" "docker ps -q --filter label=com.docker.swarm.service.name=$LAB_RECORDS") ]]
}
at_least_on() { local got; got=$(records_on "$1"); ((${got% *} >= $2)); }

# A droplet that holds a volume replaced (`pulumi up --replace`) while its writer writes (issue 21,
# item 9), in the engine's order (tests/engine/volume-replace.test.ts): the new droplet is created;
# the attachment is replaced delete-first, so the engine first deletes what takes an input from
# it: the release, whose delete stops the writer on the OLD droplet and unmounts the volume there;
# then the provider detaches it (the stand-in shuts down a filesystem still mounted at a detach,
# and logs it) and attaches it to the new droplet; the rest of the up (mount, join, the old node
# removed); the old droplet deleted last. Then a reboot of each volume's host: one mount each.
scenario_volume_replace_live() {
  do_api_up || return 1
  local hosts=$LAB_RUN/hosts.json old new before stop after vid dead0 dead1 results
  # The hosts the cluster runs on now (scenario 31 leaves lab-manager-2 on a new host).
  if [[ -f $LAB_OUT/hosts-current.json ]]; then hosts=$LAB_OUT/hosts-current.json; fi
  old=$(lab_index "$LAB_VOL_HOST")
  if ! lab_ssh "$old" true 2>/dev/null; then lab_rebuild "$old"; fi
  # Volumes and the records stack, as scenarios 16-19 leave them (nothing to do after them).
  vol_plan vrl0 2 --volume-gb 2 --hosts "$hosts"
  dov apply --state "$LAB_OUT/state.json" --plan "$LAB_OUT/vrl0.json" | sed 's/^/    /' || fail "the provider's volume steps failed" || return 1
  lab_replay vrl-up --plan "$LAB_OUT/vrl0.json" --prev "$LAB_OUT/current.json" ||
    fail "volumes and the records stack failed" || return 1
  cp "$LAB_OUT/vrl0.json" "$LAB_OUT/current.json"
  poll 90 writer_on "$old" || fail "$LAB_RECORDS does not run on $LAB_VOL_HOST (host $old)" || return 1
  poll 30 at_least_on "$old" 10 || fail "the writer does not write" || return 1
  vid=$(dov get --path "/v2/volumes?name=lab-worker-1" | json /dev/stdin 'j.volumes[0].id')
  dead0=$(json "$LAB_RUN/do-api/state.json" 'j.events.filter((e) => e.what === "detach-while-mounted").length')

  # The new droplet: another host under the same name, the plan's droplet mapped to it.
  new=$(lab_count)
  lab_host_add "$LAB_VOL_HOST" || return 1
  node -e '
    const fs = require("fs");
    const [file, name, pub, priv, out] = process.argv.slice(1);
    const hosts = JSON.parse(fs.readFileSync(file, "utf8")).map((h) =>
      h.name === name ? { name, public: pub, private: priv } : h);
    fs.writeFileSync(out, JSON.stringify(hosts, null, 2));' \
    "$hosts" "$LAB_VOL_HOST" "$(lab_public "$new")" "$(lab_private "$new")" "$LAB_OUT/hosts-vrl.json"
  vol_plan vrl1 2 --volume-gb 2 --hosts "$LAB_OUT/hosts-vrl.json"
  before=$(records_on "$old")
  note "records on the old droplet (host $old) while the writer writes: ${before% *}"

  # The engine: the attachment's dependents first (the release: on the OLD droplet).
  lab_replay vrl-release --plan "$LAB_OUT/vrl1.json" --prev "$LAB_OUT/current.json" \
    --delete-only lab-worker-1-volume-release || fail "the release before the detach failed" || return 1
  grep -q "stopping the containers that use $LAB_DATA" "$LAB_OUT/vrl-release/lab-worker-1-volume-release.delete.err" ||
    fail "the release stopped no container" || return 1
  [[ -z $(lab_ssh "$old" "docker ps -q --filter label=com.docker.swarm.service.name=$LAB_RECORDS") ]] ||
    fail "a writer still runs on the old droplet before the detach" || return 1
  [[ -z $(mounts_of "$old" lab-worker-1) ]] || fail "the volume is still mounted on the old droplet before the detach" || return 1
  stop=$(records_in_image "$LAB_RUN/do-api/img/vol-$vid.img") || return 1
  ((${stop#* } == 0)) || fail "${stop#* } records missing or out of order on the volume at the detach" || return 1
  ((${stop% *} >= ${before% *})) || fail "${stop% *} records on the volume at the detach, fewer than the ${before% *} seen before" || return 1
  note "the writer stopped and the volume unmounted on the old droplet: N = ${stop% *} records on it at the detach"

  # The provider: the old attachment deleted (detach), the new one created (attach).
  dov apply --state "$LAB_OUT/state.json" --plan "$LAB_OUT/vrl1.json" | sed 's/^/    /' || fail "moving the attachment failed" || return 1
  dead1=$(json "$LAB_RUN/do-api/state.json" 'j.events.filter((e) => e.what === "detach-while-mounted").length')
  ((dead1 == dead0)) || fail "the stand-in saw a detach while the volume was mounted: $(json "$LAB_RUN/do-api/state.json" 'JSON.stringify(j.events.filter((e) => e.what === "detach-while-mounted").slice(-1))')" || return 1
  # The rest of the up; the engine deletes the old droplet last.
  lab_replay vrl-replace --plan "$LAB_OUT/vrl1.json" --prev "$LAB_OUT/current.json" \
    --gone lab-worker-1-volume-release || fail "the up after the replacement failed" || return 1
  cp "$LAB_OUT/vrl1.json" "$LAB_OUT/current.json"
  cp "$LAB_OUT/hosts-vrl.json" "$LAB_OUT/hosts-current.json"
  results=$(json "$LAB_OUT/vrl-replace/results.json" 'j.filter((r) => r.op === "delete").map((r) => r.name).join(" ")')
  [[ $results == *lab-worker-1-register* ]] || fail "the old node's registration was not deleted (removed): [$results]" || return 1
  lab_power_off "$old"
  note "old droplet (host $old) deleted after the up"

  poll 90 writer_on "$new" || fail "$LAB_RECORDS does not run on the new droplet (host $new)" || return 1
  check_records "$new" "${stop% *}" "on the new droplet" || return 1
  after=$RECORDS
  poll 30 at_least_on "$new" $((${stop% *} + 10)) || fail "the writer does not write on the new droplet" || return 1
  WHAT="the new droplet" one_mount "$new" lab-worker-1 || return 1
  note "N = ${stop% *} before the detach, all ${stop% *} there on the new droplet (first count $after, no gap); the writer goes on; one mount"

  # A reboot of each volume's host (a power off and on): the volume mounted once again.
  lab_power_off "$new"
  lab_power_on "$new"
  WHAT="after a reboot" one_mount "$new" lab-worker-1 || return 1
  poll 90 writer_on "$new" || fail "$LAB_RECORDS does not run again after the reboot" || return 1
  check_records "$new" "${stop% *}" "after the reboot" || return 1
  lab_power_off lab-worker-0
  lab_power_on lab-worker-0
  WHAT="lab-worker-0 (its volume automounted at its first attach) after a reboot" one_mount lab-worker-0 lab-worker-0 || return 1
  note "after a reboot: one mount of each volume ($LAB_DATA), no mount unit; the writer back with all records ($RECORDS)"
}
