#!/usr/bin/env bash
# The monthly estimate of one environment against the seed's budget table, offline (no AWS call).
#   scripts/cost.sh [ENV] [ansible-playbook options...]     ENV: local (default), dev, prod
#   scripts/cost.sh prod -e cost_warn_only=true             print and warn instead of failing
set -euo pipefail
cd "$(dirname "$0")/.."
env_name=${1:-local}
shift || true
if [[ ! -d inventories/$env_name ]]; then
  echo "cost: no inventory inventories/$env_name (try local, dev or prod)" >&2
  exit 2
fi
# hosts.yml, not the directory: the settings without the EC2 dynamic inventory (aws_ec2.yml),
# which would ask AWS for the app hosts.
exec .venv/bin/ansible-playbook playbooks/cost.yml -i "inventories/$env_name/hosts.yml" "$@"
