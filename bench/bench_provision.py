#!/usr/bin/env python3
"""Benchmark the provisioning playbooks against moto behind a latency proxy, beside stock Ansible.

    .venv/bin/python bench/bench_provision.py [--runs 3] [--scenarios noop@0,noop@50,...] [--no-docs]

Starts one moto server and, in front of it, bench/latency_proxy.py: every AWS request the
playbooks send waits the scenario's added delay (a distant region's round trip) and is counted
(requests, the most in flight at once, the connections opened, and per operation). The stack is
converged once (untimed), then every scenario runs --runs times, the scenarios taking turns, and
the table gives the medians. A scenario is NAME@MS (MS: the delay added to every AWS request):

  noop    playbooks/provision.yml again on the converged stack, the project's ansible.cfg
  check   provision.yml --check on the converged stack
  drift   playbooks/drift.yml --check --diff, as scripts/drift.sh runs it
  stock   the no-op under bench/stock.cfg: only the paths to the project's roles, modules and
          plugins; linear strategy, 5 forks, no pipelining, no fact cache, no mitogen
  linear  the no-op under the project's ansible.cfg with ANSIBLE_STRATEGY=linear (mitogen off)
  first   provision.yml on an empty account (the server is reset before each run)
  hosts   bench/host_converge.yml (roles base and python) again on 1, then 3 booted
          systemd-nspawn hosts (molecule/shared/nspawn.sh; root only), converged once first; each
          run also counts the CPU-seconds of the whole machine (the hosts share its cores) and of
          the controller (ansible-playbook and its children)

Default: noop@0,noop@50,noop@100,check@100,drift@100,stock@100. A run that fails, or a
no-op/check/drift run that writes (moto's own request recording says which), stops the benchmark.
The table and the per-operation breakdown of one no-op run replace the "## Provisioning"
section of docs/benchmarks.md (other sections are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.moto import MotoServer, start_moto
from tests.support.playbook import PlaybookRun, run_playbook
from tests.support.requests import writes

sys.path.insert(0, str(REPO / "bench"))
from latency_proxy import LatencyProxy

DOCS = REPO / "docs" / "benchmarks.md"
SECTION = "## Provisioning"
STOCK_CFG = REPO / "bench" / "stock.cfg"
INVENTORY = "inventories/local"
PROVISION = "playbooks/provision.yml"
DRIFT = "playbooks/drift.yml"
# name: (label, playbook, arguments, configuration)
SCENARIOS = {
    "first": ("provision.yml from empty", PROVISION, (), "project"),
    "noop": ("no-op converge", PROVISION, (), "project"),
    "check": ("--check on the converged stack", PROVISION, ("--check",), "project"),
    # As scripts/drift.sh runs it: --check too, which roles branch on (their long creations in the
    # foreground, nothing to await), besides the plays' forced check mode.
    "drift": ("drift run (scripts/drift.sh)", DRIFT, ("--check", "--diff"), "project"),
    "stock": ("no-op converge, stock Ansible", PROVISION, (), "stock"),
    "linear": ("no-op converge, linear strategy (pipelining on)", PROVISION, (), "linear"),
}
DEFAULT_SCENARIOS = "noop@0,noop@50,noop@100,check@100,drift@100,stock@100"
HOST_PLAYBOOK = "bench/host_converge.yml"
NSPAWN = REPO / "molecule" / "shared" / "nspawn.sh"
HOST_COUNTS = (1, 3)
MUST_NOT_WRITE = ("noop", "check", "drift", "stock", "linear")
_TASK = re.compile(r"^TASK \[", re.M)


@dataclass
class Sample:
    seconds: float
    requests: int
    writes: int
    tasks: int
    changed: int
    max_in_flight: int = 0
    connections: int = 0
    operations: Counter | None = None
    machine_cpu: float = 0.0  # CPU-seconds the whole machine spent during the run (hosts scenarios)
    controller_cpu: float = 0.0  # of which ansible-playbook and its children (hosts scenarios)


def config_env(config: str) -> dict[str, str]:
    """The environment that selects a configuration; the caller's ANSIBLE_* settings are dropped."""
    if config == "stock":
        return {"ANSIBLE_CONFIG": str(STOCK_CFG), "ANSIBLE_STRATEGY": "linear"}
    if config == "linear":
        return {"ANSIBLE_STRATEGY": "linear"}
    return {}


def clean_environment() -> None:
    for key in [key for key in os.environ if key.startswith("ANSIBLE_")]:
        del os.environ[key]


def measure(server: MotoServer, proxy: LatencyProxy, scenario: str, delay_ms: float, reports: Path) -> Sample:
    _, playbook, args, config = SCENARIOS[scenario]
    env = {
        **server.env,
        "AWS_ENDPOINT_URL": proxy.endpoint,
        **config_env(config),
        "DRIFT_ENV": "local",
        "DRIFT_REPORT_DIR": str(reports),
    }
    proxy.delay_ms = delay_ms
    proxy.reset()
    started = time.monotonic()
    with server.recording_requests() as requests:
        run: PlaybookRun = run_playbook(playbook, INVENTORY, env=env, args=args)
    seconds = time.monotonic() - started
    counts = proxy.counts()
    written = writes(requests)
    if run.returncode != 0:
        raise SystemExit(f"bench: {scenario}@{delay_ms:g} failed\n{run}")
    if scenario in MUST_NOT_WRITE and written:
        raise SystemExit(f"bench: {scenario} sent {len(written)} writes: {[str(w) for w in written]}")
    return Sample(
        seconds,
        counts.requests,
        len(written),
        len(_TASK.findall(run.output)),
        run.changed,
        counts.max_in_flight,
        counts.connections,
        counts.operations,
    )


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


def machine_busy_seconds() -> float:
    """CPU-seconds every core of the machine has spent busy since boot (/proc/stat: all but idle and iowait)."""
    values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def measure_hosts(inventory: str, config: str, limit: str) -> Sample:
    """One host converge, with the CPU it took: the machine's (the booted hosts share its cores) and the
    controller's (ansible-playbook and the processes it waited for, getrusage)."""
    env = {**config_env(config), "ANSIBLE_HOST_KEY_CHECKING": "False"}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy = machine_busy_seconds()
    started = time.monotonic()
    run = run_playbook(HOST_PLAYBOOK, inventory, env=env, args=("--limit", limit))
    seconds = time.monotonic() - started
    machine_cpu = machine_busy_seconds() - busy
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    controller_cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    if run.returncode != 0:
        raise SystemExit(f"bench: host converge ({config}, {limit}) failed\n{run}")
    return Sample(
        seconds,
        0,
        0,
        len(_TASK.findall(run.output)),
        run.changed,
        machine_cpu=machine_cpu,
        controller_cpu=controller_cpu,
    )


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


def label(key: str) -> str:
    name, _, delay = key.partition("@")
    if name.startswith("hosts"):
        return SCENARIOS[name][0]
    return f"{SCENARIOS[name][0]}, +{delay} ms per request"


def breakdown(sample: Sample) -> str:
    operations = sample.operations or Counter()
    return "\n".join(
        f"| {name} | {count} |" for name, count in sorted(operations.items(), key=lambda item: (-item[1], item[0]))
    )


def ratios(results: dict[str, list[Sample]]) -> list[str]:
    notes = []
    for delay in sorted({key.partition("@")[2] for key in results if "@" in key}, key=float):
        project = results.get(f"noop@{delay}")
        for other, words in (("stock", "stock Ansible / project"), ("linear", "linear / mitogen (project)")):
            if project and results.get(f"{other}@{delay}"):
                ratio = median(results[f"{other}@{delay}"], "seconds") / median(project, "seconds")
                notes.append(f"No-op at +{delay} ms, {words}: {ratio:.2f}x.")
    if "hosts1" in results and "hosts3" in results:
        scale = median(results["hosts3"], "seconds") / median(results["hosts1"], "seconds")
        notes.append(f"3 hosts / 1 host: {scale:.2f}x.")
        for key in ("hosts1", "hosts3"):
            machine_cpu, controller_cpu = median(results[key], "machine_cpu"), median(results[key], "controller_cpu")
            notes.append(
                f"{SCENARIOS[key][0].capitalize()}: {machine_cpu:.2f} CPU-seconds on the machine's "
                f"{os.cpu_count()} cores, {controller_cpu:.2f} of them the controller's, the rest the hosts' own."
            )
    return notes


def write_docs(results: dict[str, list[Sample]], command: str, context: str, runs: int) -> str:
    rows = []
    for key, samples in results.items():
        aws = key.partition("@")[2] != ""
        cells = [
            f"{median(samples, 'requests'):.0f} ({median(samples, 'writes'):.0f})" if aws else "-",
            f"{median(samples, 'max_in_flight'):.0f}" if aws else "-",
            f"{median(samples, 'connections'):.0f}" if aws else "-",
        ]
        rows.append(
            f"| {label(key)} | {median(samples, 'seconds'):.1f} s | {' | '.join(cells)} "
            f"| {median(samples, 'tasks'):.0f} | {median(samples, 'changed'):.0f} |"
        )
    noop = next((samples[0] for key, samples in results.items() if key.startswith("noop@")), None)
    section = "\n".join(
        [
            SECTION,
            "",
            f"`{command}` (or `make bench`), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
            context,
            "",
            "One moto server behind bench/latency_proxy.py, which adds the stated delay to every AWS "
            "request and counts requests, the most in flight at once and the TCP connections the "
            "clients opened. The stack is converged once, then the scenarios take turns; medians of "
            f"{runs} runs; seconds are the wall time of the whole ansible-playbook process. "
            '"Project" is the repository\'s ansible.cfg; "stock" is bench/stock.cfg (only the paths to '
            "the project's roles, modules and plugins: linear strategy, 5 forks, no pipelining, no fact "
            "cache, no mitogen). Writes are counted from moto's own request recording.",
            "",
            "| scenario | time | AWS requests (writes) | max in flight | connections | tasks | changed |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            *([" ".join(ratios(results)), ""] if ratios(results) else []),
            *(
                [
                    f"Where the requests of one no-op run go ({noop.requests} requests; service:Operation "
                    "as the proxy named them):",
                    "",
                    "| operation | requests |",
                    "|---|---|",
                    breakdown(noop),
                    "",
                ]
                if noop
                else []
            ),
        ]
    )
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n\nMeasured figures; each section says the command.\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.M | re.S)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text.rstrip("\n") + "\n")
    return "\n".join(rows)


def parse_scenarios(parser: argparse.ArgumentParser, text: str) -> tuple[list[tuple[str, float]], bool]:
    wanted, with_hosts = [], False
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if item == "hosts":
            with_hosts = True
            continue
        name, _, delay = item.partition("@")
        if name not in SCENARIOS:
            parser.error(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}, hosts")
        try:
            wanted.append((name, float(delay or 0)))
        except ValueError:
            parser.error(f"{item}: the delay after @ is a number of milliseconds")
    return wanted, with_hosts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario; the table gives the medians")
    parser.add_argument("--scenarios", default=DEFAULT_SCENARIOS, help=f"NAME@MS,... (default {DEFAULT_SCENARIOS})")
    parser.add_argument("--no-docs", action="store_true", help="print the table only")
    args = parser.parse_args()
    scenarios, with_hosts = parse_scenarios(parser, args.scenarios)
    if with_hosts and hosts_unavailable():
        print(f"bench: no host converge figures: {hosts_unavailable()}", flush=True)
        with_hosts = False
    clean_environment()
    load_before = os.getloadavg()
    workdir = REPO / ".cache" / "bench-provision"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    reports = workdir / "reports"
    keys = [f"{name}@{delay:g}" for name, delay in scenarios]
    results: dict[str, list[Sample]] = {key: [] for key in keys}
    server = start_moto(workdir=workdir) if scenarios else None
    try:
        if server:
            with LatencyProxy(server.endpoint) as proxy:
                if any(name != "first" for name, _ in scenarios):
                    measure(server, proxy, "first", 0, reports)  # the converged stack, untimed
                for run in range(args.runs):
                    # Take turns, the order reversed every other run: a slow moment of the machine
                    # does not land on one scenario only.
                    for (name, delay), key in list(zip(scenarios, keys, strict=True))[:: 1 if run % 2 == 0 else -1]:
                        if name == "first":
                            server.reset()
                        sample = measure(server, proxy, name, delay, reports)
                        results[key].append(sample)
                        print(
                            f"bench: {key} {run + 1}/{args.runs}: {sample.seconds:.1f} s, {sample.requests} requests "
                            f"({sample.writes} writes), max in flight {sample.max_in_flight}, "
                            f"{sample.connections} connections, {sample.tasks} tasks, changed={sample.changed}",
                            flush=True,
                        )
        if with_hosts:
            hosts = boot_hosts(max(HOST_COUNTS))
            inventory = host_inventory(hosts, workdir / "hosts.yml")
            measure_hosts(inventory, "project", "all")  # converge once (packages installed), untimed
            for count in HOST_COUNTS:
                key = f"hosts{count}"
                SCENARIOS[key] = (
                    f"host converge, no-op, {count} host{'s' if count > 1 else ''}",
                    HOST_PLAYBOOK,
                    (),
                    "",
                )
                results[key] = []
                limit = ",".join(host["name"] for host in hosts[:count])
                for run in range(args.runs):
                    sample = measure_hosts(inventory, "project", limit)
                    results[key].append(sample)
                    print(
                        f"bench: {key} {run + 1}/{args.runs}: {sample.seconds:.1f} s, {sample.machine_cpu:.2f} "
                        f"CPU-s on the machine, {sample.controller_cpu:.2f} the controller's",
                        flush=True,
                    )
    finally:
        if server:
            server.stop()
        if with_hosts:
            destroy_hosts(max(HOST_COUNTS))
    context = (
        f"Machine: {machine(load_before, os.getloadavg())}. Versions: {versions()}; project strategy: {strategy()}."
    )
    command = " ".join([".venv/bin/python bench/bench_provision.py", *sys.argv[1:]])
    noop = next((samples[0] for key, samples in results.items() if key.startswith("noop@")), None)
    if noop:
        print(
            f"\nOne no-op run: {noop.requests} requests, max in flight {noop.max_in_flight}, "
            f"{noop.connections} connections"
        )
        print(breakdown(noop))
    print("\n".join(ratios(results)))
    if args.no_docs:
        print(context)
        return
    print(write_docs(results, command, context, args.runs))


if __name__ == "__main__":
    main()
