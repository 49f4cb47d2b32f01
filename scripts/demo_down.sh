#!/usr/bin/env bash
# make demo-down: stop what make demo left running and forget the emulator's state: the booted
# hosts (playbooks/local_down.yml: machines, network namespaces, veths, iptables rules, state)
# and the emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
if [[ -f /run/mensetsu-local/hosts.json || -n $(ls -d /run/mensetsu-nspawn/mensetsu-local-* 2>/dev/null) ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "demo-down: the demo's hosts run, and removing them needs root: run make demo-down as root" >&2
    exit 1
  fi
  echo "demo-down: removing the app and data hosts (log: /tmp/mensetsu-local-down.log)"
  if ! ansible-playbook playbooks/local_down.yml -i inventories/local >/tmp/mensetsu-local-down.log 2>&1; then
    tail -30 /tmp/mensetsu-local-down.log >&2
    exit 1
  fi
fi
scripts/moto.sh stop
rm -rf .demo
echo "demo-down: nothing of the demo is left running"
