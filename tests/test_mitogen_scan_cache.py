"""plugins/strategy/mitogen_linear.py keeps what mitogen's multiplexer compiles only to read import
statements (ansible_mitogen's module_utils scan, mitogen's related-module search) and the comment-
stripped text of mitogen's own modules, in memory and in the private code cache. What mitogen
decides must not change: each answer below is the same with the plugin off, on and cold, and on and
warm from disk, in separate Pythons (the plugin patches mitogen process-wide), and a warm cache
compiles and strips nothing."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.support.child_python import run_child_python
from tests.support.playbook import REPO

PLUGIN = REPO / "plugins/strategy/mitogen_linear.py"

# Modules of each kind the runs scan: a project module (project module_utils), a collection module
# (amazon.aws's module_utils, botocore), and one of ansible-core's.
MODULES = [
    ["aws_account_info", str(REPO / "library/aws_account_info.py")],
    ["ansible_collections.amazon.aws.plugins.modules.s3_bucket", "amazon/aws/plugins/modules/s3_bucket.py"],
    ["ansible.modules.ping", "ansible/modules/ping.py"],
]

CHILD = """
import builtins, importlib.util, json, os, sys
import ansible, ansible.executor.module_common, ansible_collections
import mitogen.core, mitogen.master, mitogen.minify
import ansible_mitogen.module_finder

mode, plugin_path, modules = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
compiled, stripped, counting = [], [], []
real_compile, real_strip = builtins.compile, mitogen.minify.strip_comments

def counted_compile(*args, **kwargs):
    if counting:
        compiled.append(1)
    return real_compile(*args, **kwargs)

def counted_strip(*args, **kwargs):
    stripped.append(1)
    return real_strip(*args, **kwargs)

builtins.compile = counted_compile
mitogen.minify.strip_comments = counted_strip
# Loaded in both modes, so the same modules are imported (mitogen's related-module search looks at
# the imported ones only); stock then takes the plugin's three patches out again.
spec = importlib.util.spec_from_file_location("mitogen_linear_under_test", plugin_path)
plugin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plugin)
if mode == "stock":
    del ansible_mitogen.module_finder.compile, mitogen.master.compile
    mitogen.minify.minimize_source = plugin._mitogen_minimize_source

collections_root = next(p for p in ansible_collections.__path__ if os.path.isdir(os.path.join(p, "amazon", "aws")))
core_root = os.path.dirname(os.path.dirname(ansible.__file__))
search_path = ("module_utils", ansible.executor.module_common._MODULE_UTILS_PATH)
scans = []
counting.append(1)  # from here on: the scans' compiles only
for name, path in modules:
    if not os.path.isabs(path):
        root = core_root if path.startswith("ansible/") else collections_root
        path = os.path.join(root, path)
    scans.append(ansible_mitogen.module_finder.scan(name, path, search_path))
finder = mitogen.master.ModuleFinder()
related = finder.find_related("ansible_mitogen.target")
minified = mitogen.minify.minimize_source(open(mitogen.core.__file__, "rb").read())
print(json.dumps({"scans": scans, "related": related, "minified": minified,
                  "compiled": len(compiled), "stripped": len(stripped)}))
"""


def run(mode: str, root: Path | str) -> dict:
    env = {"MENSETSU_CODE_CACHE": str(root)}
    return run_child_python(CHILD, mode, str(PLUGIN), json.dumps(MODULES), env=env)


def test_mitogen_finds_the_same_imports_and_strips_the_same_text_from_a_cold_and_a_warm_cache(tmp_path: Path) -> None:
    stock = run("stock", "")
    cold = run("plugin", tmp_path)
    warm = run("plugin", tmp_path)
    for answer in (cold, warm):
        assert answer["scans"] == stock["scans"]
        assert answer["related"] == stock["related"]
        assert answer["minified"] == stock["minified"]
    scanned = [{entry[0] for entry in scan} for scan in stock["scans"]]
    assert "ansible.module_utils.aws_module" in scanned[0], "the project module's own module_utils were not found"
    assert "ansible.module_utils.common.dict_transformations" in scanned[1]
    assert "ansible.module_utils.basic" in scanned[2]
    assert "ansible_mitogen.runner" in stock["related"]
    # Cold: each distinct source compiled once, where stock compiled the shared module_utils per scan.
    assert 0 < cold["compiled"] < stock["compiled"]
    assert cold["stripped"] == stock["stripped"] == 1
    assert warm["compiled"] == 0 and warm["stripped"] == 0, "a warm cache still compiled or stripped"
    for kind in ("imports", "minified"):
        directory = tmp_path / kind
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        entries = list(directory.iterdir())
        assert entries and all(stat.S_IMODE(entry.stat().st_mode) == 0o600 for entry in entries)
    assert len(list((tmp_path / "imports").iterdir())) == cold["compiled"]


def test_a_damaged_entry_is_made_again_and_an_unsafe_cache_is_not_used(tmp_path: Path) -> None:
    stock = run("stock", "")
    run("plugin", tmp_path)
    for entry in [*(tmp_path / "imports").iterdir(), *(tmp_path / "minified").iterdir()]:
        entry.write_bytes(b"\xff not marshalled code, not UTF-8")
    again = run("plugin", tmp_path)
    assert again["scans"] == stock["scans"] and again["minified"] == stock["minified"]
    assert again["compiled"] > 0 and again["stripped"] == 1
    assert run("plugin", tmp_path)["compiled"] == 0

    # Directories others can write are neither read nor written: everything is made anew.
    shared = tmp_path / "shared"
    for kind in ("imports", "minified"):
        (shared / kind).mkdir(parents=True)
        (shared / kind).chmod(0o777)
    first = run("plugin", shared)
    assert first["scans"] == stock["scans"]
    assert first["compiled"] > 0 and first["stripped"] == 1
    assert run("plugin", shared)["compiled"] == first["compiled"]
    assert not any(list((shared / kind).iterdir()) for kind in ("imports", "minified"))


def test_an_empty_setting_turns_the_cache_off() -> None:
    first = run("plugin", "")
    assert first["compiled"] > 0
    assert run("plugin", "")["compiled"] == first["compiled"]
