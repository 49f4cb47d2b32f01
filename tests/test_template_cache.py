"""plugins/strategy/mitogen_linear.py keeps the code Jinja compiles each template source to, on disk
in a private directory, so the task workers (a fresh fork each) and later runs stop compiling the
same role defaults again. What a template renders to must not change: every case below renders the
same with the cache off, on and cold, and on and warm from disk, in separate Pythons (the plugin
patches Jinja process-wide, so never in the test process)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.support.child_python import run_child_python
from tests.support.playbook import REPO, run_playbook

PLUGIN = REPO / "plugins/strategy/mitogen_linear.py"

# Each case: a template, its variables, and the compile-time options ansible-core varies.
CASES = [
    ("{{ name }}-{{ env }}-alb", {"name": "mensetsu", "env": "prod"}, {}),
    ("{{ tags | combine({'Name': name}) }}", {"tags": {"Project": "p"}, "name": "n"}, {}),
    ("{% for s in subnets %}{{ s.cidr }},{% endfor %}", {"subnets": [{"cidr": "10.0.0.0/24"}]}, {}),
    ('{{ "c:\\\\new" }}', {}, {"escape_backslashes": True}),
    ('{{ "c:\\\\new" }}', {}, {"escape_backslashes": False}),
    ("#jinja2:variable_start_string:'[%', variable_end_string:'%]'\n[% x %] {{ x }}", {"x": 1}, {}),
    ("[% x %] {{ x }}", {"x": 1}, {}),
    ("{{ lookup('ansible.builtin.env', 'MENSETSU_TEMPLATE_PROBE') }}", {}, {}),
    ("{{ 'no' if flag else 'yes' }}\n\n", {"flag": False}, {"preserve_trailing_newlines": True}),
]

CHILD = """
import importlib.util, json, sys
import jinja2
from ansible.plugins.loader import init_plugin_loader

init_plugin_loader()
mode, plugin_path, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
generated = []
real_generate = jinja2.Environment._generate

def counted(self, *args, **kwargs):
    generated.append(1)
    return real_generate(self, *args, **kwargs)

jinja2.Environment._generate = counted
if mode != "stock":
    spec = importlib.util.spec_from_file_location("mitogen_linear_under_test", plugin_path)
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)

from ansible._internal._templating._engine import TemplateEngine, TemplateOptions
from ansible.template import trust_as_template

rendered = []
for source, variables, options in cases:
    engine = TemplateEngine(variables=variables)
    result = engine.template(trust_as_template(source), options=TemplateOptions(**options))
    rendered.append(repr(result))
print(json.dumps({"rendered": rendered, "generated": len(generated)}))
"""


def render(mode: str, cache: Path | str, cases=CASES) -> dict:
    # The cache's root: the templates' code is kept in its subdirectory jinja.
    env = {"MENSETSU_CODE_CACHE": str(cache.parent) if cache else "", "MENSETSU_TEMPLATE_PROBE": "probe"}
    return run_child_python(CHILD, mode, str(PLUGIN), json.dumps(cases), env=env)


def test_every_template_renders_the_same_from_a_cold_and_a_warm_cache(tmp_path: Path) -> None:
    cache = tmp_path / "jinja"
    stock = render("stock", "")
    cold = render("plugin", cache)
    warm = render("plugin", cache)
    assert cold["rendered"] == stock["rendered"]
    assert warm["rendered"] == stock["rendered"]
    assert stock["rendered"][3] != stock["rendered"][4], "the escape_backslashes cases must differ"
    assert stock["rendered"][5] != stock["rendered"][6], "the #jinja2: header case must differ"
    assert cold["generated"] >= len(CASES)
    assert warm["generated"] == 0, "a warm cache still compiled templates"
    # One entry per distinct (source, compile settings): the two escape_backslashes cases differ.
    entries = [entry for entry in cache.iterdir() if not entry.name.startswith(".tmp-")]
    assert len(entries) == cold["generated"]


def test_the_cache_is_private_and_an_unsafe_or_damaged_one_is_not_trusted(tmp_path: Path) -> None:
    cache = tmp_path / "jinja"
    render("plugin", cache)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    entries = list(cache.iterdir())
    assert entries and all(stat.S_IMODE(entry.stat().st_mode) == 0o600 for entry in entries)

    # A damaged entry is compiled again and replaced.
    entries[0].write_bytes(b"not marshalled code")
    again = render("plugin", cache)
    assert again["generated"] == 1
    assert again["rendered"] == render("stock", "")["rendered"]
    assert render("plugin", cache)["generated"] == 0

    # A directory others can write is not loaded from: everything is compiled, nothing is kept there.
    shared = tmp_path / "shared" / "jinja"
    shared.mkdir(parents=True)
    shared.chmod(0o777)
    first = render("plugin", shared)
    assert first["generated"] >= len(CASES)
    assert list(shared.iterdir()) == []


def test_an_empty_setting_turns_the_cache_off(tmp_path: Path) -> None:
    off = render("plugin", "", CASES[:1])
    assert render("plugin", "", CASES[:1])["generated"] == off["generated"] >= 1


def test_a_playbook_run_s_workers_fill_the_cache_and_a_second_run_compiles_nothing_new(tmp_path: Path) -> None:
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  vars:\n    base: mensetsu\n    full: '{{ base }}-x'\n"
        "  tasks:\n"
        + "".join(
            f"    - name: Task {index}\n      ansible.builtin.debug:\n        msg: '{{{{ full }}}}-{index % 3}'\n"
            for index in range(6)
        )
    )
    cache = tmp_path / "jinja"
    env = {"MENSETSU_CODE_CACHE": str(tmp_path), "ANSIBLE_STRATEGY": "mitogen_linear"}
    first = run_playbook(str(playbook), "localhost,", env=env)
    assert first.returncode == 0, first.output
    kept = sorted(entry.name for entry in cache.iterdir())
    assert kept, "the workers kept no template"
    second = run_playbook(str(playbook), "localhost,", env=env)
    assert second.returncode == 0, second.output
    assert sorted(entry.name for entry in cache.iterdir()) == kept
    assert "mensetsu-x-2" in second.output
