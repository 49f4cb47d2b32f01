"""docs/awx.md works as written: its custom credential types rendered the way AWX renders them,
and its job-template table and drift section in step with the playbooks.

AWX renders a credential type's injectors with Jinja's immutable sandbox, writes the `file`
template to a temporary file (`tower.filename`) and exports the `env` entries to the job.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "awx.md"
YAML_BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def credential_types() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(inputs, injectors) of each credential type the document defines, in order."""
    blocks = YAML_BLOCK.findall(DOC.read_text())
    return [
        (yaml.safe_load(first), yaml.safe_load(second))
        for first, second in itertools.pairwise(blocks)
        if first.startswith("# Input configuration") and second.startswith("# Injector configuration")
    ]


def injector_templates(injectors: dict[str, Any]) -> list[str]:
    templates = list(injectors.get("env", {}).values()) + list(injectors.get("extra_vars", {}).values())
    file_templates = injectors.get("file", {})
    return templates + list(file_templates.values())


def by_env_name(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for inputs, injectors in credential_types():
        if name in injectors.get("env", {}):
            return inputs, injectors
    raise AssertionError(f"docs/awx.md defines no credential type that sets {name}")


def test_every_injected_value_comes_from_a_declared_field() -> None:
    environment = ImmutableSandboxedEnvironment()
    types = credential_types()
    assert len(types) == 2
    for inputs, injectors in types:
        fields = {field["id"] for field in inputs["fields"]}
        assert set(inputs.get("required", [])) <= fields
        for template in injector_templates(injectors):
            used = meta.find_undeclared_variables(environment.parse(template))
            assert used <= fields | {"tower"}, f"undeclared in {template!r}: {used - fields}"
        assert not any(name.startswith("ANSIBLE_") for name in injectors.get("env", {})), "ANSIBLE_* is reserved"


def test_the_assume_role_credential_reaches_the_deployment_role(
    aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The WebIdentity (IRSA/OIDC) chain: the job's own role, then the environment's role."""
    _, injectors = by_env_name("AWS_PROFILE")
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6YXd4In0.c2lnbmF0dXJl")
    inputs = {
        "role_arn": "arn:aws:iam::210987654321:role/mensetsu-dev-deploy",
        "source": "WebIdentity",
        "base_role_arn": "arn:aws:iam::123456789012:role/awx-jobs",
        "web_identity_token_file": str(token),
        "region": "ap-northeast-1",
    }
    environment = ImmutableSandboxedEnvironment()
    config = tmp_path / "aws_config"
    config.write_text(environment.from_string(injectors["file"]["template"]).render(**inputs))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    for name, template in injectors["env"].items():
        monkeypatch.setenv(name, environment.from_string(template).render(**inputs, tower={"filename": str(config)}))

    identity = boto3.session.Session().client("sts", endpoint_url=aws.endpoint).get_caller_identity()

    assert identity["Account"] == "210987654321"
    assert identity["Arn"].startswith("arn:aws:sts::210987654321:assumed-role/mensetsu-dev-deploy/")


def test_the_instance_profile_variant_names_its_credential_source() -> None:
    _, injectors = by_env_name("AWS_PROFILE")
    rendered = (
        ImmutableSandboxedEnvironment()
        .from_string(injectors["file"]["template"])
        .render(role_arn="arn:aws:iam::210987654321:role/deploy", source="Ec2InstanceMetadata", region="ap-northeast-1")
    )
    profile = dict(re.findall(r"^(\w+) = (.*)$", rendered.split("[profile mensetsu]")[1], re.MULTILINE))
    assert profile == {
        "role_arn": "arn:aws:iam::210987654321:role/deploy",
        "credential_source": "Ec2InstanceMetadata",
        "region": "ap-northeast-1",
    }


def test_the_api_key_credential_feeds_the_variables_provisioning_reads() -> None:
    inputs, injectors = by_env_name("OPENAI_API_KEY")
    assert all(field.get("secret") is True for field in inputs["fields"]), "API keys must be secret fields"
    settings = "".join(path.read_text() for path in sorted((REPO / "inventories").glob("*/group_vars/**/*.yml")))
    read_by_provisioning = set(re.findall(r"lookup\('ansible\.builtin\.env', '([A-Z_]+)'\)", settings))
    # The emulator's endpoint and the administrators' public SSH key are no API keys.
    assert set(injectors["env"]) == read_by_provisioning - {"AWS_ENDPOINT_URL", "ADMIN_SSH_PUBLIC_KEY"}
    assert "ADMIN_SSH_PUBLIC_KEY" in (REPO / "docs" / "awx.md").read_text()


def markdown_table(heading: str) -> list[dict[str, str]]:
    """The first table after a heading of docs/awx.md, as rows of {column: cell}."""
    lines = DOC.read_text().split(heading, 1)[1].splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("|"))
    block = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        block.append([cell.strip() for cell in line.strip("|").split("|")])
    assert len(block) > 2, f"no table after {heading}"
    header, rows = block[0], block[2:]
    return [dict(zip(header, row, strict=True)) for row in rows]


def playbook_plays(path: str) -> list[dict[str, Any]]:
    return yaml.safe_load((REPO / path).read_text())


def test_every_job_template_runs_a_playbook_that_exists() -> None:
    rows = markdown_table("## 5. Job templates")
    playbooks = {row["Template"]: row["Playbook"].strip("`") for row in rows}
    assert playbooks == {
        "`mensetsu-<env>-site`": "site.yml",
        "`mensetsu-<env>-site-check`": "site.yml",
        "`mensetsu-<env>-drift`": "playbooks/drift.yml",
        "`mensetsu-<env>-publish-static`": "playbooks/publish_static.yml",
    }
    for template, playbook in playbooks.items():
        assert (REPO / playbook).is_file(), f"{template}: {playbook} does not exist"
        assert isinstance(playbook_plays(playbook), list), playbook
    # A job template's section below the table names the same playbook.
    text = DOC.read_text()
    for section in ("### site", "### drift (scheduled daily)", "### publish_static"):
        assert section in text, section
    assert "`playbooks/drift.yml` is read-only" in text and "`playbooks/publish_static.yml` uploads" in text


def test_the_drift_section_describes_what_the_playbook_does() -> None:
    """The artifacts the doc lists are the ones the last play publishes, the task it names is the
    one that fails on drift, and the callback it says needs no setting sits next to the playbook."""
    plays = playbook_plays("playbooks/drift.yml")
    verdict = plays[-1]
    assert verdict["vars"]["drift_report_verdict"] is True and "always" in verdict["tags"]
    tasks = {task["name"]: task for task in verdict["tasks"]}
    published = next(task for task in tasks.values() if "ansible.builtin.set_stats" in task)
    artifacts = set(published["ansible.builtin.set_stats"]["data"])
    documented = set()
    for row in markdown_table("the last play publishes with `set_stats`"):
        documented |= set(re.findall(r"`(drift_\w+)`", row["Artifact"]))
    assert documented == artifacts
    failing = next(name for name, task in tasks.items() if "ansible.builtin.fail" in task)
    text = DOC.read_text()
    assert f"*{failing}*" in text, failing
    callback = "plugins/callback/drift_report.py"
    assert (REPO / callback).is_file() and f"`{callback}`" in text
    # The link next to the playbook that the doc names is what AWX finds (tests/test_drift.py runs it so).
    adjacent = REPO / "playbooks" / "callback_plugins"
    assert adjacent.is_symlink() and adjacent.resolve() == (REPO / "plugins" / "callback").resolve()
    assert "`playbooks/callback_plugins` -> `plugins/callback`" in text
    assert all(play.get("check_mode") is True for play in plays if "hosts" in play), "the doc says read-only"
