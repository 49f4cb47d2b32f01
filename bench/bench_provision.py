#!/usr/bin/env python3
"""Benchmark the provisioning playbooks against moto, beside the same playbooks on stock Ansible.

    .venv/bin/python bench/bench_provision.py [--runs 3] [--scenarios first,noop,check,drift]

Starts two moto servers on loopback, one per configuration, and for each scenario times the
same command under the project's ansible.cfg ("project") and under bench/stock.cfg ("stock":
only the paths to the project's roles, modules and plugins; linear strategy, no pipelining, no
fact cache, no mitogen), alternating which goes first. Scenarios:

  first  playbooks/provision.yml on an empty account (the server is reset before each run)
  noop   provision.yml again on the converged stack
  check  provision.yml --check on the converged stack
  drift  playbooks/drift.yml --check --diff on the converged stack, as scripts/drift.sh runs it
  hosts  bench/host_converge.yml (roles base and python) again on 1, then 3 booted
         systemd-nspawn hosts (molecule/shared/nspawn.sh; root only), converged once first

Each figure is the median of --runs runs: wall time of the whole ansible-playbook process, the
AWS requests moto recorded and how many of them write, and the number of tasks the run printed.
A run that fails, or a no-op/check/drift run that writes, stops the benchmark. The table
replaces the "## Provisioning" section of docs/benchmarks.md (other sections are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.moto import MotoServer, start_moto
from tests.support.playbook import PlaybookRun, run_playbook
from tests.support.requests import writes

DOCS = REPO / "docs" / "benchmarks.md"
SECTION = "## Provisioning"
STOCK_CFG = REPO / "bench" / "stock.cfg"
INVENTORY = "inventories/local"
CONFIGS = ("project", "stock")
PROVISION = "playbooks/provision.yml"
SCENARIOS = {
    "first": ("provision.yml from empty", PROVISION, ()),
    "noop": ("no-op converge", PROVISION, ()),
    "check": ("--check on the converged stack", PROVISION, ("--check",)),
    # As scripts/drift.sh runs it: --check too, which roles branch on (their long creations in the
    # foreground, nothing to await), besides the plays' forced check mode.
    "drift": ("drift run", "playbooks/drift.yml", ("--check", "--diff")),
}
HOST_PLAYBOOK = "bench/host_converge.yml"
NSPAWN = REPO / "molecule" / "shared" / "nspawn.sh"
HOST_COUNTS = (1, 3)
MUST_NOT_WRITE = ("noop", "check", "drift")
_TASK = re.compile(r"^TASK \[", re.M)


@dataclass
class Sample:
    seconds: float
    requests: int
    writes: int
    tasks: int
    changed: int


def config_env(config: str) -> dict[str, str]:
    """The environment that selects a configuration; the caller's ANSIBLE_* settings are dropped."""
    if config == "stock":
        return {"ANSIBLE_CONFIG": str(STOCK_CFG), "ANSIBLE_STRATEGY": "linear"}
    return {}


def clean_environment() -> None:
    for key in [key for key in os.environ if key.startswith("ANSIBLE_")]:
        del os.environ[key]


def measure(server: MotoServer, config: str, scenario: str) -> Sample:
    _, playbook, args = SCENARIOS[scenario]
    started = time.monotonic()
    with server.recording_requests() as requests:
        run: PlaybookRun = run_playbook(playbook, INVENTORY, env={**server.env, **config_env(config)}, args=args)
    seconds = time.monotonic() - started
    written = writes(requests)
    if run.returncode != 0:
        raise SystemExit(f"bench: {scenario} ({config}) failed\n{run}")
    if scenario in MUST_NOT_WRITE and written:
        raise SystemExit(f"bench: {scenario} ({config}) sent {len(written)} writes: {[str(w) for w in written]}")
    return Sample(seconds, len(requests), len(written), len(_TASK.findall(run.output)), run.changed)


def boot_hosts(count: int) -> list[dict]:
    """Boot `count` nspawn hosts; their JSON descriptions (name, address, user, port, identity_file)."""
    hosts = []
    for number in range(1, count + 1):
        created = subprocess.run(
            [str(NSPAWN), "create", f"bench-host-{number}"], capture_output=True, text=True, check=False
        )
        if created.returncode != 0:
            raise SystemExit(f"bench: nspawn.sh create failed:\n{created.stderr[-3000:]}")
        hosts.append(json.loads(created.stdout.strip().splitlines()[-1]))
    return hosts


def destroy_hosts(count: int) -> None:
    for number in range(1, count + 1):
        subprocess.run([str(NSPAWN), "destroy", f"bench-host-{number}"], capture_output=True, check=False)


def host_inventory(hosts: list[dict], path: Path) -> str:
    lines = ["all:", "  vars:", "    project_name: mensetsu", "    env_name: bench", "  hosts:"]
    for host in hosts:
        lines += [
            f"    {host['name']}:",
            f"      ansible_host: {host['address']}",
            f"      ansible_user: {host['user']}",
            f"      ansible_port: {host['port']}",
            f"      ansible_ssh_private_key_file: {host['identity_file']}",
            "      ansible_python_interpreter: /usr/bin/python3",
        ]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def measure_hosts(inventory: str, config: str, limit: str) -> Sample:
    env = {**config_env(config), "ANSIBLE_HOST_KEY_CHECKING": "False"}
    started = time.monotonic()
    run = run_playbook(HOST_PLAYBOOK, inventory, env=env, args=("--limit", limit))
    seconds = time.monotonic() - started
    if run.returncode != 0:
        raise SystemExit(f"bench: host converge ({config}, {limit}) failed\n{run}")
    return Sample(seconds, 0, 0, len(_TASK.findall(run.output)), run.changed)


def hosts_unavailable() -> str:
    if os.geteuid() != 0:
        return "not root"
    if not shutil.which("systemd-nspawn"):
        return "systemd-nspawn is not installed (scripts/host_deps.sh)"
    return ""


def median(samples: list[Sample], attribute: str) -> float:
    return statistics.median(getattr(sample, attribute) for sample in samples)


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for package in ("ansible-core", "mitogen", "boto3", "moto"):
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            found.append(f"{package} (not installed)")
    return ", ".join(found)


def strategy() -> str:
    probe = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-config")), "dump", "--only-changed"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"^DEFAULT_STRATEGY\(.*?\) = (\S+)", probe.stdout, re.M)
    return match.group(1) if match else "linear"


def machine(load_before: tuple[float, ...], load_after: tuple[float, ...]) -> str:
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory_gb:.0f} GB RAM, Python {platform.python_version()}, "
        f"Linux {platform.release()}; load average (1/5/15 min) {'/'.join(f'{x:.1f}' for x in load_before)} "
        f"at the start, {'/'.join(f'{x:.1f}' for x in load_after)} at the end"
    )


def write_docs(results: dict[str, dict[str, list[Sample]]], command: str, context: str) -> str:
    rows = []
    for scenario, by_config in results.items():
        project, stock = by_config["project"], by_config["stock"]
        ratio = median(stock, "seconds") / median(project, "seconds")
        if scenario.startswith("hosts"):
            requests = ("-", "-")
        else:
            requests = tuple(
                f"{median(samples, 'requests'):.0f} ({median(samples, 'writes'):.0f})" for samples in (project, stock)
            )
        rows.append(
            f"| {SCENARIOS[scenario][0]} | {median(project, 'seconds'):.1f} s | {median(stock, 'seconds'):.1f} s "
            f"| {ratio:.2f}x | {requests[0]} | {requests[1]} | {median(project, 'tasks'):.0f} "
            f"| {median(project, 'changed'):.0f} |"
        )
    notes = []
    if "hosts1" in results and "hosts3" in results:
        for config in CONFIGS:
            scale = median(results["hosts3"][config], "seconds") / median(results["hosts1"][config], "seconds")
            notes.append(f"3 hosts / 1 host, {config}: {scale:.2f}x.")
    section = "\n".join(
        [
            SECTION,
            "",
            f"`{command}` (or `make bench`), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
            context,
            "",
            "The same playbook, inventory and moto server version under the project's ansible.cfg "
            '("project") and under bench/stock.cfg ("stock": only the paths to the project\'s roles, '
            "modules and plugins; linear strategy, 5 forks, no pipelining, no fact cache, no mitogen), "
            "each configuration against its own moto server, alternating which runs first. "
            "Medians; seconds are the wall time of the whole ansible-playbook process.",
            "",
            "| scenario | project | stock | stock / project | AWS requests (writes), project "
            "| AWS requests (writes), stock | tasks | changed |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            *([" ".join(notes), ""] if notes else []),
        ]
    )
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n\nMeasured figures; each section says the command.\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.M | re.S)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text.rstrip("\n") + "\n")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenarios", default="first,noop,check,drift,hosts")
    parser.add_argument("--no-docs", action="store_true", help="print the table only")
    args = parser.parse_args()
    scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    with_hosts = "hosts" in scenarios
    scenarios = [name for name in scenarios if name != "hosts"]
    if with_hosts and hosts_unavailable():
        print(f"bench: no host converge figures: {hosts_unavailable()}", flush=True)
        with_hosts = False
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; known: {', '.join(SCENARIOS)}")
    if "drift" in scenarios and not (REPO / SCENARIOS["drift"][1]).exists():
        print("bench: playbooks/drift.yml does not exist yet: no drift figure", flush=True)
        scenarios.remove("drift")
    clean_environment()
    load_before = os.getloadavg()
    workdir = REPO / ".cache" / "bench-provision"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    servers: dict[str, MotoServer] = {}
    results: dict[str, dict[str, list[Sample]]] = {name: {c: [] for c in CONFIGS} for name in scenarios}
    try:
        for config in CONFIGS if scenarios else ():
            (workdir / config).mkdir()
            servers[config] = start_moto(workdir=workdir / config)
        # Every scenario but the first needs the converged stack: build it when "first" is not measured.
        if scenarios and "first" not in scenarios:
            for config in CONFIGS:
                measure(servers[config], config, "first")
        for scenario in scenarios:
            for run in range(args.runs):
                for config in CONFIGS if run % 2 == 0 else CONFIGS[::-1]:
                    if scenario == "first":
                        servers[config].reset()
                    sample = measure(servers[config], config, scenario)
                    results[scenario][config].append(sample)
                    print(
                        f"bench: {scenario} {run + 1}/{args.runs} {config}: {sample.seconds:.1f} s, "
                        f"{sample.requests} requests ({sample.writes} writes), {sample.tasks} tasks, "
                        f"changed={sample.changed}",
                        flush=True,
                    )
        if with_hosts:
            hosts = boot_hosts(max(HOST_COUNTS))
            inventory = host_inventory(hosts, workdir / "hosts.yml")
            for config in CONFIGS:  # converge once (packages installed), untimed
                measure_hosts(inventory, config, "all")
            for count in HOST_COUNTS:
                key = f"hosts{count}"
                SCENARIOS[key] = (f"host converge, no-op, {count} host{'s' if count > 1 else ''}", HOST_PLAYBOOK, ())
                results[key] = {c: [] for c in CONFIGS}
                limit = ",".join(host["name"] for host in hosts[:count])
                for run in range(args.runs):
                    for config in CONFIGS if run % 2 == 0 else CONFIGS[::-1]:
                        sample = measure_hosts(inventory, config, limit)
                        results[key][config].append(sample)
                        print(f"bench: {key} {run + 1}/{args.runs} {config}: {sample.seconds:.1f} s", flush=True)
    finally:
        for server in servers.values():
            server.stop()
        if with_hosts:
            destroy_hosts(max(HOST_COUNTS))
    context = (
        f"Machine: {machine(load_before, os.getloadavg())}. Versions: {versions()}; project strategy: {strategy()}."
    )
    command = " ".join([".venv/bin/python bench/bench_provision.py", *sys.argv[1:]])
    if args.no_docs:
        print(context)
        return
    print(write_docs(results, command, context))


if __name__ == "__main__":
    main()
