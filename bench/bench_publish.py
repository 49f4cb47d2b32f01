#!/usr/bin/env python3
"""Benchmark playbooks/publish_static.yml beside `aws s3 sync` on the same build and moto server.

    .venv/bin/python bench/bench_publish.py [--runs 5] [--files 1000] [--megabytes 50]

Generates a Vite-shaped build (index.html, hashed assets of mixed sizes) under .cache/, starts a
moto server on loopback, and times, for each tool, in the same run: the first publish into an
empty bucket, a no-op publish, and a publish after one file changed. Each tool has its own
bucket. The medians and their ratios replace the "## Static publish" section of
docs/benchmarks.md. awscli comes from bench/requirements.txt into its own venv
(.cache/bench-awscli), because it pins its own botocore.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.moto import REGION, start_moto
from tests.support.playbook import run_playbook

CACHE = REPO / ".cache"
AWSCLI_VENV = CACHE / "bench-awscli"
REQUIREMENTS = REPO / "bench" / "requirements.txt"
DOCS = REPO / "docs" / "benchmarks.md"
SECTION = "## Static publish"
OURS, THEIRS = "bench-publish-ours", "bench-publish-awscli"
COMMENT = "bench static site"
SCENARIOS = ("first publish", "no-op publish", "one-file change", "same build, fresh file times")


def awscli() -> Path:
    """The `aws` executable of .cache/bench-awscli, installed from bench/requirements.txt when missing or stale."""
    aws = AWSCLI_VENV / "bin" / "aws"
    stamp = AWSCLI_VENV / ".requirements.stamp"
    if aws.exists() and stamp.exists() and stamp.stat().st_mtime >= REQUIREMENTS.stat().st_mtime:
        return aws
    print(f"bench: installing {REQUIREMENTS.relative_to(REPO)} into {AWSCLI_VENV.relative_to(REPO)}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(AWSCLI_VENV)], check=True)
    pip = [str(AWSCLI_VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    stamp.touch()
    return aws


def sizes(files: int, total: int, rng: random.Random) -> list[int]:
    """Mixed sizes like a real build: mostly small chunks, some images, a few large bundles."""
    weights = [rng.choice([1] * 80 + [8] * 15 + [60] * 4 + [400] * 1) * rng.uniform(0.5, 1.5) for _ in range(files)]
    scale = total / sum(weights)
    result = [max(64, int(w * scale)) for w in weights]
    result[-1] += total - sum(result)
    return result


def generate(build: Path, files: int, megabytes: int) -> None:
    """A Vite-shaped build: index.html, a few public files, hashed assets; deterministic."""
    if build.exists():
        shutil.rmtree(build)
    (build / "assets").mkdir(parents=True)
    rng = random.Random(20261128)
    extensions = [".js", ".js", ".js", ".css", ".svg", ".webp", ".woff2", ".js.map", ".json", ".wasm"]
    public = ["favicon.svg", "robots.txt", "manifest.webmanifest"]
    count = files - 1 - len(public)
    body_sizes = sizes(files, megabytes * 1024 * 1024, rng)
    names = []
    for index in range(count):
        body = rng.randbytes(body_sizes[index])
        digest = hashlib.sha256(body).hexdigest()[:8]
        name = f"assets/chunk{index:04d}-{digest}{rng.choice(extensions)}"
        (build / name).write_bytes(body)
        names.append(name)
    for offset, name in enumerate(public):
        (build / name).write_bytes(rng.randbytes(body_sizes[count + offset]))
    scripts = "\n".join(f'<link rel="modulepreload" href="/{name}">' for name in names[:20])
    (build / "index.html").write_text(f"<!doctype html><html><head>{scripts}</head><body></body></html>\n")


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=REPO)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    return elapsed


TASK_TIME = re.compile(r"^static_site : Publish the build and invalidate the paths that changed -+ (\d+\.\d+)s$", re.M)


def publish_ours(build: Path, env: dict[str, str], distribution_id: str) -> tuple[float, float]:
    """The whole ansible-playbook run, and the s3_static_sync task within it (profile_tasks)."""
    start = time.perf_counter()
    run = run_playbook(
        "playbooks/publish_static.yml",
        env=env,
        extra_vars={
            "static_build_dir": str(build),
            "static_bucket_name": OURS,
            "static_site_distribution_id": distribution_id,
        },
    )
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        raise RuntimeError(str(run))
    task = TASK_TIME.search(run.output)
    return elapsed, float(task.group(1)) if task else float("nan")


def prepare(endpoint: str) -> str:
    """Empty buckets for both tools and a distribution for ours; returns its id."""
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
    for bucket in (OURS, THEIRS):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    cloudfront = boto3.client("cloudfront", region_name="us-east-1", endpoint_url=endpoint)
    origin = {"Id": "static", "DomainName": f"{OURS}.s3.{REGION}.amazonaws.com", "S3OriginConfig": {}}
    origin["S3OriginConfig"]["OriginAccessIdentity"] = ""
    reply = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": f"bench-{time.time()}",
            "Comment": COMMENT,
            "Enabled": True,
            "DefaultRootObject": "index.html",
            "Origins": {"Quantity": 1, "Items": [origin]},
            "DefaultCacheBehavior": {
                "TargetOriginId": "static",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
    )
    return reply["Distribution"]["Id"]


def one_run(build: Path, server, aws: Path, ours_first: bool) -> dict[str, dict[str, float]]:
    server.reset()
    distribution_id = prepare(server.endpoint)
    env = {**os.environ, **server.env}
    env.pop("AWS_PROFILE", None)
    sync = [str(aws), "s3", "sync", str(build), f"s3://{THEIRS}", "--only-show-errors"]
    times: dict[str, dict[str, float]] = {"ours": {}, "task": {}, "awscli": {}}
    index = build / "index.html"
    original = index.read_text()
    try:
        for scenario in SCENARIOS:
            if scenario == "one-file change":
                index.write_text(original.replace("<body>", f"<body><!-- {time.time()} -->"))
            if scenario == "same build, fresh file times":
                # What a CI job sees: the same content, built again (every file newer than its object).
                now = time.time() + 5
                for path in build.rglob("*"):
                    os.utime(path, (now, now))
            for tool in ("ours", "awscli") if ours_first else ("awscli", "ours"):
                if tool == "ours":
                    times["ours"][scenario], times["task"][scenario] = publish_ours(build, env, distribution_id)
                else:
                    times["awscli"][scenario] = timed(sync, env)
    finally:
        index.write_text(original)
    return times


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = "/".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()};"
        f" load average at the end {load} (a shared machine: the figures move with it)"
    )


def versions(aws: Path) -> str:
    reply = subprocess.run([str(aws), "--version"], capture_output=True, text=True, check=False)
    from importlib.metadata import version

    return (
        f"{(reply.stdout or reply.stderr).split()[0]}; moto {version('moto')}, ansible-core {version('ansible-core')}"
    )


def write_docs(results: list[dict[str, dict[str, float]]], args: argparse.Namespace, aws: Path) -> str:
    rows = []
    for scenario in SCENARIOS:
        ours, task, theirs = (
            statistics.median(run[tool][scenario] for run in results) for tool in ("ours", "task", "awscli")
        )
        rows.append(
            f"| {scenario} | {ours:.2f} s | {task:.2f} s | {theirs:.2f} s | {ours / theirs:.2f} | {task / theirs:.2f} |"
        )
    command = (
        f".venv/bin/python bench/bench_publish.py --runs {args.runs} --files {args.files} --megabytes {args.megabytes}"
    )
    section = "\n".join(
        [
            SECTION,
            "",
            f"`{command}` (or `make bench-publish`), {time.strftime('%Y-%m-%d', time.gmtime())}.",
            f"Machine: {machine()}. Tools: {versions(aws)}.",
            "",
            f"A generated Vite-shaped build of {args.files} files ({args.megabytes} MB, mostly small hashed chunks,",
            "some images and a few large bundles) published to a moto server on loopback, each tool to its own",
            f"bucket, in the same run; medians of {args.runs} runs, the order of the two tools alternating.",
            "`publish_static.yml` is the whole `ansible-playbook` run a user starts (Ansible's start-up",
            'included); "its s3_static_sync task" is that run\'s publish task as profile_tasks times it',
            "(the module's own Python and boto3 start-up included, Ansible's start-up not). Ours also sets",
            "per-file Content-Type and Cache-Control, keeps the publish manifest and, on the one-file",
            "change (index.html), creates the CloudFront invalidation.",
            "`aws s3 sync` compares size and modification time and sets neither per-file headers nor an",
            "invalidation. The last scenario is a CI job's usual case: the same content built again, so",
            "every file is newer than its object; `aws s3 sync` uploads it all again, ours compares hashes.",
            "Where the time goes (2026-12-06, quiet machine): the module itself, under mitogen in the",
            "interpreter where the run's account read already imported boto3, is as fast as `aws s3 sync`",
            "or faster on every scenario (the task column). The rest of the playbook run, about 1.9 s, is",
            "Ansible's: ansible-playbook's own start-up (0.6 s for a playbook of one debug task), preflight",
            "(the settings and static_site's inputs, one task each) and the account read, the run's first",
            "AWS module, which imports boto3 (about 0.5 s). Those two start-ups alone exceed `aws s3 sync`'s",
            "whole no-op (one process, one client, about 0.5 s), so the playbook run cannot be as fast as it",
            "on the no-op and the one-file change; where content decides, as in a CI job, ours is the faster.",
            "",
            "| scenario | publish_static.yml | its s3_static_sync task | aws s3 sync | playbook / aws | task / aws |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    text = (
        DOCS.read_text()
        if DOCS.exists()
        else "# Benchmarks\n\nMeasured figures; each section says the command that produced it.\n"
    )
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.M | re.S)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text.rstrip("\n") + "\n")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--megabytes", type=int, default=50)
    args = parser.parse_args()
    aws = awscli()
    build = CACHE / "bench-publish" / "build"
    generate(build, args.files, args.megabytes)
    server = start_moto(workdir=Path(CACHE / "bench-publish"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server on `kill` too
    os.environ.update(server.env)
    try:
        results = []
        for run in range(args.runs):
            results.append(one_run(build, server, aws, ours_first=run % 2 == 0))
            summary = ", ".join(
                f"{tool} {scenario} {t:.2f}s" for tool in results[-1] for scenario, t in results[-1][tool].items()
            )
            print(f"bench: run {run + 1}/{args.runs}: {summary}", flush=True)
    finally:
        server.stop()
    print(write_docs(results, args, aws))
    print(f"bench: wrote the '{SECTION}' section of {DOCS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
