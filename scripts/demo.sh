#!/usr/bin/env bash
# make demo: the whole site.yml against the local AWS emulator, then what the API reports.
# Leaves the emulator running (scripts/moto.sh; .demo/moto.pid, .demo/moto.log) until
# `make demo-down`. Run again, it re-uses the emulator and converges with no change.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
port=${MOTO_PORT:-5055}
export MOTO_PORT=$port AWS_ENDPOINT_URL="http://127.0.0.1:${port}"
scripts/moto.sh start
started=$(date +%s)
mkdir -p .demo
echo "demo: ansible-playbook site.yml -i inventories/local (log: .demo/site.log)"
if ! ansible-playbook site.yml -i inventories/local "$@" 2>&1 | tee .demo/site.log | grep -E --line-buffered '^(PLAY|TASK) \[|^(changed|fatal|failed)|RECAP|^localhost'; then
  :
fi
status=${PIPESTATUS[0]}
if [[ $status -ne 0 ]]; then
  echo "demo: site.yml failed (exit $status); the end of .demo/site.log:" >&2
  tail -30 .demo/site.log >&2
  exit "$status"
fi
echo "demo: site.yml converged in $(( $(date +%s) - started )) s"
scripts/cost.sh local -e cost_warn_only=true -e cost_summary_file="$PWD/.demo/cost.json" >/dev/null
scripts/summary.py -i inventories/local --cost .demo/cost.json
cat <<EOT

Next:
  make demo                 converge again: changed=0, nothing written
  ansible-playbook site.yml -i inventories/local --check --diff    what a run would change
  AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \\
    aws --region ap-northeast-1 ec2 describe-security-groups     (any AWS client works against the emulator)
  make demo-down            stop the emulator (pid $(cat .demo/moto.pid), log .demo/moto.log)
EOT
