#!/usr/bin/env bash
# Install the Debian packages that the molecule test hosts need on the machine that boots
# them (systemd-nspawn, debootstrap, iproute2, iptables, OpenSSH client), and graphviz for the
# architecture picture's render test, only when missing.
# Idempotent: when everything is present it installs nothing and touches no package list.
# Needs root (apt-get); prints why and exits 1 otherwise.
set -euo pipefail

# command -> Debian package that provides it
declare -A wanted=(
  [systemd-nspawn]=systemd-container
  [debootstrap]=debootstrap
  [ip]=iproute2
  [iptables]=iptables
  [ssh]=openssh-client
  [ssh-keygen]=openssh-client
  [nsenter]=util-linux
  [curl]=curl
  [flock]=util-linux
  [dot]=graphviz
)

missing=()
for command in "${!wanted[@]}"; do
  if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$command" >/dev/null 2>&1; then
    missing+=("${wanted[$command]}")
  fi
done
# The Debian archive keyring: debootstrap verifies the mirror's Release file with it.
[[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || missing+=(debian-archive-keyring)

if ((${#missing[@]} == 0)); then
  exit 0
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [[ $(id -u) -ne 0 ]]; then
  echo "host_deps: missing ${missing[*]} and not root: cannot install them" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "host_deps: missing ${missing[*]} and this machine has no apt-get" >&2
  exit 1
fi
echo "host_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
