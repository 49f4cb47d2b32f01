"""A default run prints no warning (issue 17 item 6): the repository's ansible.cfg, its mitogen
strategy and its pinned packages included, adds no [WARNING], [DEPRECATION WARNING] or Python
warning to a run, while a deprecation that a playbook itself causes still prints (nothing is
hidden globally)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.playbook import plays, run_playbook
from tests.support.playbook import warning_lines as warnings

PLAY = """\
- name: A run that does nothing
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Say so
      ansible.builtin.debug:
        msg: nothing to do
"""


@pytest.fixture(autouse=True)
def default_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository's ansible.cfg as it is: no ANSIBLE_* override from the caller's shell."""
    for key in ("ANSIBLE_CONFIG", "ANSIBLE_STRATEGY", "ANSIBLE_DEPRECATION_WARNINGS", "ANSIBLE_ACTION_WARNINGS"):
        monkeypatch.delenv(key, raising=False)


def test_a_default_run_prints_no_warning(tmp_path: Path) -> None:
    playbook = tmp_path / "noop.yml"
    playbook.write_text(PLAY)
    run = run_playbook(str(playbook), "localhost,")
    assert run.returncode == 0, run
    assert "nothing to do" in run.output, run
    assert warnings(run.output) == [], run


def test_a_run_of_several_plays_prints_no_warning(tmp_path: Path) -> None:
    """Each play loads the strategy again (provision.yml: preflight, then the platform): the
    mitogen strategy's deprecation is dropped on every load, not only the first."""
    playbook = tmp_path / "two_plays.yml"
    playbook.write_text(PLAY + "\n" + PLAY.replace("A run that does nothing", "A second play"))
    run = run_playbook(str(playbook), "localhost,")
    assert run.returncode == 0, run
    assert plays(run.output) == ["A run that does nothing", "A second play"], run
    assert warnings(run.output) == [], run


def test_a_deprecation_the_playbook_causes_still_prints(tmp_path: Path) -> None:
    playbook = tmp_path / "deprecated.yml"
    playbook.write_text(PLAY + "      args:\n")  # an empty `args:`: deprecated in ansible-core 2.19
    run = run_playbook(str(playbook), "localhost,")
    assert run.returncode == 0, run
    assert any("Ignoring empty task `args` keyword" in line for line in warnings(run.output)), run


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_dev_and_prod_inventories_read_their_app_hosts_without_a_warning(aws, boto, env) -> None:
    """inventories/<env>/aws_ec2.yml reads the running app hosts from EC2 with plugins/inventory's
    aws_ec2_hosts: amazon.aws 10.1.2's aws_ec2 printed "Passing `disable_lookups` to `template` is
    deprecated" at the start of every dev and prod run (it passes the argument for its templated
    options, `regions` and `filters`)."""
    import subprocess
    import sys

    ec2 = boto("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    tags = {"Project": "mensetsu", "Environment": env, "Role": "app", "Name": f"mensetsu-{env}-app-1"}
    ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
    )
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)  # not an app host of the environment
    listed = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-inventory")), "-i", f"inventories/{env}", "--list"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert warnings(listed.stdout + listed.stderr) == [], listed.stderr
    inventory = __import__("json").loads(listed.stdout)
    assert inventory["app"]["hosts"] == [f"mensetsu-{env}-app-1"], inventory
    host = inventory["_meta"]["hostvars"][f"mensetsu-{env}-app-1"]

    def plain(value):  # ansible-inventory --list marks a value from the plugin as unsafe
        return value.get("__ansible_unsafe", value) if isinstance(value, dict) else value

    assert plain(host["ansible_user"]) == "ec2-user", host
    assert plain(host["ansible_aws_ssm_instance_id"]).startswith("i-"), host
    assert plain(host["instance_id"]) == plain(host["ansible_aws_ssm_instance_id"]), host  # configure.yml reads it
    assert "tags" not in host and "ec2_tags" in host, sorted(host)  # no variable of a name ansible-core reserves
