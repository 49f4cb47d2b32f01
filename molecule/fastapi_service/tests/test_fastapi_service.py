"""What an operator and the ALB see on an app host that playbooks/configure.yml configured."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import testinfra.utils.ansible_runner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
testinfra_hosts = RUNNER.get_hosts("app")

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
sys.path.insert(0, str(PROJECT))  # the repository's test helpers: one playbook-output parser
from tests.support.playbook import changed_tasks, recap

APP = "interview-api"
SECRET_VALUES = ("molecule-db-pass", "molecule-redis-token", "sk-molecule-openai", "molecule-heygen-key")
CREDENTIALS = ("db", "redis", "openai-api-key", "google-cloud-credentials", "heygen-api-key")


def _address(host) -> str:
    return RUNNER.get_variables(host.backend.get_hostname())["ansible_host"]


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _main_pid(host) -> int:
    return int(host.check_output(f"systemctl show {APP}.service -p MainPID --value"))


def _playbook(*args: str) -> subprocess.CompletedProcess:
    command = [
        str(Path(sys.executable).with_name("ansible-playbook")),
        "-i", INVENTORY, str(PROJECT / "playbooks/configure.yml"), *args,
    ]  # fmt: skip
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"}
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, cwd=PROJECT, env=env)


def test_unit_is_active_and_enabled(host):
    service = host.service(f"{APP}.service")
    assert service.is_running
    assert service.is_enabled


def test_health_answers_on_port_8000(host):
    status, body = _get(f"http://{_address(host)}:8000/health")
    assert status == 200
    assert body == {"status": "ok", "version": "1.0.0"}


def test_readiness_is_503_without_postgresql_and_redis(host):
    status, body = _get(f"http://{_address(host)}:8000/health/ready")
    assert status == 503
    assert body["ready"] is False
    # The secrets reached the app: it tried the configured hosts instead of "not configured".
    assert body["checks"]["database"].startswith("error")
    assert body["checks"]["redis"].startswith("error")


def test_service_runs_as_the_app_user_without_a_shell(host):
    user = host.user(APP)
    assert user.shell == "/usr/sbin/nologin"
    main_pid = _main_pid(host)
    workers = host.check_output(f"pgrep -P {main_pid}").split()
    owners = {host.check_output(f"ps -o user= -p {pid}") for pid in [main_pid, *workers]}
    assert owners == {APP}
    vcpus = int(host.check_output("nproc"))
    assert len(workers) == 2 * vcpus + 1


def test_credential_files_are_root_only(host):
    with host.sudo():
        directory = host.file(f"/etc/{APP}/credentials")
        assert directory.user == "root"
        assert directory.mode == 0o700
        for name in CREDENTIALS:
            credential = host.file(f"/etc/{APP}/credentials/{name}")
            assert credential.user == "root", name
            assert credential.mode == 0o600, name
        assert json.loads(host.file(f"/etc/{APP}/credentials/db").content_string)["password"] == "molecule-db-pass"


def test_secrets_stay_out_of_the_environment_unit_and_journal(host):
    with host.sudo():
        environ = host.check_output(f"tr '\\0' '\\n' < /proc/{_main_pid(host)}/environ")
        unit = host.file(f"/etc/systemd/system/{APP}.service").content_string
        journal = host.check_output(f"journalctl -u {APP}.service --no-pager -o cat")
    assert "CREDENTIALS_DIRECTORY=" in environ
    for value in SECRET_VALUES:
        assert value not in environ
        assert value not in unit
        assert value not in journal


def test_unit_is_sandboxed_and_keeps_alive_past_the_alb(host):
    show = host.check_output(
        f"systemctl show {APP}.service -p NoNewPrivileges -p ProtectSystem -p ProtectHome -p PrivateTmp"
        " -p PrivateDevices -p CapabilityBoundingSet -p RestrictAddressFamilies -p Restart -p LimitNOFILE"
    )
    settings = dict(line.split("=", 1) for line in show.splitlines())
    assert settings["NoNewPrivileges"] == "yes"
    assert settings["ProtectSystem"] == "strict"
    assert settings["ProtectHome"] == "yes"
    assert settings["PrivateTmp"] == "yes"
    assert settings["PrivateDevices"] == "yes"
    assert settings["CapabilityBoundingSet"] == ""
    assert set(settings["RestrictAddressFamilies"].split()) == {"AF_UNIX", "AF_INET", "AF_INET6"}
    assert settings["Restart"] == "on-failure"
    assert settings["LimitNOFILE"] == "65536"
    assert host.file(f"/etc/{APP}/gunicorn.conf.py").contains("^keepalive = 65$")
    # The app cannot write its own code.
    assert host.run(f"sudo -u {APP} touch /opt/{APP}/current/probe").rc != 0


def test_check_mode_on_the_converged_host_changes_nothing():
    run = _playbook("--check")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    counts = recap(run.stdout)
    assert counts and {host["changed"] for host in counts.values()} == {0}, (
        f"changed in check mode: {changed_tasks(run.stdout)}"
    )


@pytest.fixture
def broken_release(tmp_path: Path) -> Path:
    """The example app as version 9.9.9, whose module fails at import."""
    source = tmp_path / "interview-api"
    shutil.copytree(PROJECT / "examples/interview-api", source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    pyproject = source / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "1.0.0"', 'version = "9.9.9"'))
    main = source / "src/interview_api/main.py"
    main.write_text(main.read_text() + '\nraise RuntimeError("broken release for the rollback test")\n')
    return source


def test_broken_release_rolls_back_and_the_old_keeps_serving(host, broken_release: Path):
    current_before = host.file(f"/opt/{APP}/current").linked_to
    pid_before = _main_pid(host)

    run = _playbook("--tags", "app", "-e", json.dumps({"fastapi_service_artifact": str(broken_release)}))

    output = run.stdout + run.stderr
    assert run.returncode != 0, output[-6000:]
    assert "Release 9.9.9 did not answer /health" in output, output[-6000:]
    assert "broken release for the rollback test" in output, output[-6000:]
    assert host.file(f"/opt/{APP}/current").linked_to == current_before
    assert _main_pid(host) == pid_before
    status, body = _get(f"http://{_address(host)}:8000/health")
    assert (status, body["version"]) == (200, "1.0.0")
