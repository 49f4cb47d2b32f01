#!/usr/bin/env bash
# Create .venv from requirements.txt when it is missing or older than requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.requirements.stamp
if [[ -x .venv/bin/python && -f $stamp && $stamp -nt requirements.txt ]]; then
  exit 0
fi
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$python" -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python 3.11 or newer is needed"'
[[ -x .venv/bin/python ]] || "$python" -m venv .venv
echo "venv: installing requirements.txt into .venv (once)"
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
touch "$stamp"
