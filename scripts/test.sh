#!/usr/bin/env bash
# The README's test command: lint, then pytest (which starts its own moto servers), then the
# molecule scenarios on booted systemd-nspawn hosts (they say loudly why when they cannot run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/venv.sh
scripts/lint.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== pytest"
pytest -p no:cacheprovider "$@"
if [[ -x scripts/molecule.sh ]]; then
  echo "== molecule"
  scripts/molecule.sh
fi
