#!/usr/bin/env bash
# make drift ENV=<env>: the read-only drift run (playbooks/drift.yml) against inventories/<env>,
# with its report, and an exit code like `terraform plan -detailed-exitcode`. The playbook alone
# already fails on drift and on a failed run and writes the report (its drift_report callback sits
# next to it); this wrapper tells the two apart, from the report's status:
#   0  no drift: the platform matches its declaration
#   2  drift found: see reports/drift-<env>-<UTC timestamp>.md (and .json)
#   1  the run itself failed (credentials, API errors, an unreachable host, no report):
#      never read as "no drift"
# Usage: scripts/drift.sh [ENV] [ansible-playbook options...]   (ENV defaults to $ENV, then local)
set -uo pipefail

# The whole script is one function, read before it runs: a checkout updated (git pull) while a
# scheduled run is in progress cannot change what this run executes.
main() {
  cd "$(dirname "$0")/.."
  if [[ $# -gt 0 && $1 != -* ]]; then
    env_name=$1
    shift
  else
    env_name=${ENV:-local}
  fi
  inventory="inventories/$env_name"
  if [[ ! -d $inventory ]]; then
    echo "drift: no inventory $inventory" >&2
    exit 1
  fi
  if [[ -x .venv/bin/ansible-playbook ]]; then
    export PATH="$PWD/.venv/bin:$PATH"
  fi

  pointer=$(mktemp)
  trap 'rm -f "$pointer"' EXIT
  export DRIFT_ENV=$env_name DRIFT_REPORT_DIR=${DRIFT_REPORT_DIR:-reports} DRIFT_REPORT_POINTER=$pointer

  # The plays force check mode; --check also sets ansible_check_mode, which roles branch on (e.g. to
  # skip the wait for a long creation: a drift run only reads).
  ansible-playbook playbooks/drift.yml -i "$inventory" --check --diff "$@"
  run_status=$?

  report=$(head -n1 "$pointer")
  if [[ -z $report || ! -f $report ]]; then
    echo "drift: FAILED: the run ended without a report (ansible-playbook exit $run_status)" >&2
    exit 1
  fi
  status=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["status"])' "$report") || status=unreadable
  echo
  cat "${report%.json}.md"
  # ansible-playbook exits 2 on drift too (the verdict play fails): only the report's status tells
  # drift from a failed run. A clean report with a non-zero exit is a failure after the verdict.
  case $status in
    clean)
      if [[ $run_status -eq 0 ]]; then
        exit 0
      fi
      ;;
    drift)
      if [[ $run_status -eq 2 ]]; then
        exit 2
      fi
      ;;
  esac
  echo "drift: FAILED: the run itself failed (ansible-playbook exit $run_status, report status $status): this is not a drift result" >&2
  exit 1
}

main "$@"
