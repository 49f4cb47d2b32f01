"""What an operator sees on a host the base role configured."""

from __future__ import annotations

import os
import subprocess

import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])


def _ssh(host_name: str, *options: str, user: str | None = None) -> subprocess.CompletedProcess:
    """Log in from the controller the way an operator would, with the given ssh options."""
    variables = RUNNER.get_variables(host_name)
    command = [
        "ssh",
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null",
        "-o", "ConnectTimeout=10",
        "-p", str(variables.get("ansible_port", 22)),
        *options,
        f"{user or variables['ansible_user']}@{variables['ansible_host']}",
        "echo logged-in",
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def test_key_login_still_works(host):
    variables = RUNNER.get_variables(host.backend.get_hostname())
    result = _ssh(host.backend.get_hostname(), "-i", variables["ansible_private_key_file"])
    assert result.returncode == 0, result.stderr
    assert "logged-in" in result.stdout


def test_sshd_refuses_passwords(host):
    result = _ssh(
        host.backend.get_hostname(),
        "-o", "PubkeyAuthentication=no",
        "-o", "PreferredAuthentications=password,keyboard-interactive",
    )  # fmt: skip
    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr


def test_sshd_refuses_root_even_with_the_key(host):
    variables = RUNNER.get_variables(host.backend.get_hostname())
    with host.sudo():
        host.check_output("install -d -m 0700 /root/.ssh")
        host.check_output(f"cp /home/{variables['ansible_user']}/.ssh/authorized_keys /root/.ssh/authorized_keys")
    try:
        result = _ssh(host.backend.get_hostname(), "-i", variables["ansible_private_key_file"], user="root")
        assert result.returncode == 255
        assert "Permission denied" in result.stderr
    finally:
        with host.sudo():
            host.check_output("rm -f /root/.ssh/authorized_keys")


def test_effective_sshd_settings(host):
    with host.sudo():
        settings = host.check_output("/usr/sbin/sshd -T -C user=admin,host=test,addr=127.0.0.1")
    assert "passwordauthentication no" in settings
    assert "permitrootlogin no" in settings
    assert "kbdinteractiveauthentication no" in settings
    assert "authenticationmethods publickey" in settings
    assert host.service("ssh").is_running
    assert host.service("ssh").is_enabled


def test_banner_names_the_environment(host):
    banner = host.file("/etc/issue.net")
    assert banner.contains("MOLECULE")
    assert host.file("/etc/motd").contains("MOLECULE")


def test_journald_is_limited(host):
    conf = host.file("/etc/systemd/journald.conf.d/50-size.conf")
    assert conf.contains("SystemMaxUse=500M")
    assert host.check_output("systemctl show systemd-journald -p ActiveState --value") == "active"


def test_security_updates_are_automatic(host):
    assert host.package("unattended-upgrades").is_installed
    periodic = host.file("/etc/apt/apt.conf.d/20auto-upgrades")
    assert periodic.contains('APT::Periodic::Unattended-Upgrade "1"')
    assert host.service("apt-daily-upgrade.timer").is_enabled


def test_chrony_is_installed_and_enabled(host):
    assert host.package("chrony").is_installed
    assert host.service("chrony").is_enabled
