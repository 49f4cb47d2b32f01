#!/usr/bin/env bash
# yamllint, ansible-lint (production profile, offline) and ruff over the whole repository.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
echo "== yamllint"; yamllint --strict .
echo "== ruff"; ruff check . && ruff format --check .
echo "== ansible-lint (production profile, offline)"; ansible-lint --offline --profile production
