#!/usr/bin/env bash
# The lab: N "droplets" on this machine, each a network namespace on a private bridge with its
# own hostname, its own dockerd (own data root, own /run so /run/docker.sock is its engine) and
# its own sshd, reached over real SSH with a generated key.
#
# Source this file (`. tests/lab/lab.sh`) for the functions; run it for a few entrypoints:
#   bash tests/lab/lab.sh up N [NAME...] | down | ssh HOST CMD | power-off H | power-on H | images
#
# Layout of host i (0-based):
#   network namespace dslab-h<i>, veth dslab-v<i> on bridge dslab0, eth0 inside with
#   public 10.77.0.(10+i)/24 (SSH) and private 10.78.0.(10+i)/24 (swarm), on the same interface;
#   a "holder" process (`sleep infinity`) inside `unshare --mount --uts` keeps its mount and UTS
#   namespaces, where /run and /tmp are bind mounts of per-host directories; dockerd and sshd are
#   started inside it with nsenter, so an SSH login lands in that host's mount namespace.
# State under tests/lab/.run/ (gitignored): h<i>/ (run, tmp, docker data root, ssh keys, config),
# logs/h<i>/ (dockerd, sshd), id_ed25519 (client key), hosts.json and hosts.tsv.

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_RUN=${LAB_RUN:-$LAB_DIR/.run}
LAB_BRIDGE=dslab0
LAB_NS_PREFIX=dslab-h
LAB_VETH_PREFIX=dslab-v
LAB_PUBLIC_NET=10.77.0
LAB_PRIVATE_NET=10.78.0
LAB_KEY=$LAB_RUN/id_ed25519
# Seconds to wait for a dockerd to answer after it is started.
LAB_DOCKERD_WAIT=${LAB_DOCKERD_WAIT:-90}
LAB_IMAGES=(lab/web:v1 lab/web:v2 lab/web:v3-crash)
# Directories a host has of its own (bind mounts of h<i>/disk/...), as a droplet's disk would.
# /etc/systemd/system: where DigitalOcean's automount writes its mount unit (do-volumes.ts).
LAB_HOST_DIRS="/etc/do-swarm /usr/local/lib/do-swarm /etc/systemd/system"
# The DigitalOcean API stand-in of the front-door scenarios (tests/lab/do-api.ts), if running.
LAB_DO_API_PID=$LAB_RUN/do-api.pid
# The edge's production image name (components/edge/config.ts): the lab builds a stand-in under
# that very name, so the program's own edge stack runs unchanged.
LAB_EDGE_IMAGE=$(sed -n 's/^  image: "\(caddy:[^"]*\)",$/\1/p' "$LAB_DIR/../../components/edge/config.ts")

lab_log() { printf '[lab %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
lab_die() {
  lab_log "ERROR: $*"
  return 1
}

# Seconds since the epoch with milliseconds, for timings.
lab_now() { date +%s.%N | cut -c1-14; }
# Prints "1.23" for the time elapsed since START (from lab_now).
lab_since() { awk -v a="$1" -v b="$(lab_now)" 'BEGIN { printf "%.1f", b - a }'; }

lab_public() { echo "$LAB_PUBLIC_NET.$((10 + $1))"; }
lab_private() { echo "$LAB_PRIVATE_NET.$((10 + $1))"; }
lab_ns() { echo "$LAB_NS_PREFIX$1"; }
lab_hdir() { echo "$LAB_RUN/h$1"; }
lab_logdir() { echo "$LAB_RUN/logs/h$1"; }

# Number of hosts of the current lab (from hosts.tsv).
lab_count() {
  if [[ -f $LAB_RUN/hosts.tsv ]]; then wc -l <"$LAB_RUN/hosts.tsv"; else echo 0; fi
}

# Resolves a host given as an index, a name from hosts.tsv or an address, to its index.
lab_index() {
  local h=$1 i name pub priv
  if [[ $h =~ ^[0-9]+$ ]]; then
    echo "$h"
    return 0
  fi
  if [[ -f $LAB_RUN/hosts.tsv ]]; then
    while read -r i name pub priv; do
      if [[ $h == "$name" || $h == "$pub" || $h == "$priv" ]]; then
        echo "$i"
        return 0
      fi
    done <"$LAB_RUN/hosts.tsv"
  fi
  lab_die "unknown lab host: $h"
}

# Name of host H (index, name or address).
lab_name() {
  local i n name pub priv
  i=$(lab_index "$1") || return 1
  while read -r n name pub priv; do
    if [[ $n == "$i" ]]; then
      echo "$name"
      return 0
    fi
  done <"$LAB_RUN/hosts.tsv"
  lab_die "no name for host $1"
}

# PID of host H's holder process (its mount/UTS/net namespaces), or fails.
lab_holder() {
  local i pid
  i=$(lab_index "$1") || return 1
  pid=$(cat "$(lab_hdir "$i")/holder.pid" 2>/dev/null) || return 1
  [[ -n $pid && -d /proc/$pid ]] || return 1
  echo "$pid"
}

# Runs a command inside host H's namespaces, as a local process (no SSH): for the lab's own use.
lab_exec() {
  local pid
  pid=$(lab_holder "$1") || lab_die "host $1 is not up" || return 1
  shift
  nsenter --target "$pid" --net --mount --uts -- "$@"
}

LAB_SSH_OPTS=(-F /dev/null -o IdentitiesOnly=yes -o StrictHostKeyChecking=no
  -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR
  -o BatchMode=yes -o ConnectTimeout=5 -o ServerAliveInterval=5 -o ServerAliveCountMax=6)

# lab_ssh HOST CMD...: runs CMD on HOST (index, name or address) as root over SSH to its public
# address, with the lab key and no host-key checks. Standard input is passed through.
lab_ssh() {
  local h=$1 addr
  shift
  if [[ $h =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    addr=$h
  else
    addr=$(lab_public "$(lab_index "$h")") || return 1
  fi
  ssh "${LAB_SSH_OPTS[@]}" -i "$LAB_KEY" "root@$addr" "$@"
}

# Installs from Debian what the lab needs, only if a binary is missing. Never starts the
# packages' services (policy-rc.d), so no system dockerd or sshd appears on the machine.
lab_install_deps() {
  local missing=() pair bin pkg
  for pair in dockerd:docker.io containerd:containerd runc:runc sshd:openssh-server \
    ssh:openssh-client ssh-keygen:openssh-client ip:iproute2 iptables:iptables \
    nsenter:util-linux unshare:util-linux ps:procps losetup:mount mkfs.xfs:xfsprogs \
    xfs_growfs:xfsprogs curl:curl caddy:caddy; do
    bin=${pair%%:*}
    pkg=${pair#*:}
    if ! command -v "$bin" >/dev/null 2>&1 && [[ ! -x /usr/sbin/$bin ]]; then
      missing+=("$pkg")
    fi
  done
  if ! lab_static_busybox >/dev/null; then missing+=(busybox-static); fi
  if ((${#missing[@]} == 0)); then return 0; fi
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  lab_log "installing from Debian: ${missing[*]}"
  local made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get update -qq || rc=$?
  if ((rc == 0)); then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" || rc=$?
  fi
  if ((made_policy)); then rm -f /usr/sbin/policy-rc.d; fi
  ((rc == 0)) || lab_die "apt-get failed ($rc)"
}

# Prints the path of a statically linked busybox, or fails.
lab_static_busybox() {
  local b
  for b in /bin/busybox /usr/bin/busybox; do
    if [[ -x $b ]] && ! LC_ALL=C ldd "$b" >/dev/null 2>&1; then
      echo "$b"
      return 0
    fi
  done
  return 1
}

# Checks we can build a lab at all.
lab_preflight() {
  [[ $(id -u) == 0 ]] || lab_die "the lab needs root" || return 1
  [[ $(uname -s) == Linux ]] || lab_die "the lab needs Linux" || return 1
  [[ $LAB_RUN != /run/* && $LAB_RUN != /var/run/* ]] ||
    lab_die "the lab's state ($LAB_RUN) cannot live under /run, which each host replaces" || return 1
}

# lab_up N [NAME...]: builds a lab of N hosts named NAME... (default lab-h<i>), writes
# .run/hosts.json and .run/hosts.tsv, and waits until every dockerd answers over SSH.
lab_up() {
  local n=$1 i
  shift
  local names=("$@")
  lab_preflight || return 1
  local t0
  t0=$(lab_now)
  mkdir -p "$LAB_RUN/logs"
  chmod 700 "$LAB_RUN"
  rm -f "$LAB_KEY" "$LAB_KEY.pub"
  ssh-keygen -q -t ed25519 -N '' -C do-swarm-lab -f "$LAB_KEY"

  ip link add "$LAB_BRIDGE" type bridge
  ip addr add "$LAB_PUBLIC_NET.1/24" dev "$LAB_BRIDGE"
  ip link set "$LAB_BRIDGE" up
  if ! iptables -C FORWARD -i "$LAB_BRIDGE" -o "$LAB_BRIDGE" -j ACCEPT 2>/dev/null; then
    iptables -I FORWARD -i "$LAB_BRIDGE" -o "$LAB_BRIDGE" -j ACCEPT
  fi

  : >"$LAB_RUN/hosts.tsv"
  local json="[" name
  for ((i = 0; i < n; i++)); do
    name=${names[i]:-lab-h$i}
    printf '%s\t%s\t%s\t%s\n' "$i" "$name" "$(lab_public "$i")" "$(lab_private "$i")" \
      >>"$LAB_RUN/hosts.tsv"
    json+=$'\n'"  {\"name\": \"$name\", \"public\": \"$(lab_public "$i")\", \"private\": \"$(lab_private "$i")\"}"
    ((i < n - 1)) && json+=","
  done
  printf '%s\n]\n' "$json" >"$LAB_RUN/hosts.json"

  # The engines run with the daemon.json the program gives every droplet (its raft ticks decide
  # how long a swarm without its leader waits: the front-door scenarios measure that).
  "$LAB_DIR/../../node_modules/.bin/ts-node" --transpile-only "$LAB_DIR/../tools/print-daemon-json.ts" \
    >"$LAB_RUN/daemon.json" || lab_die "rendering the droplets' daemon.json failed" || return 1
  for ((i = 0; i < n; i++)); do
    lab_host_create "$i" "$(lab_name "$i")" || return 1
  done
  for ((i = 0; i < n; i++)); do
    lab_host_start "$i" || return 1
  done
  for ((i = 0; i < n; i++)); do
    lab_wait_host "$i" || return 1
  done
  lab_log "lab up: $n hosts in $(lab_since "$t0") s"
}

# Creates host I's network namespace, addresses, directories, sshd config and holder process.
lab_host_create() {
  local i=$1 name=$2 ns veth hdir ldir
  ns=$(lab_ns "$i")
  veth=$LAB_VETH_PREFIX$i
  hdir=$(lab_hdir "$i")
  ldir=$(lab_logdir "$i")
  rm -rf "$hdir" "$ldir"
  mkdir -p "$hdir"/{run/sshd,tmp,docker,ssh,mnt} "$ldir"
  # The host's own /etc/fstab and /mnt (its "root disk" for volume mounts, see lab__holder).
  printf '# /etc/fstab of lab host %s\n' "$name" >"$hdir/fstab"
  chmod 1777 "$hdir/tmp"
  chmod 755 "$hdir/run/sshd"

  ip netns add "$ns"
  ip link add "$veth" type veth peer name "${veth}p"
  ip link set "${veth}p" netns "$ns"
  ip link set "$veth" master "$LAB_BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" link set "${veth}p" name eth0
  ip -n "$ns" addr add "$(lab_public "$i")/24" dev eth0
  ip -n "$ns" addr add "$(lab_private "$i")/24" dev eth0
  ip -n "$ns" link set eth0 up

  ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$hdir/ssh/ssh_host_ed25519_key"
  cp "$LAB_KEY.pub" "$hdir/ssh/authorized_keys"
  chmod 600 "$hdir/ssh/authorized_keys"
  cat >"$hdir/sshd_config" <<EOF
Port 22
ListenAddress 0.0.0.0
HostKey "$hdir/ssh/ssh_host_ed25519_key"
PidFile /run/sshd.pid
AuthorizedKeysFile "$hdir/ssh/authorized_keys"
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 200
MaxSessions 200
LoginGraceTime 30
Subsystem sftp internal-sftp
EOF
  # The login shell of root over SSH must be bash: if this machine's is not, the host sees a
  # copy of /etc/passwd where it is.
  if [[ $(getent passwd root | cut -d: -f7) != */bash ]]; then
    sed -E 's#^(root:([^:]*:){5})[^:]*$#\1/bin/bash#' /etc/passwd >"$hdir/passwd"
  fi

  # The holder: enters the netns, unshares mount and UTS namespaces, sets the hostname, mounts
  # the per-host /run and /tmp, then sleeps for the life of the host.
  # (In a subshell, so the holder is not a child of the caller: a later `wait` never waits on it.)
  (setsid nsenter --net="/var/run/netns/$ns" unshare --mount --uts --propagation private \
    bash "$LAB_DIR/lab.sh" __holder "$hdir" "$name" </dev/null >"$ldir/holder.log" 2>&1 &)
  local k
  for ((k = 0; k < 100; k++)); do
    [[ -f $hdir/holder.ready ]] && return 0
    sleep 0.05
  done
  lab_die "host $i ($name): holder did not start: $(cat "$ldir/holder.log")"
}

# Runs inside the new namespaces (see lab_host_create).
lab__holder() {
  local hdir=$1 name=$2
  hostname "$name"
  mount --bind "$hdir/run" /run
  if [[ $LAB_RUN == /tmp/* ]]; then
    # The per-host /tmp would hide the lab's own state (a checkout under /tmp): put it back at
    # the same path inside the new /tmp.
    local sub=$hdir/tmp${LAB_RUN#/tmp}
    mkdir -p "$sub"
    mount --bind "$LAB_RUN" "$sub"
    mount --rbind "$hdir/tmp" /tmp
  else
    mount --bind "$hdir/tmp" /tmp
  fi
  if [[ -f $hdir/passwd ]]; then mount --bind "$hdir/passwd" /etc/passwd; fi
  # The failover agent's files live on a droplet's own disk: here, per host.
  local d
  for d in $LAB_HOST_DIRS; do
    mkdir -p "$d" "$hdir/disk$d"
    mount --bind "$hdir/disk$d" "$d"
  done
  # A droplet's own fstab and /mnt: volume-mount.sh edits the one and mounts under the other,
  # which must not be this machine's (nor another host's).
  mount --bind "$hdir/fstab" /etc/fstab
  if [[ $LAB_RUN != /mnt/* ]]; then mount --bind "$hdir/mnt" /mnt; fi
  echo $$ >"$hdir/holder.pid"
  : >"$hdir/holder.ready"
  exec sleep infinity
}

# Starts host I's dockerd and sshd inside its namespaces (boot or power on).
lab_host_start() {
  local i=$1 hdir ldir pid
  hdir=$(lab_hdir "$i")
  ldir=$(lab_logdir "$i")
  pid=$(lab_holder "$i") || lab_die "host $i has no holder" || return 1
  mkdir -p "$hdir/run/sshd"
  chmod 755 "$hdir/run/sshd"
  (nsenter --target "$pid" --net --mount --uts -- setsid dockerd \
    --data-root "$hdir/docker" --exec-root /run/docker --pidfile /run/docker.pid \
    -H unix:///run/docker.sock --bridge none --iptables=false --ip-masq=false \
    --config-file "$LAB_RUN/daemon.json" \
    --cgroup-parent "/$(lab_ns "$i")" \
    </dev/null >>"$ldir/dockerd.log" 2>&1 &)
  nsenter --target "$pid" --net --mount --uts -- /usr/sbin/sshd -f "$hdir/sshd_config" \
    -E "$ldir/sshd.log" </dev/null
}

# Waits until host I answers over SSH and its dockerd answers there.
lab_wait_host() {
  local i=$1 k deadline
  deadline=$((SECONDS + LAB_DOCKERD_WAIT))
  for ((k = 0; SECONDS < deadline; k++)); do
    if lab_ssh "$i" 'docker version --format "{{.Server.Version}}"' >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.3
  done
  lab_die "host $i: dockerd did not answer over SSH within ${LAB_DOCKERD_WAIT}s; tail of its log:" || true
  tail -n 20 "$(lab_logdir "$i")/dockerd.log" >&2 || true
  return 1
}

# Lists PIDs of every process of host I (in its netns, plus all their descendants, plus any
# process left in its container cgroups), except PIDs given after I.
lab_host_pids() {
  local i=$1 ns
  shift
  ns=$(lab_ns "$i")
  {
    if ip netns list | grep -w "^$ns" >/dev/null; then ip netns pids "$ns" 2>/dev/null || true; fi
    local f
    for f in /sys/fs/cgroup/pids/"$ns" /sys/fs/cgroup/unified/"$ns" /sys/fs/cgroup/"$ns"; do
      [[ -d $f ]] && find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null
    done
  } | sort -un | lab__descendants | sort -un | {
    if (($# > 0)); then grep -vxF -f <(printf '%s\n' "$@"); else cat; fi
  } || true
}

# Reads PIDs on stdin, prints them and all their descendants.
lab__descendants() {
  local -A children=()
  local pid ppid
  while read -r pid ppid; do
    children[$ppid]+=" $pid"
  done < <(ps -e -o pid=,ppid=)
  local queue=() p
  mapfile -t queue
  local seen=" "
  while ((${#queue[@]})); do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    [[ -z $p || $seen == *" $p "* ]] && continue
    seen+="$p "
    echo "$p"
    for pid in ${children[$p]:-}; do queue+=("$pid"); done
  done
}

# Stops host I's processes: SIGTERM (if GRACE > 0) with GRACE seconds to exit, then SIGKILL.
# PIDs after GRACE are spared (the holder, on power off).
lab_host_kill() {
  local i=$1 grace=$2 pids k
  shift 2
  if ((grace > 0)); then
    pids=$(lab_host_pids "$i" "$@")
    # shellcheck disable=SC2086 # a list of PIDs
    [[ -n $pids ]] && kill -TERM $pids 2>/dev/null
    for ((k = 0; k < grace * 5; k++)); do
      pids=$(lab_host_pids "$i" "$@")
      [[ -z $pids ]] && break
      sleep 0.2
    done
  fi
  for ((k = 0; k < 50; k++)); do
    pids=$(lab_host_pids "$i" "$@")
    [[ -z $pids ]] && return 0
    # shellcheck disable=SC2086 # a list of PIDs
    kill -KILL $pids 2>/dev/null
    sleep 0.1
  done
  lab_die "host $i: processes survive SIGKILL: $pids"
}

# Unmounts what dockerd left in host I's mount namespace (/run/docker/netns, overlays) and empties
# its /run, as a reboot would. Keeps /run and /tmp themselves.
lab_host_clean_run() {
  local i=$1 pid hdir mp
  hdir=$(lab_hdir "$i")
  if pid=$(lab_holder "$i"); then
    while read -r mp; do
      nsenter --target "$pid" --mount -- umount -l "$mp" 2>/dev/null || true
    done < <(awk -v d="$hdir/docker/" '$5 ~ "^/run/." || index($5, d) == 1 { print $5 }' \
      "/proc/$pid/mountinfo" | sort -r)
  fi
  find "$hdir/run" -mindepth 1 -delete 2>/dev/null || true
  mkdir -p "$hdir/run/sshd"
  chmod 755 "$hdir/run/sshd"
}

# lab_power_off H: pulls the plug on host H: its link goes down first, then its dockerd,
# containerd, containers and sshd die at once (SIGKILL). The link first: a killed process's
# sockets are closed by the (shared) kernel, which would answer every open connection with a
# FIN or RST, a courtesy no powered-off droplet extends (its peers hear nothing at all; a request
# in flight to it gets no answer). Its data root stays, so lab_power_on brings back the same node.
lab_power_off() {
  local i holder
  i=$(lab_index "$1") || return 1
  holder=$(lab_holder "$i") || lab_die "host $1 is not up" || return 1
  ip link set "$LAB_VETH_PREFIX$i" down
  lab_host_kill "$i" 0 "$holder"
  lab_host_clean_run "$i"
  lab__unmount_mnt "$holder"
  lab_log "host $i ($(lab_name "$i")) powered off"
}

# A power-off ends every mount under /mnt (volumes), as it does on a droplet (its kernel stops).
lab__unmount_mnt() {
  local mp
  while read -r mp; do
    nsenter --target "$1" --mount -- umount -l "$mp" 2>/dev/null || true
  done < <(awk '$5 ~ "^/mnt/." { print $5 }' "/proc/$1/mountinfo" | sort -r)
}

# What a droplet's boot mounts before its services start: the fstab (nofail: a missing device
# is skipped) and every enabled systemd mount unit (DigitalOcean's automount, do-volumes.ts)
# whose device is there. The lab's hosts run no systemd: this is its part of a boot.
lab__boot_mounts() {
  [[ -n $1 ]] || return 0
  # shellcheck disable=SC2016 # expands in the host's shell
  nsenter --target "$1" --mount -- sh -c '
    mount -a 2>&1 | sed "s/^/  boot: /" >&2 || true
    for w in /etc/systemd/system/*.wants/*.mount; do
      [ -e "$w" ] || continue
      u=/etc/systemd/system/${w##*/}
      what=$(sed -n "s/^What=//p" "$u"); where=$(sed -n "s/^Where=//p" "$u"); type=$(sed -n "s/^Type=//p" "$u")
      [ -b "$what" ] || continue
      mkdir -p "$where"
      mount -t "$type" -o discard,noatime "$what" "$where" || echo "  boot: $u failed" >&2
    done' || true
}

# lab_power_on H: boots host H again (dockerd and sshd) and waits until it answers over SSH.
lab_power_on() {
  local i
  i=$(lab_index "$1") || return 1
  ip link set "$LAB_VETH_PREFIX$i" up
  lab__boot_mounts "$(lab_holder "$i" || true)"
  lab_host_start "$i"
  lab_wait_host "$i"
  lab_log "host $i ($(lab_name "$i")) powered on"
}

# lab_rebuild H: host H as a new droplet of the same name and addresses: powered off, its
# Docker data root (swarm state, containers, images) wiped, powered on with a fresh engine.
# The lab's images are loaded again: a real droplet would pull them from the registry when a
# task needs them, and without them every task swarm places there fails ("No such image").
lab_rebuild() {
  local dir hdir
  hdir=$(lab_hdir "$(lab_index "$1")") || return 1
  dir=$hdir/docker
  lab_power_off "$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  # A new droplet has a new root disk: nothing mounted under /mnt (the power-off saw to it), an
  # fstab of its own, no mount units.
  find "$hdir/mnt" "$hdir/disk/etc/systemd/system" -mindepth 1 -delete 2>/dev/null || true
  printf '# /etc/fstab of lab host %s\n' "$(lab_name "$1")" >"$hdir/fstab"
  lab_power_on "$1"
  lab_load_images "$1" || lab_die "docker load failed on the rebuilt $1" || return 1
}

# lab_host_add NAME: one more host, as a NEW droplet of that name would be: the next index, its
# own addresses, a fresh engine with the lab's images. It goes into hosts.tsv but not hosts.json
# (a scenario maps the droplet name to it), and a name lookup still finds the older host first.
lab_host_add() {
  local name=$1 i
  i=$(lab_count)
  printf '%s\t%s\t%s\t%s\n' "$i" "$name" "$(lab_public "$i")" "$(lab_private "$i")" \
    >>"$LAB_RUN/hosts.tsv"
  lab_host_create "$i" "$name" || return 1
  lab_host_start "$i" || return 1
  lab_wait_host "$i" || return 1
  lab_load_images "$i" || lab_die "docker load failed on the new host $i ($name)" || return 1
  lab_log "host $i ($name) added: $(lab_public "$i") / $(lab_private "$i")"
}

# lab_add_address H ADDR: gives host H a second public address (the stand-in of a reserved IP:
# DigitalOcean routes it to the droplet it is assigned to). Only in the lab's public network.
lab_add_address() {
  local i addr=$2
  i=$(lab_index "$1") || return 1
  [[ $addr == "$LAB_PUBLIC_NET".* ]] ||
    lab_die "$addr is not in the lab's public network $LAB_PUBLIC_NET.0/24" || return 1
  # grep reads to the end (no -q): under pipefail, `ip ... | grep -q` fails at random when grep
  # exits on the match while ip still writes (the inet6 line after it): SIGPIPE. That made the
  # front door's checks fail after the edge scenarios ("Address already assigned").
  if ! ip -n "$(lab_ns "$i")" -o addr show dev eth0 | grep " $addr/" >/dev/null; then
    ip -n "$(lab_ns "$i")" addr add "$addr/24" dev eth0
  fi
}

# lab_move_address ADDR H: ADDR (the reserved IP's stand-in) now reaches host H only, as
# DigitalOcean routes a reserved IP to the droplet it is assigned to; H empty: no host. The
# machine forgets where ADDR was (its neighbour entry), as the route change would.
lab_move_address() {
  local addr=$1 to=${2:-} i
  [[ $addr == "$LAB_PUBLIC_NET".* ]] ||
    lab_die "$addr is not in the lab's public network $LAB_PUBLIC_NET.0/24" || return 1
  for i in $(lab__existing); do
    [[ $i == "$to" ]] && continue
    if ip netns list | grep -w "^$(lab_ns "$i")" >/dev/null; then
      ip -n "$(lab_ns "$i")" addr del "$addr/24" dev eth0 2>/dev/null || true
    fi
  done
  [[ -z $to ]] || lab_add_address "$to" "$addr"
  ip neigh flush to "$addr" 2>/dev/null || true
}

# lab_unplug H / lab_plug H: takes host H's link down or up: a powered-off droplet answers
# nothing (no refusal, no ARP), and packets to its addresses time out.
lab_unplug() { ip link set "$LAB_VETH_PREFIX$(lab_index "$1")" down; }
lab_plug() { ip link set "$LAB_VETH_PREFIX$(lab_index "$1")" up; }

# Runs the docker CLI on host I locally (nsenter, no SSH), with a time limit.
lab__docker() {
  local i=$1 limit=$2 pid
  shift 2
  pid=$(lab_holder "$i") || return 1
  timeout "$limit" nsenter --target "$pid" --net --mount --uts -- docker "$@"
}

# Indexes of the hosts that exist (namespaces and host dirs), current or left by a crashed run.
lab__existing() {
  {
    ip netns list 2>/dev/null | awk '{print $1}' | sed -n "s/^$LAB_NS_PREFIX\([0-9]\+\)$/\1/p"
    local d
    for d in "$LAB_RUN"/h[0-9]*; do
      [[ -d $d ]] && basename "$d" | sed 's/^h//'
    done
    ip -o link show 2>/dev/null | sed -n "s/^[0-9]*: $LAB_VETH_PREFIX\([0-9]\+\)[@:].*/\1/p"
  } | sort -un
}

# lab_down: tears the lab down, whatever state it is in (also nothing, or a crashed run):
# removes stacks and leaves the swarm where an engine answers, stops every process (SIGTERM with
# a time limit, then SIGKILL), deletes namespaces, veths, the bridge, the FORWARD rule, leftover
# mounts and cgroups, and the hosts' state. Idempotent.
lab_down() {
  local t0 i hosts stacks s
  t0=$(lab_now)
  mapfile -t hosts < <(lab__existing)
  # 1. Politely: stacks, then leave the swarm (in parallel, time-limited).
  local pids=()
  for i in "${hosts[@]}"; do
    (
      if lab_holder "$i" >/dev/null && lab__docker "$i" 3 info >/dev/null 2>&1; then
        stacks=$(lab__docker "$i" 5 stack ls --format '{{.Name}}' 2>/dev/null) || stacks=""
        for s in $stacks; do lab__docker "$i" 10 stack rm "$s" >/dev/null 2>&1 || true; done
        lab__docker "$i" 10 swarm leave --force >/dev/null 2>&1 || true
      fi
    ) &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || true; done
  lab_log "down: stacks removed, swarm left ($(lab_since "$t0") s)"
  if [[ -f $LAB_DO_API_PID ]]; then
    kill "$(cat "$LAB_DO_API_PID")" 2>/dev/null || true
    rm -f "$LAB_DO_API_PID"
  fi
  # 2. Stop every process: SIGTERM, 10 s, SIGKILL.
  pids=()
  for i in "${hosts[@]}"; do
    lab_host_kill "$i" 10 &
    pids+=($!)
  done
  local failed=0
  for i in "${pids[@]}"; do wait "$i" || failed=1; done
  lab_log "down: processes stopped ($(lab_since "$t0") s)"
  # The DigitalOcean volumes stand-in (do-volumes.ts): its server, its loop devices.
  local pidfile=$LAB_RUN/do-api/server.pid loop back
  if [[ -f $pidfile ]]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  fi
  while read -r loop back; do
    if [[ $back == "$LAB_RUN/"* ]]; then losetup -d "$loop" 2>/dev/null || true; fi
  done < <(losetup -l -n -O NAME,BACK-FILE 2>/dev/null || true)
  # 3. Namespaces, links, bridge, rule, mounts, cgroups, state.
  for i in "${hosts[@]}"; do
    ip netns del "$(lab_ns "$i")" 2>/dev/null || true
    ip link del "$LAB_VETH_PREFIX$i" 2>/dev/null || true
  done
  if ip link show "$LAB_BRIDGE" >/dev/null 2>&1; then ip link del "$LAB_BRIDGE"; fi
  while iptables -C FORWARD -i "$LAB_BRIDGE" -o "$LAB_BRIDGE" -j ACCEPT 2>/dev/null; do
    iptables -D FORWARD -i "$LAB_BRIDGE" -o "$LAB_BRIDGE" -j ACCEPT
  done
  local mp
  while read -r mp; do umount -l "$mp" 2>/dev/null || true; done < <(
    awk -v d="$LAB_RUN/" -v n="/run/netns/$LAB_NS_PREFIX" \
      'index($5, d) == 1 || index($5, n) == 1 { print $5 }' /proc/self/mountinfo | sort -r
  )
  local cg
  for i in "${hosts[@]}"; do
    for cg in /sys/fs/cgroup/*/"$(lab_ns "$i")" /sys/fs/cgroup/"$(lab_ns "$i")"; do
      [[ -d $cg ]] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
    done
  done
  for i in "${hosts[@]}"; do rm -rf "$(lab_hdir "$i")"; done
  rm -rf "$LAB_RUN/do-api"
  rm -f "$LAB_RUN/hosts.json" "$LAB_RUN/hosts.tsv"
  local d
  # (Only the lab's own: never the machine's /etc/systemd/system.)
  for d in $LAB_HOST_DIRS; do [[ $d == /etc/systemd/system ]] || rmdir "$d" 2>/dev/null || true; done
  lab_log "lab down (${#hosts[@]} hosts) in $(lab_since "$t0") s"
  ((failed == 0)) || lab_die "some processes survived SIGKILL" || return 1
  lab_check_clean
}

# Fails (listing it) if anything of a lab is left on the machine.
lab_check_clean() {
  local left=() i
  mapfile -t left < <(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$LAB_NS_PREFIX" || true)
  ip link show "$LAB_BRIDGE" >/dev/null 2>&1 && left+=("bridge $LAB_BRIDGE")
  ip -o link show 2>/dev/null | grep ": ${LAB_VETH_PREFIX}[0-9]" >/dev/null && left+=("veth links")
  iptables -C FORWARD -i "$LAB_BRIDGE" -o "$LAB_BRIDGE" -j ACCEPT 2>/dev/null && left+=("FORWARD rule")
  grep -q -e "$LAB_RUN/" -e "/run/netns/$LAB_NS_PREFIX" /proc/self/mountinfo && left+=("mounts")
  for i in $(lab__existing); do left+=("host $i"); done
  compgen -G "/sys/fs/cgroup/*/${LAB_NS_PREFIX}[0-9]*" >/dev/null && left+=("container cgroups")
  losetup -l -n -O BACK-FILE 2>/dev/null | grep -F "$LAB_RUN/" >/dev/null && left+=("loop devices")
  grep -qs "/${LAB_NS_PREFIX}[0-9]" /proc/[0-9]*/cgroup && left+=("container processes")
  if ((${#left[@]})); then
    lab_die "left after teardown: ${left[*]}"
  fi
}

# Builds the test images once (busybox-static rootfs + docker import on host 0), then loads
# the same image archive into every other host, so every node has identical image IDs:
#   lab/web:v1, lab/web:v2: busybox httpd on port 80 serving / ("do-swarm lab web vN"),
#     /cgi-bin/slow (answers after 3 s),
#     /version ("vN") and /health ("ok"), with a HEALTHCHECK on /health;
#   lab/web:v3-crash: exits 1 at start.
lab_images() {
  local t0 bb root img ver n i
  t0=$(lab_now)
  bb=$(lab_static_busybox) || lab_die "no static busybox" || return 1
  n=$(lab_count)
  root=$LAB_RUN/images
  rm -rf "$root"
  mkdir -p "$root"
  for ver in v1 v2 v3-crash; do
    local fs=$root/rootfs-$ver
    mkdir -p "$fs"/{bin,www,tmp,etc}
    chmod 1777 "$fs/tmp"
    cp "$bb" "$fs/bin/busybox"
    local a
    for a in $("$bb" --list); do
      [[ $a == busybox ]] || ln -s busybox "$fs/bin/$a"
    done
    echo "root:x:0:0:root:/:/bin/sh" >"$fs/etc/passwd"
    echo "do-swarm lab web $ver" >"$fs/www/index.html"
    echo "$ver" >"$fs/www/version"
    echo "ok" >"$fs/www/health"
    # /cgi-bin/slow answers after 3 s, naming its method and container: a request that is
    # surely in flight when a node dies (scenario 23).
    mkdir -p "$fs/www/cgi-bin"
    # shellcheck disable=SC2016 # the CGI's own variables, expanded when it runs
    printf '%s\n' '#!/bin/sh' 'sleep 3' "printf 'Content-Type: text/plain\\r\\n\\r\\n'" \
      'echo "slow $REQUEST_METHOD $(hostname)"' >"$fs/www/cgi-bin/slow"
    chmod 755 "$fs/www/cgi-bin/slow"
    img=lab/web:$ver
    local changes=(--change 'EXPOSE 80' --change 'ENV PATH=/bin'
      --change "LABEL org.opencontainers.image.version=$ver")
    if [[ $ver == v3-crash ]]; then
      changes+=(--change 'CMD ["/bin/sh", "-c", "echo lab web v3-crash: crashing at start >&2; exit 1"]')
    else
      # A shell as PID 1 that exits on SIGTERM: httpd as PID 1 ignores it, so every stop would
      # wait for the 10 s grace period.
      changes+=(--change 'CMD ["/bin/sh", "-c", "trap \"exit 0\" TERM INT; /bin/httpd -f -p 80 -h /www & wait"]'
        --change 'HEALTHCHECK --interval=2s --timeout=2s --start-period=1s --retries=3 CMD ["/bin/wget", "-q", "-O", "/dev/null", "http://127.0.0.1/health"]')
    fi
    tar -C "$fs" -c . | lab__docker 0 60 import "${changes[@]}" - "$img" >/dev/null ||
      lab_die "docker import of $img failed" || return 1
  done
  lab_edge_image "$root" "$bb" || return 1
  lab__docker 0 60 save "${LAB_IMAGES[@]}" "$LAB_EDGE_IMAGE" >"$root/images.tar" || lab_die "docker save failed" || return 1
  local pids=() failed=0 p
  for ((i = 1; i < n; i++)); do
    lab_load_images "$i" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  ((failed == 0)) || lab_die "docker load failed on a host" || return 1
  lab_log "images ${LAB_IMAGES[*]} $LAB_EDGE_IMAGE on $n hosts in $(lab_since "$t0") s"
}

# lab_edge_image ROOT BUSYBOX: the edge's image, imported on host 0 under the production name
# $LAB_EDGE_IMAGE: Debian's /usr/bin/caddy with the shared libraries it links (it is not a
# static binary: `ldd /usr/bin/caddy`), and busybox with every applet linked, as the official
# alpine-based image has them (its sh runs the edge's scripts, edge-caddy.sh and
# edge-config.sh: cmp, cp, mv, mktemp, sha256sum, date, sleep, wget; test for a healthcheck).
# The official image keeps its state in /data and /config the same way (XDG_DATA_HOME,
# XDG_CONFIG_HOME).
lab_edge_image() {
  local root=$1 bb=$2 fs lib a
  [[ -n $LAB_EDGE_IMAGE ]] || lab_die "no edge image name found in components/edge/config.ts" || return 1
  [[ -x /usr/bin/caddy ]] || lab_die "no /usr/bin/caddy: apt-get install caddy" || return 1
  fs=$root/rootfs-edge
  mkdir -p "$fs"/{bin,usr/bin,etc/caddy,data,config,tmp}
  chmod 1777 "$fs/tmp"
  cp /usr/bin/caddy "$fs/usr/bin/caddy"
  cp "$bb" "$fs/bin/busybox"
  for a in $("$bb" --list); do
    [[ $a == busybox ]] || ln -s busybox "$fs/bin/$a"
  done
  while read -r lib; do
    mkdir -p "$fs$(dirname "$lib")"
    cp -L "$lib" "$fs$lib"
  done < <(ldd /usr/bin/caddy | grep -o '/[^ ]*' | sort -u)
  echo "root:x:0:0:root:/:/bin/sh" >"$fs/etc/passwd"
  tar -C "$fs" -c . | lab__docker 0 60 import --change 'ENV PATH=/usr/bin:/bin' \
    --change 'ENV XDG_DATA_HOME=/data' --change 'ENV XDG_CONFIG_HOME=/config' \
    --change 'EXPOSE 80' --change 'CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]' \
    - "$LAB_EDGE_IMAGE" >/dev/null || lab_die "docker import of $LAB_EDGE_IMAGE failed" || return 1
}

# lab_load_images H: loads the lab's images (saved by lab_images) on host H. The lab has no
# registry: this stands in for the pull a real droplet makes of an image it does not have.
lab_load_images() {
  lab_ssh "$1" docker load -q <"$LAB_RUN/images/images.tar" >/dev/null
}

# Command-line entrypoint.
lab__main() {
  set -euo pipefail
  local cmd=${1:-}
  shift || true
  case $cmd in
  __holder) lab__holder "$@" ;;
  deps) lab_install_deps ;;
  up)
    lab_install_deps
    lab_up "$@"
    lab_images
    ;;
  down) lab_down ;;
  ssh) lab_ssh "$@" ;;
  power-off) lab_power_off "$@" ;;
  power-on) lab_power_on "$@" ;;
  move-address) lab_move_address "$@" ;;
  images) lab_images ;;
  check-clean) lab_check_clean ;;
  *)
    echo "usage: $0 deps | up N [NAME...] | down | ssh HOST CMD | power-off H | power-on H | move-address ADDR [H] | images | check-clean" >&2
    exit 2
    ;;
  esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  lab__main "$@"
fi
