"""Bad input stops every entry playbook in preflight, before any AWS write, naming the variable.

The corpus is data (tests/bad_input_cases.yml). Each case runs through every entry playbook it
applies to (and provision.yml with one of its tags alone) against one emptied emulator, many
ansible-playbook processes side by side: validation needs no emulator state. Every run must exit
non-zero with the case's message in its first failure, start no play but preflight, and the
emulator must see no request at all but the identity read of the wrong-account case.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.support.forkserver import ForkServer
from tests.support.moto import MotoServer
from tests.support.playbook import (
    REPO,
    PlaybookRun,
    first_failure,
    playbook_argv,
    playbook_env,
    plays,
    run_playbook,
)
from tests.support.requests import AwsRequest, writes

CORPUS = yaml.safe_load((Path(__file__).with_name("bad_input_cases.yml")).read_text())
# library/aws_account_info: the caller's identity, a read.
IDENTITY_READS = {"GetCallerIdentity"}
PREFLIGHT_PLAY = "Validate the environment's settings"
ENTRY_PLAYBOOKS = {
    "site": ("site.yml",),
    "provision": ("playbooks/provision.yml",),
    "configure": ("playbooks/configure.yml",),
    "publish_static": ("playbooks/publish_static.yml",),
    # As scripts/drift.sh runs it.
    "drift": ("playbooks/drift.yml", "--check", "--diff"),
    "cost": ("playbooks/cost.yml",),
    "teardown": ("playbooks/teardown.yml",),
    "smoke": ("playbooks/smoke.yml",),
}
# The stages of provision.yml, each a tag that can run alone.
PROVISION_TAGS = [
    "network", "logs", "security", "iam", "secrets", "data", "storage", "dns",
    "certificates", "edge", "compute", "monitoring", "budget",
]  # fmt: skip
# What an operator fills in before a first real run: dev and prod ship documentation values
# (example.com, 203.0.113.0/24) that preflight refuses outside inventories/local.
REAL_SETTINGS = {
    "dev": {"domain_name": "dev.mensetsu-practice.jp", "admin_cidr": "133.242.0.10/32",
            "operator_email": "ops@mensetsu-practice.jp"},
    "prod": {"domain_name": "mensetsu-practice.jp", "admin_cidr": "133.242.0.10/32",
             "operator_email": "ops@mensetsu-practice.jp"},
}  # fmt: skip
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJsxITmtDrY/kGDjjLSQ+mX1egKmNXaRp13xKjdBS2Bq operator@mensetsu"
WORKERS = int(os.environ.get("BAD_INPUT_WORKERS", "4"))


@dataclass(frozen=True)
class Run:
    case: dict
    entry: str
    tag: str = ""

    @property
    def id(self) -> str:
        return f"{self.case['id']}-{self.entry}" + (f"-{self.tag}" if self.tag else "")

    @property
    def inventory(self) -> str:
        return f"inventories/{self.case.get('inventory', 'local')}/hosts.yml"

    def execute(self, server: MotoServer, forks: ForkServer, output: Path) -> PlaybookRun:
        playbook, *args = ENTRY_PLAYBOOKS[self.entry]
        if self.tag:
            args += ["--tags", self.tag]
        env_name = self.case.get("inventory", "local")
        extra_vars = {"teardown_confirm": env_name, **REAL_SETTINGS.get(env_name, {}), **self.case["vars"]}
        keys = ("OPENAI_API_KEY", "GOOGLE_CLOUD_CREDENTIALS", "HEYGEN_API_KEY")
        env = {
            **corpus_env(server),
            "ADMIN_SSH_PUBLIC_KEY": SSH_KEY,
            **{key: (f"test-{key.lower()}" if self.case.get("api_keys") else "") for key in keys},
        }
        argv = playbook_argv(playbook, self.inventory, extra_vars=extra_vars, args=tuple(args))
        return forks.run(argv, playbook_env(env), output / f"{self.id}.log", timeout=600)


def corpus_env(server: MotoServer) -> dict[str, str]:
    """What every run of the corpus has in its environment (the fork server too: ANSIBLE_* settings
    are read when ansible is imported)."""
    # The strategy has no part in validation, and these runs stop in preflight: the stock strategy
    # starts in under a second where mitogen's set-up costs seconds per run. Every other test
    # (test_preflight.py too) runs under ansible.cfg's mitogen strategy.
    return {**server.env, "ANSIBLE_STRATEGY": "linear"}


def corpus_runs() -> list[Run]:
    runs = []
    for case in CORPUS["cases"]:
        entries = case["entries"]
        for entry in CORPUS["entry_groups"][entries] if isinstance(entries, str) else entries:
            runs.append(Run(case, entry))
        if case.get("tag"):
            runs.append(Run(case, "provision", case["tag"]))
    # provision.yml with each of its tags alone: a bad setting of another stage still stops it.
    instance_type = next(case for case in CORPUS["cases"] if case["id"] == "unknown-instance-type")
    runs += [Run(instance_type, "provision", tag) for tag in PROVISION_TAGS if tag != instance_type.get("tag")]
    return runs


RUNS = corpus_runs()


# The corpus in two shards, a test class each: under `--dist loadscope` (scripts/test.sh) a class is
# a scope of its own, so the two xdist workers of `make test` share the corpus; run alone, one
# process runs both shards in turn.
SHARDS = 2


def shard_of(run: Run) -> int:
    return RUNS.index(run) % SHARDS


@dataclass
class Corpus:
    results: dict[str, PlaybookRun]
    runs: list[Run]
    requests: list[AwsRequest] = field(default_factory=list)
    seconds: float = 0.0


class Shards:
    """Runs a shard's playbooks the first time one of its tests asks, against an emptied emulator."""

    def __init__(self, server: MotoServer, output: Path):
        self.server = server
        self.output = output
        self.done: dict[int, Corpus] = {}

    def __getitem__(self, shard: int) -> Corpus:
        if shard not in self.done:
            runs = [run for run in RUNS if shard_of(run) == shard]
            self.server.reset()
            started = time.monotonic()
            # Each run an ansible-playbook process of its own, forked from one that imported
            # ansible once (tests/support/forkserver.py): a sixth less CPU per run.
            forks = ForkServer(playbook_env(corpus_env(self.server)), self.output / f"forkserver-{shard}.log")
            try:
                with self.server.recording_requests() as requests, ThreadPoolExecutor(WORKERS) as pool:
                    outputs = pool.map(lambda run: run.execute(self.server, forks, self.output), runs)
                    results = dict(zip([run.id for run in runs], outputs, strict=True))
            finally:
                forks.close()
            seconds = time.monotonic() - started
            # The time goes to the report, not into an assertion: it depends on the machine's load.
            print(f"\nbad-input corpus shard {shard}: {len(runs)} of {len(RUNS)} entry-playbook runs, {seconds:.0f} s")
            self.done[shard] = Corpus(results, runs, requests, seconds)
        return self.done[shard]


@pytest.fixture(scope="module")
def corpus(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Shards:
    return Shards(moto_server, tmp_path_factory.mktemp("bad-input"))


def test_the_corpus_covers_every_variable_and_entry_playbook():
    assert len(CORPUS["cases"]) >= 20
    assert {run.entry for run in RUNS} == set(ENTRY_PLAYBOOKS)
    assert {run.tag for run in RUNS if run.tag} == set(PROVISION_TAGS)
    given = {name for case in CORPUS["cases"] for name in case["vars"]}
    operator_settings = {
        "admin_cidr", "vpc_cidr", "public_subnet_cidrs", "app_instance_type", "app_instance_count",
        "app_root_volume_gb", "db_instance_class", "db_allocated_storage_gb", "db_backup_retention_days",
        "db_deletion_protection", "cache_node_type", "cache_snapshot_retention_days", "budget_monthly_usd",
        "require_api_keys", "project_name", "env_name", "domain_name", "hosted_zone_id", "operator_email",
        "aws_region", "expected_account_id", "static_build_dir", "fastapi_service_artifact", "teardown_confirm",
        "admin_access", "ssm_session_log_retention_days",
    }  # fmt: skip
    assert operator_settings <= given, operator_settings - given


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A shard class's tests take the runs of its shard."""
    if "run" in metafunc.fixturenames:
        runs = [run for run in RUNS if shard_of(run) == metafunc.cls.shard]
        metafunc.parametrize("run", runs, ids=[run.id for run in runs])


class TestCorpusShard0:
    shard = 0

    def test_bad_input_stops_in_preflight_naming_the_variable(self, corpus: Shards, run: Run):
        result = corpus[self.shard].results[run.id]
        assert result.returncode != 0, str(result)
        message = " ".join(run.case["message"].split())
        assert message in first_failure(result.output), f"first failure: {first_failure(result.output)!r}\n{result}"
        started = set(plays(result.output))
        assert started == {PREFLIGHT_PLAY}, f"the run went past preflight: {started}\n{result}"
        assert result.recap.get("localhost", {}).get("failed") == 1, str(result)

    def test_no_aws_request_but_the_identity_read_of_the_wrong_account_runs(self, corpus: Shards):
        done = corpus[self.shard]
        assert [str(request) for request in writes(done.requests)] == []
        # Each wrong-account run reads the identity once; every other run stops before any request.
        account_runs = sum(1 for run in done.runs if "expected_account_id" in run.case["vars"])
        expected = Counter({action: account_runs for action in IDENTITY_READS})
        assert Counter(request.action for request in done.requests) == expected, [str(r) for r in done.requests]


class TestCorpusShard1(TestCorpusShard0):
    shard = 1


def roles_used(playbook: Path) -> set[str]:
    """Every role a playbook imports or includes (the plays of the playbooks it imports too)."""
    found: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("ansible.builtin.import_role", "ansible.builtin.include_role"):
                    found.add(value["name"])
                elif key == "roles":
                    found.update(role if isinstance(role, str) else role["role"] for role in value)
                elif key == "ansible.builtin.import_playbook" and not value.endswith("preflight.yml"):
                    found.update(roles_used(playbook.parent / value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(playbook.read_text()))
    return found


# Run on the app hosts, with the hosts' own facts: validated by their argument specs where they run,
# before their first change (they write nothing to AWS). local_dataplane exists in inventories/local only.
HOST_ONLY_ROLES = {"base", "python", "local_dataplane", "drift_timer"}


# cost.yml runs no role: it prices the sizes and the budget those roles take, and their rules apply.
SETTINGS_READ = {"cost": {"aws_compute", "aws_data", "aws_monitoring", "aws_budget"}}


@pytest.mark.parametrize("entry", sorted(ENTRY_PLAYBOOKS))
def test_preflight_validates_every_role_its_playbook_uses(entry: str):
    listed = yaml.safe_load((REPO / "playbooks/vars/preflight_roles.yml").read_text())["preflight_entry_roles"]
    path = REPO / ENTRY_PLAYBOOKS[entry][0]
    imports = yaml.safe_load(path.read_text())[0]
    assert imports.get("ansible.builtin.import_playbook", "").endswith("preflight.yml"), f"{path} starts elsewhere"
    validated: set[str] = set()
    pending = [role for name in imports["vars"]["preflight_for"] for role in listed[name]]
    while pending:  # a list may nest another (drift: provision's roles and one more)
        role = pending.pop()
        if isinstance(role, list):
            pending += role
        else:
            validated.add(role if isinstance(role, str) else role["name"])
    assert validated == (roles_used(path) - HOST_ONLY_ROLES) | SETTINGS_READ.get(entry, set())


def test_a_role_run_alone_checks_its_inputs_before_its_first_write(aws, tmp_path: Path):
    """Without preflight (a playbook of one's own), the role's main still refuses before any request."""
    playbook = tmp_path / "network.yml"
    playbook.write_text(
        "- hosts: localhost\n  gather_facts: false\n  environment: '{{ aws_env }}'\n  roles: [aws_network]\n"
    )
    with aws.recording_requests() as requests:
        result = run_playbook(
            str(playbook), str(REPO / "inventories/local"), env=aws.env, extra_vars={"vpc_cidr": "10.0.0.0/8"}
        )
    assert result.returncode != 0, str(result)
    assert "vpc_cidr: '10.0.0.0/8' must be an IPv4 network" in first_failure(result.output), str(result)
    assert requests == [], [str(r) for r in requests]
