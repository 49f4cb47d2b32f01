#!/usr/bin/env bash
# Write the AWX execution environment's build context (execution-environment.yml) with
# ansible-builder into .cache/ee (or the directory given as $1). Building the image needs a
# container engine; where podman or docker works, run the printed command.
set -euo pipefail
cd "$(dirname "$0")/.."
context=${1:-.cache/ee}
tag=$(sed -n 's/^ *- \(mensetsu-ee:.*\)$/\1/p' execution-environment.yml | head -n 1)
.venv/bin/ansible-builder create --file execution-environment.yml --context "$context" --output-filename Containerfile
echo "ee: build context in $context; build and push it where a container engine runs:"
echo "    podman build -f $context/Containerfile -t ${tag:-mensetsu-ee} $context"
