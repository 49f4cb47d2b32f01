#!/usr/bin/env bash
# yamllint, ansible-lint (production profile, offline) and ruff over the whole repository, then
# ansible-test sanity on the modules and plugins (scripts/sanity.sh, docs/layout.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
echo "== yamllint"; yamllint --strict .
echo "== ruff"; ruff check . && ruff format --check .
echo "== ansible-lint (production profile, offline)"; ansible-lint --offline --profile production
echo "== ansible-test sanity (library/, module_utils/, plugins/ as a collection)"; scripts/sanity.sh
