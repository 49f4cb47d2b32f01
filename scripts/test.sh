#!/usr/bin/env bash
# The README's test command: lint, then pytest (which starts its own moto servers), then the
# molecule scenarios on booted systemd-nspawn hosts (they say loudly why when they cannot run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh
scripts/lint.sh
export PATH="$PWD/.venv/bin:$PATH"
# The end-to-end test boots systemd-nspawn hosts too: install their Debian packages (only when
# missing) before pytest, not only before molecule. Without root it says so and goes on.
if [[ $(id -u) -eq 0 && -x scripts/host_deps.sh ]]; then
  scripts/host_deps.sh || echo "test: the host packages could not be installed; the host tests will say why they skip" >&2
fi
echo "== pytest"
# Two workers, one test file each at a time: a file's tests share the stack it built.
pytest -p no:cacheprovider -n "${PYTEST_WORKERS:-2}" --dist loadfile "$@"
if [[ -x scripts/molecule.sh ]]; then
  echo "== molecule"
  scripts/molecule.sh
fi
