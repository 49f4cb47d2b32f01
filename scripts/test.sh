#!/usr/bin/env bash
# The README's test commands (docs/testing.md says what each runs and how long it takes).
#   scripts/test.sh           make test: lint, then pytest (which starts its own moto servers), then
#                             the molecule scenarios on booted systemd-nspawn hosts (they say loudly
#                             why when they cannot run).
#   scripts/test.sh --fast    make test-fast: lint, then the tests that boot no host and converge no
#                             whole stack (pytest -m "not stack and not root"; markers in pyproject.toml).
# Further arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
fast=false
if [[ ${1:-} == --fast ]]; then
  fast=true
  shift
fi
scripts/venv.sh
scripts/lint.sh
export PATH="$PWD/.venv/bin:$PATH"
# Two workers, one test file each at a time (a file's tests share the stack it built), the longest
# first (tests/conftest.py orders them); the bad-input corpus is two test classes, scopes of their
# own, that both workers share. (Not --dist loadgroup: with pytest 9 its groups are ignored.)
pytest_args=(-p no:cacheprovider -n "${PYTEST_WORKERS:-2}" --dist loadscope --no-loadscope-reorder)
if $fast; then
  echo "== pytest (fast: no booted host, no whole stack)"
  pytest "${pytest_args[@]}" -m "not stack and not root" "$@"
  exit
fi
# The end-to-end test boots systemd-nspawn hosts too: install their Debian packages (only when
# missing) before pytest, not only before molecule. Without root it says so and goes on.
if [[ $(id -u) -eq 0 && -x scripts/host_deps.sh ]]; then
  scripts/host_deps.sh || echo "test: the host packages could not be installed; the host tests will say why they skip" >&2
fi
echo "== pytest"
pytest "${pytest_args[@]}" "$@"
if [[ -x scripts/molecule.sh ]]; then
  echo "== molecule"
  scripts/molecule.sh
fi
