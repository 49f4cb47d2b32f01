#!/usr/bin/env bash
# ansible-test sanity on a collection view of the repository: the same files, laid out in a
# temporary directory as ansible_collections/mensetsu/platform/, because ansible-test only tests
# collections (or ansible-core itself). docs/layout.md explains the layout and each choice.
#   library/*.py        -> plugins/modules/
#   module_utils/*.py   -> plugins/module_utils/   (imports rewritten, see below)
#   plugins/<type>/*.py -> plugins/<type>/
# The repository's modules import their shared code as ansible.module_utils.<name> (ansible.cfg's
# module_utils = ./module_utils makes that resolve in a playbook run); inside a collection that
# name is ansible-core's own namespace, so the copy imports the collection's name instead:
# ansible_collections.mensetsu.platform.plugins.module_utils.<name>. Nothing else is changed.
# Usage: scripts/sanity.sh [ansible-test sanity options...]   (e.g. --test validate-modules; default: every check)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export PATH="$repo/.venv/bin:$PATH"
NAMESPACE=mensetsu
NAME=platform

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/ansible_collections"
view="$root/$NAMESPACE/$NAME"
mkdir -p "$view/plugins/modules" "$view/plugins/module_utils" "$view/meta" "$view/tests/sanity"

# The collections the modules import (amazon.aws), from the venv (the ansible package bundles them):
# ansible-test finds a collection's dependencies beside it under the same ansible_collections/.
bundled=$(python -c 'import ansible_collections.amazon.aws, os; print(os.path.dirname(os.path.dirname(ansible_collections.amazon.aws.__path__[0])))')
mkdir -p "$root/amazon"
ln -s "$bundled/amazon/aws" "$root/amazon/aws"

shared=$(find module_utils -maxdepth 1 -name '*.py' -printf '%f\n' | sed 's/\.py$//' | paste -sd'|')
rewrite() {
  sed -E "s/^(\s*)from ansible\.module_utils\.($shared) import/\1from ansible_collections.$NAMESPACE.$NAME.plugins.module_utils.\2 import/" "$1" >"$2"
}
for file in library/*.py; do rewrite "$file" "$view/plugins/modules/$(basename "$file")"; done
for file in module_utils/*.py; do rewrite "$file" "$view/plugins/module_utils/$(basename "$file")"; done
for dir in plugins/*/; do
  type=$(basename "$dir")
  mkdir -p "$view/plugins/$type"
  cp "$dir"*.py "$view/plugins/$type/"
done
cat >"$view/galaxy.yml" <<YAML
namespace: $NAMESPACE
name: $NAME
version: 1.0.0
readme: README.md
authors: [mensetsu platform]
description: The mensetsu platform repository's modules and plugins, laid out for ansible-test sanity.
license: [GPL-3.0-or-later]
dependencies:
  amazon.aws: ">=10.0.0"
YAML
echo "# $NAMESPACE.$NAME: a view of the mensetsu platform repository for ansible-test sanity" >"$view/README.md"
printf 'requires_ansible: ">=2.19.0"\n' >"$view/meta/runtime.yml"
# The view's tests/sanity/ignore-2.19.txt: where a check does not apply (each line says why).
# Kept in scripts/, not in tests/sanity/: ansible-lint's `sanity` rule holds a tests/sanity/ignore
# file to what Automation Hub certifies for a published collection, and this view is never
# published. A line for a file the view no longer has (a plugin removed) is left out with a
# notice: ansible-test would fail on it, and the notice says which line to delete.
ignore=scripts/sanity-ignore.txt
while IFS= read -r line; do
  if [[ -e $view/${line%% *} ]]; then
    printf '%s\n' "$line" >>"$view/tests/sanity/ignore-2.19.txt"
  else
    echo "sanity: $ignore: no file ${line%% *}: delete its line" >&2
  fi
done <"$ignore"

# ansible-test gives each check a virtual environment of its own (~/.ansible/test/venv) and
# installs the check's pinned requirements there from PyPI; it bootstraps pip in each with a
# get-pip script from ci-files.testing.ansible.com, which is not reachable from here (nor from
# many CI networks). HOME points ansible-test at .cache/sanity/ (the venvs are kept there between
# runs: only the first run installs), and the bootstrap script it looks for there is a stand-in
# that does what get-pip does (pip install --force-reinstall of the pinned pip and the packages it
# is given) with pip's own wheel, downloaded from PyPI.
PIP_VERSION=$(python -c 'from ansible_test._internal.python_requirements import get_venv_packages as g; from types import SimpleNamespace as N; print(g(N(version="3.11"))["pip"])')
home="$repo/.cache/sanity"
cache="$home/.ansible/test/cache"
wheel="$cache/pip-$PIP_VERSION-py3-none-any.whl"
mkdir -p "$cache"
if [[ ! -f $wheel ]]; then
  python -m pip download --quiet --no-deps --only-binary=:all: --dest "$cache" "pip==$PIP_VERSION"
fi
cat >"$cache/get_pip_${PIP_VERSION//./_}.py" <<PY
"""Stand-in for get-pip.py $PIP_VERSION (written by scripts/sanity.sh): pip from its wheel."""
import sys

sys.path.insert(0, "$wheel")
from pip._internal.cli.main import main  # noqa: E402

args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall", *args]))
PY
export HOME="$home"

cd "$view"
git init -q . && git add -A >/dev/null 2>&1 # ansible-test lists the files to check from git
# --local: ansible-test runs from this venv (Python 3.11, ansible-core from requirements.txt); each
# check still gets its own virtual environment with its pinned tools. The whole set takes ~30 s
# once the environments exist, so every check runs (docs/layout.md).
ansible-test sanity --python 3.11 --local --color no "$@"
