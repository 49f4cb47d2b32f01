#!/usr/bin/env bash
# Booted Debian 12 test hosts with systemd-nspawn, each in its own network namespace.
#
#   nspawn.sh rootfs                 build (once) and print the cached Debian rootfs
#   nspawn.sh create NAME [PUBKEY]   boot host NAME; print one JSON line: name, address, user,
#                                    port, identity_file (a generated key unless PUBKEY is given)
#   nspawn.sh destroy NAME           stop NAME and remove its process, netns, veth, iptables
#                                    rules and state; safe to repeat, safe after a failed create
#   nspawn.sh list                   the hosts that exist now
#
# The rootfs is cached under ${XDG_CACHE_HOME:-$HOME/.cache}/mensetsu-nspawn, keyed on the
# suite, the mirror and the package list, built under a lock; each host boots an overlay of it
# (its writes land in its own upper directory), so the cache is never modified.
# Each host gets a /30 from 10.213.0.0/16: the root namespace holds .1 on a veth, the host
# .2 with a default route; a MASQUERADE rule tagged "mensetsu-nspawn:NAME" lets it reach the
# Debian and PyPI mirrors. Nothing listens on the machine's own addresses.
# Needs root, systemd-nspawn, debootstrap, iproute2, iptables (scripts/host_deps.sh).
set -euo pipefail

SUITE=${NSPAWN_SUITE:-bookworm}
PACKAGES=${NSPAWN_PACKAGES:-systemd,systemd-sysv,dbus,python3,python3-apt,sudo,iproute2,openssh-server,ca-certificates}
LOGIN_USER="admin" # as on Debian's cloud images: key login, passwordless sudo
STATE_ROOT=${NSPAWN_STATE_DIR:-/run/mensetsu-nspawn}
BOOT_LIMIT=${NSPAWN_BOOT_LIMIT:-180} # seconds for a host to boot and answer SSH
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/mensetsu-nspawn
IMAGE_VERSION=2 # bump when the image preparation below changes

log() { echo "nspawn: $*" >&2; }
die() { log "$*"; exit 1; }

host_mirror() {
  # The Debian mirror the machine's own apt sources name, else deb.debian.org.
  local mirror=""
  if [[ -n ${NSPAWN_MIRROR:-} ]]; then
    echo "$NSPAWN_MIRROR"; return
  fi
  mirror=$(grep -hsE '^URIs:.*/debian/?$' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | head -n1 || true)
  [[ -n $mirror ]] || mirror=$(grep -hsE '^deb\s+\S+/debian/?\s' /etc/apt/sources.list | awk '{print $2}' | head -n1 || true)
  echo "${mirror:-http://deb.debian.org/debian}"
}

rootfs_path() {
  local key
  key=$(printf '%s\n' "$SUITE" "$(host_mirror)" "$PACKAGES" "$IMAGE_VERSION" | sha256sum | cut -c1-16)
  echo "$CACHE_ROOT/rootfs-$SUITE-$key"
}

prepare_image() {
  # Make one image serve many hosts: no identity of its own, a login user for Ansible.
  local dir=$1
  : >"$dir/etc/machine-id"
  rm -f "$dir/etc/hostname" "$dir/var/lib/dbus/machine-id" "$dir"/etc/ssh/ssh_host_*
  chroot "$dir" useradd --create-home --shell /bin/bash "$LOGIN_USER"
  echo "$LOGIN_USER ALL=(ALL) NOPASSWD:ALL" >"$dir/etc/sudoers.d/90-$LOGIN_USER"
  chmod 0440 "$dir/etc/sudoers.d/90-$LOGIN_USER"
  # A container has no console to log in on and no hardware clock to set.
  chroot "$dir" systemctl mask console-getty.service getty@tty1.service systemd-timesyncd.service >/dev/null 2>&1 || true
  chroot "$dir" apt-get clean
  # No package index: like a fresh cloud image, the first apt task must refresh it.
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin
  touch -d @0 "$dir/var/lib/apt/lists"
  # The suites a Debian cloud image follows, security updates included.
  local mirror
  mirror=$(host_mirror)
  cat >"$dir/etc/apt/sources.list" <<SOURCES
deb $mirror $SUITE main
deb $mirror $SUITE-updates main
deb ${mirror%/debian*}/debian-security $SUITE-security main
SOURCES
}

cmd_rootfs() {
  local dir tmp
  dir=$(rootfs_path)
  mkdir -p "$CACHE_ROOT"
  exec 9>"$CACHE_ROOT/.lock"
  flock 9
  if [[ ! -f $dir/.complete ]]; then
    tmp="$dir.tmp.$$"
    rm -rf "$tmp" "$dir"
    log "building the $SUITE rootfs from $(host_mirror) (once; about 1-2 minutes) in $dir"
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$tmp" "$(host_mirror)" >"$CACHE_ROOT/debootstrap.log" 2>&1 ||
      { tail -n 20 "$CACHE_ROOT/debootstrap.log" >&2; rm -rf "$tmp"; die "debootstrap failed"; }
    prepare_image "$tmp"
    touch "$tmp/.complete"
    mv "$tmp" "$dir"
  fi
  flock -u 9
  echo "$dir"
}

host_only_cas() {
  # Write each certificate the machine trusts but the image does not into DIR, one per file.
  local rootfs=$1 dir=$2
  mkdir -p "$dir"
  [[ -f /etc/ssl/certs/ca-certificates.crt ]] || return 0
  awk -v dir="$dir" -v image="$rootfs/etc/ssl/certs/ca-certificates.crt" '
    BEGIN { while ((getline line < image) > 0) { cert = cert line "\n"; if (line ~ /END CERT/) { known[cert] = 1; cert = "" } } }
    { cert = cert $0 "\n" }
    /END CERTIFICATE/ { if (!(cert in known)) { n++; printf "%s", cert > (dir "/host-trust-" n ".crt") } cert = "" }
  ' /etc/ssl/certs/ca-certificates.crt
}

valid_name() { [[ $1 =~ ^[a-zA-Z0-9][a-zA-Z0-9-]{0,40}$ ]] || die "bad host name '$1' (letters, digits, -)"; }

allocate_index() {
  # The lowest /30 index that no existing host holds (called under the state lock).
  local i
  for i in $(seq 1 250); do
    if ! grep -qsx "$i" "$STATE_ROOT"/*/index; then
      echo "$i"; return
    fi
  done
  die "no free address: 250 hosts exist"
}

# The nspawn process of NAME: argv[0] is systemd-nspawn and one argument is exactly
# --machine=NAME (a loose pattern would also match the shell that started it).
nspawn_pids() {
  local name=$1 pid
  for pid in $(pgrep -x systemd-nspawn || true); do
    if tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qx -- "--machine=$name"; then
      echo "$pid"
    fi
  done
}

alive() {
  # PID exists and is not a zombie (the machine's PID 1 reaps slowly; kill -0 lies then).
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

container_init() {
  local nspawn=$1 child
  # shellcheck disable=SC2013 # the file is a space-separated list of pids
  for child in $(cat /proc/"$nspawn"/task/*/children 2>/dev/null); do
    echo "$child"; return
  done
  return 1
}

cmd_create() {
  local name=$1 pubkey=${2:-} rootfs state index hostaddr guestaddr net ns veth uid gid nspawn init
  valid_name "$name"
  [[ $(id -u) -eq 0 ]] || die "root is needed"
  rootfs=$(cmd_rootfs)
  state="$STATE_ROOT/$name"
  mkdir -p "$STATE_ROOT"
  exec 8>"$STATE_ROOT/.lock"
  flock 8
  [[ ! -e $state ]] || die "host $name exists already (destroy it first)"
  index=$(allocate_index)
  mkdir -p "$state/upper"
  echo "$index" >"$state/index"
  flock -u 8
  # A create that fails half-way leaves nothing behind.
  trap 'status=$?; if ((status != 0)); then cmd_destroy "$name" || true; fi' EXIT

  net="10.213.$index"
  hostaddr="$net.1"
  guestaddr="$net.2"
  ns="nspawn-$name"
  veth="nsp$index"
  echo "$ns" >"$state/netns"

  # Identity: its own SSH host keys and an authorized key for the login user.
  mkdir -p "$state/upper/etc/ssh"
  ssh-keygen -q -A -f "$state/upper" >/dev/null
  if [[ -z $pubkey ]]; then
    ssh-keygen -q -t ed25519 -N '' -C "molecule@$name" -f "$state/id_ed25519"
    pubkey="$state/id_ed25519.pub"
  fi
  uid=$(awk -F: -v u="$LOGIN_USER" '$1 == u {print $3}' "$rootfs/etc/passwd")
  gid=$(awk -F: -v u="$LOGIN_USER" '$1 == u {print $4}' "$rootfs/etc/passwd")
  install -d -m 0755 -o "$uid" -g "$gid" "$state/upper/home/$LOGIN_USER"
  install -d -m 0700 -o "$uid" -g "$gid" "$state/upper/home/$LOGIN_USER/.ssh"
  install -m 0600 -o "$uid" -g "$gid" "$pubkey" "$state/upper/home/$LOGIN_USER/.ssh/authorized_keys"

  # The machine's own trust store: where it reaches the mirrors through a TLS-inspecting
  # proxy, the host must trust the same authorities to install from PyPI.
  host_only_cas "$rootfs" "$state/upper/usr/local/share/ca-certificates"
  if [[ -n $(ls -A "$state/upper/usr/local/share/ca-certificates") ]]; then
    install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$state/upper/etc/ssl/certs/ca-certificates.crt"
  fi
  { cat "$rootfs/etc/hosts" 2>/dev/null || printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n'; echo "127.0.1.1 $name"; } >"$state/upper/etc/hosts"

  # Network: a namespace with one veth end, the other end in the root namespace.
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  ip addr add "$hostaddr/30" dev "$veth"
  ip link set "$veth" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$guestaddr/30" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "$hostaddr"
  sysctl -qw net.ipv4.ip_forward=1
  iptables -t nat -A POSTROUTING -s "$net.0/30" ! -d "$net.0/30" -j MASQUERADE -m comment --comment "mensetsu-nspawn:$name"

  setsid systemd-nspawn --quiet --machine="$name" --directory="$rootfs" --overlay="$rootfs:$state/upper:/" \
    --network-namespace-path="/run/netns/$ns" --register=no --keep-unit --settings=no --link-journal=no \
    --resolv-conf=copy-host --timezone=off --console=read-only --boot \
    >"$state/console.log" 2>&1 </dev/null &
  nspawn=$!
  echo "$nspawn" >"$state/pid"

  # Ready: systemd says running (or degraded) and sshd answers. A few seconds on an idle machine;
  # the bound only catches a host that never boots, so it allows for a heavily loaded one.
  local deadline=$((SECONDS + BOOT_LIMIT)) status=""
  while ((SECONDS < deadline)); do
    alive "$nspawn" || { tail -n 20 "$state/console.log" >&2; die "systemd-nspawn for $name exited"; }
    if init=$(container_init "$nspawn"); then
      status=$(nsenter -t "$init" -m -p -u -i -n systemctl is-system-running 2>/dev/null || true)
      if [[ $status == running || $status == degraded ]] &&
        timeout 1 bash -c "exec 3<>/dev/tcp/$guestaddr/22" 2>/dev/null; then
        break
      fi
    fi
    sleep 0.2
  done
  ((SECONDS < deadline)) || { tail -n 20 "$state/console.log" >&2; die "$name did not boot within $BOOT_LIMIT s (state: ${status:-none})"; }
  trap - EXIT
  local key=""
  [[ -f $state/id_ed25519 ]] && key="$state/id_ed25519"
  printf '{"name": "%s", "address": "%s", "user": "%s", "port": 22, "identity_file": "%s", "state_dir": "%s"}\n' \
    "$name" "$guestaddr" "$LOGIN_USER" "$key" "$state"
}

cmd_destroy() {
  local name=$1 state ns pids pid init
  valid_name "$name"
  state="$STATE_ROOT/$name"
  ns="nspawn-$name"
  pids=$(nspawn_pids "$name")
  if [[ -n $pids ]]; then
    for pid in $pids; do
      init=$(container_init "$pid" || true)
      kill -TERM "$pid" 2>/dev/null || true # nspawn asks the container to power off
      for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
      if alive "$pid"; then
        if [[ -n $init ]]; then kill -KILL "$init" 2>/dev/null || true; fi
        kill -KILL "$pid" 2>/dev/null || true
      fi
      for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    done
  fi
  if [[ -e /run/netns/$ns ]]; then
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do [[ -z $(ip netns pids "$ns" 2>/dev/null) ]] && break; sleep 0.1; done
    ip netns del "$ns" 2>/dev/null || true
  fi
  if [[ -f $state/index ]]; then
    ip link del "nsp$(<"$state/index")" 2>/dev/null || true
  fi
  # Exactly the rules tagged for this host.
  local rule
  while rule=$(iptables -t nat -S POSTROUTING | grep -F -- "--comment mensetsu-nspawn:$name " | head -n1) && [[ -n $rule ]]; do
    eval "iptables -t nat ${rule/-A /-D }"
  done
  while rule=$(iptables -t nat -S POSTROUTING | grep -E -- "--comment \"?mensetsu-nspawn:$name\"?( |$)" | head -n1) && [[ -n $rule ]]; do
    eval "iptables -t nat ${rule/-A /-D }"
  done
  rm -rf "/run/systemd/nspawn/propagate/$name" "$state"
  [[ -z $(nspawn_pids "$name") ]] || die "$name: systemd-nspawn still runs"
}

cmd_list() {
  local state
  for state in "$STATE_ROOT"/*/; do
    [[ -d $state ]] || continue
    echo "$(basename "$state") 10.213.$(cat "$state/index" 2>/dev/null).2"
  done
}

case "${1:-}" in
  rootfs) cmd_rootfs ;;
  create) [[ $# -ge 2 ]] || die "usage: $0 create NAME [PUBKEY]"; cmd_create "$2" "${3:-}" ;;
  destroy) [[ $# -eq 2 ]] || die "usage: $0 destroy NAME"; cmd_destroy "$2" ;;
  list) cmd_list ;;
  *) echo "usage: $0 rootfs | create NAME [PUBKEY] | destroy NAME | list" >&2; exit 2 ;;
esac
