"""What an operator sees on a management host the drift_timer role configured."""

from __future__ import annotations

import os

import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")


def test_one_timer_per_environment_is_enabled_and_scheduled(host):
    for env in ("dev", "prod"):
        timer = host.service(f"mensetsu-drift@{env}.timer")
        assert timer.is_enabled and timer.is_running
        nxt = host.run(f"systemctl show -P NextElapseUSecRealtime mensetsu-drift@{env}.timer").stdout.strip()
        assert nxt, f"mensetsu-drift@{env}.timer has no next run"


def test_the_units_pass_systemd_analyze(host):
    with host.sudo():
        result = host.run("systemd-analyze verify mensetsu-drift@dev.timer mensetsu-drift@dev.service")
    assert result.rc == 0, result.stderr


def test_the_service_runs_the_drift_script_as_its_own_user(host):
    show = host.run("systemctl show mensetsu-drift@dev.service -p User -p WorkingDirectory -p ExecStart -p Type")
    assert "User=mensetsu-drift" in show.stdout
    assert "WorkingDirectory=/opt/mensetsu-platform" in show.stdout
    assert "/opt/mensetsu-platform/scripts/drift.sh dev" in show.stdout
    assert "Type=oneshot" in show.stdout
    user = host.user("mensetsu-drift")
    assert user.exists and user.uid < 1000
    reports = host.file("/var/lib/mensetsu-drift/reports")
    assert reports.is_directory and reports.user == "mensetsu-drift" and reports.mode == 0o750


def test_a_run_that_cannot_check_leaves_the_unit_failed(host):
    """The checkout has no inventories/: the script exits 1, and systemd shows a failed unit."""
    with host.sudo():
        host.run("systemctl reset-failed mensetsu-drift@dev.service")
        host.run("systemctl start mensetsu-drift@dev.service")
        state = host.run("systemctl is-failed mensetsu-drift@dev.service")
        journal = host.run("journalctl -u mensetsu-drift@dev.service --no-pager -o cat")
    assert state.stdout.strip() == "failed", state.stdout
    assert "drift: no inventory inventories/dev" in journal.stdout
