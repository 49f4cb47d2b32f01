#!/usr/bin/env bash
# yamllint, ruff, ansible-lint (production profile, offline) and ansible-test sanity on the modules
# and plugins (scripts/sanity.sh, docs/layout.md), side by side: the four read the repository and
# write nothing in it (sanity works on a copy in a temporary directory), so none waits for another.
# Each step's output is kept and printed as one block, in this order, once all have ended; the exit
# status is non-zero when any step failed, and the last line names the failed ones.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
logs=$(mktemp -d /tmp/lint-logs.XXXXXX)
trap 'rm -rf "$logs"' EXIT

names=(yamllint ruff ansible-lint sanity)
declare -A titles=(
  [yamllint]="yamllint"
  [ruff]="ruff"
  [ansible-lint]="ansible-lint (production profile, offline)"
  [sanity]="ansible-test sanity (library/, module_utils/, plugins/ as a collection)"
)
declare -A commands=(
  [yamllint]="yamllint --strict ."
  [ruff]="ruff check . && ruff format --check ."
  [ansible-lint]="ansible-lint --offline --profile production"
  [sanity]="scripts/sanity.sh"
)
declare -A pids=()
for name in "${names[@]}"; do
  (
    start=$SECONDS
    status=0
    bash -c "set -euo pipefail; ${commands[$name]}" >"$logs/$name.log" 2>&1 || status=$?
    echo "$status $((SECONDS - start))" >"$logs/$name.status"
  ) &
  pids[$name]=$!
done

failed=()
for name in "${names[@]}"; do
  wait "${pids[$name]}" || true
  read -r status seconds <"$logs/$name.status"
  echo "== ${titles[$name]} (${seconds} s)"
  cat "$logs/$name.log"
  ((status == 0)) || failed+=("$name")
done
if ((${#failed[@]} > 0)); then
  echo "lint: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "lint: every step passed"
