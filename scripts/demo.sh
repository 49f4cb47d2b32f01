#!/usr/bin/env bash
# make demo: the whole site.yml against the local stand-in, then what the API reports.
#   - an AWS emulator (moto server on loopback; .demo/moto.pid, .demo/moto.log) for the control plane;
#   - as root, booted hosts (playbooks/local_up.yml): a Debian 12 systemd-nspawn machine for the
#     EC2 app host and one with real PostgreSQL and Redis for RDS and ElastiCache, each in its own
#     network namespace. Without root, or without systemd-nspawn, the emulator only (it says why).
# Leaves them running until `make demo-down`. Run again, it re-uses them and converges with no change.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
port=${MOTO_PORT:-5055}
export MOTO_PORT=$port AWS_ENDPOINT_URL="http://127.0.0.1:${port}"
started=$(date +%s)
mkdir -p .demo

# Why the hosts cannot be booted here, or nothing.
why_no_hosts() {
  [[ $(id -u) -eq 0 ]] || { echo "not root (systemd-nspawn, network namespaces and iptables need root)"; return; }
  scripts/host_deps.sh >/dev/null 2>&1 || { echo "the host packages (systemd-container, debootstrap, iptables) could not be installed"; return; }
  local probe="demo-probe-$$"
  ip netns add "$probe" 2>/dev/null || { echo "network namespaces cannot be created here"; return; }
  ip netns del "$probe"
}

# Run a playbook, show its plays, tasks, changes and recap; on failure, the end of its log.
play() {
  local log=$1 status
  shift
  echo "demo: ansible-playbook $* -i inventories/local (log: $log)"
  ansible-playbook "$@" -i inventories/local 2>&1 | tee "$log" |
    grep -E --line-buffered '^(PLAY|TASK) \[|^(changed|fatal|failed)|RECAP|^localhost|^mensetsu' || true
  status=${PIPESTATUS[0]}
  if [[ $status -ne 0 ]]; then
    echo "demo: $1 failed (exit $status); the end of $log:" >&2
    tail -30 "$log" >&2
    exit "$status"
  fi
}

scripts/moto.sh start
reason=$(why_no_hosts)
if [[ -z $reason ]]; then
  play .demo/local_up.log playbooks/local_up.yml
else
  echo "demo: NOT booting the app and data hosts: $reason."
  echo "demo: site.yml runs against the emulator only (configure and the API checks find no host)."
fi
play .demo/site.log site.yml "$@"
echo "demo: converged in $(($(date +%s) - started)) s"
scripts/cost.sh local -e cost_warn_only=true -e cost_summary_file="$PWD/.demo/cost.json" >/dev/null
scripts/summary.py -i inventories/local --cost .demo/cost.json

app=""
if [[ -f /run/mensetsu-local/hosts.json ]]; then
  app=$(python3 -c 'import json, sys; h = json.load(open(sys.argv[1]))["hosts"]; print(" ".join(v["address"] for v in h.values() if v["group"] == "app"))' /run/mensetsu-local/hosts.json)
fi
echo
echo "Next:"
for address in $app; do
  cat <<EOT
  curl http://$address:8000/health/ready            the API on the app host: PostgreSQL and Redis (TLS, AUTH) answer
  curl -X POST -H 'Content-Type: application/json' -d '{"candidate": "me", "question": "Why us?"}' \\
    http://$address:8000/api/practice-sessions      keep a row; GET /api/practice-sessions/<id> reads it
  ssh -i /run/mensetsu-local/id_ed25519 admin@$address    the host (journalctl -u interview-api)
EOT
done
cat <<EOT
  make demo                 converge again: changed=0, nothing written
  ansible-playbook site.yml -i inventories/local --check --diff    what a run would change
  make drift                compare what is declared with what the emulator holds (report in reports/)
  make cost                 the monthly estimate against the seed's budget
  AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \\
    aws --region ap-northeast-1 ec2 describe-security-groups     (any AWS client works against the emulator)
  make demo-down            stop the emulator (pid $(cat .demo/moto.pid), log .demo/moto.log)${app:+ and remove the hosts}
EOT
