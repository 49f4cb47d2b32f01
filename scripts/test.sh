#!/usr/bin/env bash
# The README's test commands (docs/testing.md says what each runs and how long it takes).
#   scripts/test.sh           make test: lint, pytest (which starts its own moto servers) and the
#                             molecule scenarios on booted systemd-nspawn hosts (they say loudly why
#                             when they cannot run), side by side.
#   scripts/test.sh --fast    make test-fast: lint and the tests that boot no host and converge no
#                             whole stack (pytest -m "not stack and not root"; markers in pyproject.toml),
#                             side by side.
# Further arguments go to pytest. TEST_SERIAL=1: one part after the other (lint, molecule, pytest).
#
# Side by side because none of the parts waits for another or shares anything with it: lint reads
# the repository (ansible-test sanity on a copy), every pytest file starts its own moto server, and
# the molecule hosts and the end-to-end test's hosts have names of their own and take their
# addresses under molecule/shared/nspawn.sh's lock. Lint's and molecule's output is printed as one
# block when each ends (a lint failure shows while pytest still runs); the exit status is non-zero
# when any part failed, and the last line names which.
set -euo pipefail
cd "$(dirname "$0")/.."
fast=false
if [[ ${1:-} == --fast ]]; then
  fast=true
  shift
fi
scripts/venv.sh
export PATH="$PWD/.venv/bin:$PATH"
logs=$(mktemp -d /tmp/test-logs.XXXXXX)

# Run "$@" as part NAME in the background; its output goes to $logs/NAME.log and is printed when it ends.
declare -A parts=()
start_part() {
  local name=$1
  shift
  (
    status=0
    "$@" >"$logs/$name.log" 2>&1 || status=$?
    { echo "==================== $name (exit $status) ===================="; cat "$logs/$name.log"; } >&2
    exit "$status"
  ) &
  parts[$name]=$!
}
failed=()
finish_parts() {
  local name
  for name in "${!parts[@]}"; do
    wait "${parts[$name]}" || failed+=("$name")
  done
  if ((${#failed[@]} > 0)); then
    echo "test: FAILED: ${failed[*]} (logs in $logs)" >&2
    exit 1
  fi
  rm -rf "$logs"
  echo "test: every part passed"
}
run_part() { # in the foreground when TEST_SERIAL=1, else beside the others
  if [[ ${TEST_SERIAL:-} == 1 ]]; then
    echo "== $1"
    "${@:2}" || failed+=("$1")
  else
    start_part "$@"
  fi
}

# Workers take one scope each at a time (a file, whose tests share the stack it built, or a group of
# files that share one: tests/conftest.py's STACK_GROUPS), the longest first (tests/conftest.py
# orders them); the bad-input corpus is two test classes, scopes of their own. (Not --dist
# loadgroup: with pytest 9 its groups are ignored.) make test-fast: two workers, as many as cores
# (the corpus keeps both busy). make test: three, because a stack test's worker keeps a core busy
# about three quarters of its time (waits on moto and on its polls; the end-to-end test waits on
# the hosts' package downloads): docs/testing.md. PYTEST_WORKERS overrides either.
pytest_args=(-p no:cacheprovider --dist loadscope --no-loadscope-reorder)

run_part lint scripts/lint.sh
if $fast; then
  echo "== pytest (fast: no booted host, no whole stack)"
  pytest "${pytest_args[@]}" -n "${PYTEST_WORKERS:-2}" -m "not stack and not root" "$@" || failed+=(pytest)
  finish_parts
  exit
fi
# The end-to-end test and molecule boot systemd-nspawn hosts: install their Debian packages (only
# when missing) first. Without root it says so and goes on.
if [[ $(id -u) -eq 0 && -x scripts/host_deps.sh ]]; then
  scripts/host_deps.sh || echo "test: the host packages could not be installed; the host tests will say why they skip" >&2
fi
if [[ -x scripts/molecule.sh ]]; then
  run_part molecule scripts/molecule.sh
fi
echo "== pytest"
pytest "${pytest_args[@]}" -n "${PYTEST_WORKERS:-3}" "$@" || failed+=(pytest)
finish_parts
