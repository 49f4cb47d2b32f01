#!/usr/bin/env bash
# make demo-down: stop what make demo left running and forget the emulator's state.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/moto.sh stop
rm -rf .demo
echo "demo-down: nothing of the demo is left running"
