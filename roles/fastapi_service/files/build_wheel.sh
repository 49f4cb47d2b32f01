#!/usr/bin/env bash
# Build a wheel from a source directory, reproducibly, without touching the source tree.
#   build_wheel.sh SOURCE_DIR OUTPUT_DIR [PYTHON]
# Prints the wheel's path; sources it built before (same content hash) are not built again. The same sources give the same bytes (SOURCE_DATE_EPOCH), so an
# unchanged application copies nothing and restarts nothing.
set -euo pipefail
source_dir=$1 output_dir=$2 python=${3:-python3}
[[ -f $source_dir/pyproject.toml ]] || { echo "no pyproject.toml in $source_dir" >&2; exit 1; }
# Sources already built: reuse that wheel (a build costs seconds, a hash milliseconds).
excludes=(-name build -o -name dist -o -name '*.egg-info' -o -name __pycache__ -o -name .venv -o -name .git)
source_hash=$(cd "$source_dir" && find . \( "${excludes[@]}" \) -prune -o -type f -print0 | LC_ALL=C sort -z |
  xargs -0 sha256sum | sha256sum | cut -c1-32)
index="$output_dir/by-source/$source_hash"
if [[ -f $index && -f $(<"$index") ]]; then
  cat "$index"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A copy without build leftovers, caches or virtual environments.
tar -C "$source_dir" --exclude=build --exclude=dist --exclude='*.egg-info' --exclude=__pycache__ \
  --exclude=.venv --exclude=.git -cf - . | tar -C "$work" -xf -
mkdir -p "$work/out" "$output_dir"
SOURCE_DATE_EPOCH=315532800 PIP_DISABLE_PIP_VERSION_CHECK=1 \
  "$python" -m pip wheel --quiet --no-deps --wheel-dir "$work/out" "$work" >&2
wheel=$(find "$work/out" -name '*.whl' -print -quit)
[[ -n $wheel ]] || { echo "pip built no wheel from $source_dir" >&2; exit 1; }
target="$output_dir/$(basename "$wheel")"
cmp -s "$wheel" "$target" 2>/dev/null || cp "$wheel" "$target"
mkdir -p "$output_dir/by-source"
echo "$target" >"$index"
echo "$target"
