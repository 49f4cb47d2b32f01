#!/usr/bin/env python3
"""Draw each environment's platform from its inventory's settings (`make diagram`).

For every inventory under inventories/ it asks Ansible itself for the environment's
settings (so templated values such as name_prefix or the seed's sizes resolve exactly as
the playbooks see them), writes Graphviz DOT text to docs/architecture-<env>.dot and
renders it with `dot` to docs/architecture-<env>.png. The picture shows the seed's nine
components (table 4.2), the request's path (ARCHITECTURE.md) and one arrow per
security-group inbound rule (table 4.4, from `seed_security_groups`) with its port and
source, the administrator's CIDR included.

    .venv/bin/python scripts/diagram.py                 # every environment
    .venv/bin/python scripts/diagram.py --env prod      # one
    .venv/bin/python scripts/diagram.py --dot-only      # DOT text only, no graphviz needed

When `dot` is missing it installs Debian's graphviz with apt-get if it runs as root, and
otherwise says how to install it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

# What the picture needs, as Jinja expressions over the inventory's variables.
_CIDR_VAR_NAMES = (
    "(seed_security_groups | map(attribute='rules') | flatten"
    " | selectattr('from_cidr_var', 'defined') | map(attribute='from_cidr_var') | unique | list)"
)
SETTINGS_EXPRESSIONS: dict[str, str] = {
    "project_name": "project_name",
    "env_name": "env_name",
    "name_prefix": "name_prefix",
    "aws_region": "aws_region",
    "domain_name": "domain_name",
    "api_hostname": "api_hostname",
    "vpc_cidr": "vpc_cidr",
    "public_subnet_cidrs": "public_subnet_cidrs",
    "private_subnet_cidrs": "private_subnet_cidrs",
    "app_port": "app_port | int",
    "app_health_path": "app_health_path",
    "app_instance_type": "app_instance_type",
    "app_instance_count": "app_instance_count | int",
    "app_root_volume_gb": "app_root_volume_gb | int",
    "app_root_volume_type": "app_root_volume_type | default('gp3')",
    "db_instance_class": "db_instance_class",
    "db_allocated_storage_gb": "db_allocated_storage_gb | int",
    "db_multi_az": "db_multi_az | bool",
    "db_backup_retention_days": "db_backup_retention_days | int",
    "cache_node_type": "cache_node_type",
    "static_bucket_name": "static_bucket_name",
    "media_bucket_name": "media_bucket_name",
    "secrets_prefix": "secrets_prefix",
    "names": "aws_names",
    "budget_monthly_usd": "budget_monthly_usd | int",
    "api_key_secret_names": "api_key_secrets | default([]) | map(attribute='name') | list",
    "security_groups": "seed_security_groups",
    "cidrs": f"dict({_CIDR_VAR_NAMES} | zip(lookup('ansible.builtin.vars', *{_CIDR_VAR_NAMES}, wantlist=True)))",
    "log_bucket_name": "log_bucket_name",
    "ssm_transfer_bucket_name": "ssm_transfer_bucket_name",
    "admin_access": "admin_access",
    "ssm_session_log_retention_days": "ssm_session_log_retention_days | int",
}
# The hardening settings (docs/security.md), each drawn when the inventory declares it and it is on.
# A setting the inventory does not know (a feature not built on this branch) reads as none: the
# picture leaves that feature out rather than assume a default declared elsewhere.
HARDENING_SETTINGS = (
    "waf_enabled",
    "waf_rate_limit",
    "waf_alb_enabled",
    "log_bucket_expire_days",
    "vpc_flow_logs_enabled",
    "vpc_flow_logs_retention_days",
    "cloudtrail_enabled",
    "dashboard_enabled",
)
SETTINGS_EXPRESSIONS |= {name: f"{name} | default(none)" for name in HARDENING_SETTINGS}

# The bucket names carry the account id, which a run reads from AWS: the picture shows the expected
# account where the inventory names one, else a placeholder.
ACCOUNT_ID_EXPRESSION = (
    "{{ expected_account_id if expected_account_id | default('') | length > 0 else '<account-id>' }}"
)

# The seed's names for the nine components (table 4.2), keyed by node id.
COMPONENTS = {
    "route53": "Route 53",
    "cloudfront": "CloudFront",
    "alb": "ALB",
    "ec2": "EC2",
    "s3_static": "S3 (static)",
    "s3_media": "S3 (media)",
    "rds": "RDS",
    "elasticache": "ElastiCache",
    "secrets": "Secrets Manager",
}
# seed_security_groups keys -> the component the group protects, and the seed's name for it (table 4.4).
SG_COMPONENT = {"alb": "alb", "app": "ec2", "db": "rds", "cache": "elasticache"}
SG_NAME = {"alb": "ALB SG", "app": "EC2 SG", "db": "RDS SG", "cache": "ElastiCache SG"}
CIDR_SOURCE_NAME = {"internet_cidr": "Users' browsers (internet)", "admin_cidr": "Administrator"}
# Secrets Manager: the data tier's JSON secrets, then the API keys (api_key_secrets; the seed's three by default).
DATA_SECRET_NAMES = ("db", "redis")
DEFAULT_API_KEY_SECRET_NAMES = ("openai-api-key", "google-cloud-credentials", "heygen-api-key")


class DiagramError(RuntimeError):
    """A failure the user can act on; main() prints it without a traceback."""


def ansible_command() -> str:
    """The `ansible` next to this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "ansible"
    if beside.exists():
        return str(beside)
    found = shutil.which("ansible")
    if found is None:
        raise DiagramError("ansible is not installed: run `make venv`, then `.venv/bin/python scripts/diagram.py`")
    return found


def settings_expression() -> str:
    pairs = ", ".join(f'"{key}": ({expr})' for key, expr in SETTINGS_EXPRESSIONS.items())
    return "{{ {" + pairs + "} }}"


def first_json_object(text: str) -> Any:
    """The JSON document that the json stdout callback prints (other callbacks may add lines around it)."""
    for index, line in enumerate(text.splitlines(keepends=True)):
        if line.rstrip() == "{":
            rest = "".join(text.splitlines(keepends=True)[index:])
            return json.JSONDecoder().raw_decode(rest)[0]
    raise DiagramError(f"no JSON in ansible's output:\n{text[-2000:]}")


def inventory_source(inventory: Path) -> Path:
    """hosts.yml when there is one: its group_vars/ come with it, and an inventory plugin beside it
    (aws_ec2.yml) would call AWS for hosts the picture does not need."""
    hosts = inventory / "hosts.yml"
    return hosts if hosts.is_file() else inventory


def read_settings(inventory: Path) -> dict[str, Any]:
    """The environment's settings, templated by Ansible as the playbooks would see them."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    env.pop("ANSIBLE_CONFIG", None)
    command = [ansible_command(), "localhost", "-i", str(inventory_source(inventory)), "-m", "ansible.builtin.debug"]
    command += ["-a", f"msg={settings_expression()}", "-e", json.dumps({"aws_account_id": ACCOUNT_ID_EXPRESSION})]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = result.stderr.strip() or result.stdout.strip()
        raise DiagramError(f"reading the settings of {inventory} failed:\n{detail[-3000:]}")
    report = first_json_object(result.stdout)
    return report["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]


def quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def node(node_id: str, label: str, **attrs: str) -> str:
    extra = "".join(f", {key}={quote(value)}" for key, value in attrs.items())
    return f"{node_id} [label={quote(label)}{extra}];"


def edge(source: str, target: str, label: str, **attrs: str) -> str:
    extra = "".join(f", {key}={quote(value)}" for key, value in attrs.items())
    return f"{source} -> {target} [label={quote(label)}{extra}];"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def component_labels(s: dict[str, Any]) -> dict[str, str]:
    names_of = s["names"]
    count = s["app_instance_count"]
    host = names_of["app_host"]
    names = f"{host}-1" if count == 1 else f"{host}-1 .. {host}-{count}"
    multi_az = "Multi-AZ" if s["db_multi_az"] else "single-AZ"
    secret_names = [*DATA_SECRET_NAMES, *(s.get("api_key_secret_names") or DEFAULT_API_KEY_SECRET_NAMES)]
    secrets = "\n".join(f"{s['secrets_prefix']}/{name}" for name in secret_names)
    return {
        "route53": f"Route 53\nzone {s['domain_name']}\n{s['domain_name']}, www -> CloudFront\n"
        f"{s['api_hostname']} -> ALB\nACM validation records",
        "cloudfront": f"CloudFront\n'{names_of['distribution_comment']}'\nACM certificate in us-east-1",
        "alb": f"ALB\n{names_of['alb']}\nHTTPS :443 (ACM, {s['aws_region']})\n"
        f"target group {names_of['target_group']}\nHTTP :{s['app_port']} health {s['app_health_path']}",
        "ec2": f"EC2\n{count} x {s['app_instance_type']}, {s['app_root_volume_type']} {s['app_root_volume_gb']} GB\n"
        f"{names}\nAmazon Linux 2023\nFastAPI :{s['app_port']} (systemd)",
        "s3_static": f"S3 (static)\n{s['static_bucket_name']}\nReact build, private (OAC)",
        "s3_media": f"S3 (media)\n{s['media_bucket_name']}\nrecordings, presigned URLs",
        "rds": f"RDS\nPostgreSQL {names_of['db']}\n"
        f"{s['db_instance_class']}, {s['db_allocated_storage_gb']} GB, {multi_az}\n"
        f"backups kept {plural(s['db_backup_retention_days'], 'day')}",
        "elasticache": f"ElastiCache\nRedis {names_of['redis']}\n{s['cache_node_type']}, TLS",
        "secrets": f"Secrets Manager\n{secrets}",
    }


def request_path_edges(s: dict[str, Any]) -> list[str]:
    """ARCHITECTURE.md's request path, solid arrows."""
    port = s["app_port"]
    return [
        edge("users", "route53", "DNS"),
        edge("users", "cloudfront", "HTTPS"),
        edge("cloudfront", "s3_static", "OAC"),
        edge("users", "alb", "HTTPS :443"),
        edge("alb", "ec2", f"HTTP :{port}"),
        edge("ec2", "rds", "PostgreSQL :5432"),
        edge("ec2", "elasticache", "Redis :6379 TLS"),
        edge("ec2", "s3_media", "presigned URLs"),
        edge("ec2", "secrets", "GetSecretValue"),
        edge("route53", "cloudfront", "alias", style="dotted"),
        edge("route53", "alb", "alias", style="dotted"),
    ]


_FEATURE_BOX = {"shape": "box", "style": "rounded,filled", "fillcolor": "lightyellow"}
_LOG_EDGE = {"color": "gray45", "fontcolor": "gray30", "style": "dashed"}


def waf_parts(s: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """WAF on CloudFront (global) and, with waf_alb_enabled, on the ALB: (edge nodes, regional nodes, edges)."""
    if not s.get("waf_enabled"):
        return [], [], []
    names_of = s["names"]
    rate = f"\nrate limit {s['waf_rate_limit']} requests / 5 min / IP" if s.get("waf_rate_limit") else ""
    managed = "AWS managed: common, known bad inputs,\nIP reputation"
    label = f"AWS WAF (CLOUDFRONT)\n{names_of['web_acl_cloudfront']}\n{managed}{rate}"
    edges = [edge("waf_cloudfront", "cloudfront", "web ACL", style="bold", color="darkred")]
    regional = []
    if s.get("waf_alb_enabled"):
        regional.append(node("waf_alb", f"AWS WAF (REGIONAL)\n{names_of['web_acl_alb']}", **_FEATURE_BOX))
        edges.append(edge("waf_alb", "alb", "web ACL", style="bold", color="darkred"))
    return [node("waf_cloudfront", label, **_FEATURE_BOX)], regional, edges


def log_parts(s: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The log bucket with its sources, the trail, the flow logs: (regional nodes, edges)."""
    names_of = s["names"]
    nodes: list[str] = []
    edges: list[str] = []
    log_bucket = s.get("log_bucket_expire_days") is not None
    if log_bucket:
        expiry = plural(s["log_bucket_expire_days"], "day")
        label = f"S3 (logs)\n{s['log_bucket_name']}\nprivate, encrypted, TLS only\nexpires after {expiry}"
        nodes.append(node("s3_logs", label, **_FEATURE_BOX))
        edges += [
            edge("cloudfront", "s3_logs", "access logs cloudfront/", **_LOG_EDGE),
            edge("alb", "s3_logs", "access logs alb/", **_LOG_EDGE),
            edge("s3_static", "s3_logs", "server access logs s3/<bucket>/", **_LOG_EDGE),
            edge("s3_media", "s3_logs", "server access logs s3/<bucket>/", **_LOG_EDGE),
        ]
    if s.get("cloudtrail_enabled"):
        label = f"CloudTrail\n{names_of['trail']}\nmulti-region, log file validation"
        nodes.append(node("cloudtrail", label, **_FEATURE_BOX))
        if log_bucket:
            edges.append(edge("cloudtrail", "s3_logs", "AWSLogs/", **_LOG_EDGE))
    if s.get("vpc_flow_logs_enabled"):
        days = s.get("vpc_flow_logs_retention_days")
        kept = f"\nkept {plural(days, 'day')}" if days else ""
        nodes.append(
            node("flow_logs", f"CloudWatch Logs\n{names_of['flow_log_group']}\nVPC flow logs{kept}", **_FEATURE_BOX)
        )
        label = f"flow logs (role {names_of['flow_log_role']})"
        edges.append(edge("alb", "flow_logs", label, ltail="cluster_vpc", **_LOG_EDGE))
    return nodes, edges


def access_parts(s: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The dashboard, and Session Manager when admin_access is ssm or both: (regional nodes, edges)."""
    names_of = s["names"]
    nodes: list[str] = []
    edges: list[str] = []
    if s.get("dashboard_enabled"):
        label = f"CloudWatch dashboard\n{names_of['dashboard']}\nALB, EC2, RDS, Redis, WAF metrics"
        nodes.append(node("dashboard", label, **_FEATURE_BOX))
    if s.get("admin_access") in ("ssm", "both"):
        kept = plural(s["ssm_session_log_retention_days"], "day")
        label = (
            "Session Manager\npreferences SSM-SessionManagerRunShell\n"
            f"sessions -> {names_of['ssm_session_log_group']} (kept {kept})\n"
            f"transfers via {s['ssm_transfer_bucket_name']}"
        )
        nodes.append(node("session_manager", label, **_FEATURE_BOX))
        edges += [
            edge("cidr_admin_cidr", "session_manager", "Session Manager (HTTPS, IAM)", color="darkgreen"),
            edge("session_manager", "ec2", "SSM agent", color="darkgreen"),
        ]
    return nodes, edges


def hardening(s: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """The hardening features the settings turn on (docs/security.md): (edge nodes, regional nodes, edges)."""
    edge_nodes, waf_nodes, waf_edges = waf_parts(s)
    log_nodes, log_edges = log_parts(s)
    access_nodes, access_edges = access_parts(s)
    return edge_nodes, [*waf_nodes, *log_nodes, *access_nodes], [*waf_edges, *log_edges, *access_edges]


def cidr_node_id(var_name: str) -> str:
    return "users" if var_name == "internet_cidr" else f"cidr_{var_name}"


def security_group_edges(s: dict[str, Any]) -> tuple[list[str], list[str]]:
    """One dashed red arrow per inbound rule of seed_security_groups; plus nodes for CIDR sources."""
    edges: list[str] = []
    extra_nodes: list[str] = []
    for group in s["security_groups"]:
        key = group["key"]
        target = SG_COMPONENT.get(key, f"sg_{key}")
        if key not in SG_COMPONENT:
            extra_nodes.append(node(target, f"{key} (security group)"))
        for rule in group["rules"]:
            if s.get("admin_access") == "ssm" and int(rule["port"]) == 22:
                continue  # admin_access ssm: the SSH rule is left out (Session Manager instead)
            if "from_group" in rule:
                source_key = rule["from_group"]
                source = SG_COMPONENT.get(source_key, f"sg_{source_key}")
                origin = SG_NAME.get(source_key, source_key)
            else:
                var_name = rule["from_cidr_var"]
                source = cidr_node_id(var_name)
                origin = s["cidrs"][var_name]
            label = f"{SG_NAME.get(key, key)}: TCP {rule['port']}\nfrom {origin}"
            edges.append(edge(source, target, label, color="firebrick", fontcolor="firebrick", style="dashed"))
    return edges, extra_nodes


def cidr_source_nodes(s: dict[str, Any]) -> list[str]:
    nodes = []
    for var_name, cidr in sorted(s["cidrs"].items()):
        name = CIDR_SOURCE_NAME.get(var_name, var_name)
        nodes.append(node(cidr_node_id(var_name), f"{name}\n{cidr}", shape="oval"))
    if "internet_cidr" not in s["cidrs"]:
        nodes.append(node("users", "Users' browsers (internet)", shape="oval"))
    return nodes


def cluster(name: str, label: str, body: Iterable[str], **attrs: str) -> list[str]:
    lines = [f"subgraph cluster_{name} {{", f"label={quote(label)};", "labeljust=l; labelloc=b; fontsize=13;"]
    lines += [f"{key}={quote(value)};" for key, value in attrs.items()]
    lines += list(body)
    return [*lines, "}"]


def build_dot(s: dict[str, Any]) -> str:
    """The whole picture as Graphviz DOT text (deterministic for the same settings)."""
    labels = component_labels(s)
    box = {"shape": "box", "style": "rounded,filled", "fillcolor": "white"}
    nodes = {key: node(key, label, **box) for key, label in sorted(labels.items())}
    sg_edges, sg_nodes = security_group_edges(s)
    title = (
        f"{s['name_prefix']}: {s['domain_name']}, {s['aws_region']}, "
        f"budget {s['budget_monthly_usd']} USD/month\n"
        "solid: request path    dashed red: security-group inbound rule (seed table 4.4)"
    )
    public = ", ".join(s["public_subnet_cidrs"])
    private = ", ".join(s["private_subnet_cidrs"])
    vpc = [
        *cluster("public", f"public subnets {public}", [nodes["alb"], nodes["ec2"]], style="dashed"),
        *cluster(
            "private",
            f"private subnets {private} (no internet route)",
            [nodes["rds"], nodes["elasticache"]],
            style="dashed",
        ),
    ]
    edge_nodes, region_nodes, hardening_edges = hardening(s)
    region = [
        *cluster("vpc", f"VPC {s['vpc_cidr']}", vpc, style="rounded", color="darkgreen"),
        nodes["s3_static"],
        nodes["s3_media"],
        nodes["secrets"],
        *region_nodes,
    ]
    lines = [
        f"digraph {quote('architecture-' + s['env_name'])} {{",
        "rankdir=LR; newrank=true; compound=true; ranksep=1.1; nodesep=0.45;",
        "labelloc=t; fontname=Helvetica; fontsize=16;",
        f"label={quote(title)};",
        "node [fontname=Helvetica, fontsize=11]; edge [fontname=Helvetica, fontsize=9];",
        *cidr_source_nodes(s),
        *sg_nodes,
        *cluster(
            "edge",
            "global (edge)",
            [nodes["route53"], nodes["cloudfront"], *edge_nodes],
            style="rounded",
            color="gray40",
        ),
        *cluster("region", f"AWS {s['aws_region']}", region, style="rounded", color="orange"),
        *request_path_edges(s),
        *sg_edges,
        *hardening_edges,
        "}",
    ]
    return "\n".join(lines) + "\n"


def graphviz_dot() -> str:
    """The `dot` program; installs Debian's graphviz when it is missing and this runs as root."""
    found = shutil.which("dot")
    if found:
        return found
    how = (
        "install Graphviz: `sudo apt-get install graphviz` (Debian/Ubuntu), "
        "`sudo dnf install graphviz` (Fedora/RHEL) or `brew install graphviz` (macOS)"
    )
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise DiagramError(f"`dot` is missing: {how}; or run with --dot-only")
    print("diagram: `dot` is missing; installing graphviz with apt-get", file=sys.stderr)
    apt_env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], env=apt_env, check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "graphviz"], env=apt_env, check=True)
    found = shutil.which("dot")
    if found is None:
        raise DiagramError(f"apt-get installed graphviz but `dot` is still missing: {how}")
    return found


def render_png(dot_program: str, dot_file: Path, png_file: Path) -> None:
    subprocess.run([dot_program, "-Tpng", "-Gdpi=110", "-o", str(png_file), str(dot_file)], check=True)


def display_path(path: Path) -> str:
    resolved = path.resolve()
    return str(resolved.relative_to(REPO)) if resolved.is_relative_to(REPO) else str(path)


def environments(inventories: Path) -> list[str]:
    """Every inventory directory with an inventory source (hosts.yml, aws_ec2.yml, ...) and group_vars."""

    def is_inventory(path: Path) -> bool:
        sources = [*path.glob("*.yml"), *path.glob("*.yaml"), *path.glob("*.ini")]
        return (path / "group_vars").is_dir() and bool(sources)

    return sorted(path.name for path in inventories.iterdir() if path.is_dir() and is_inventory(path))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", action="append", help="an environment (inventories/<env>); repeatable; default: all")
    parser.add_argument("--inventories", type=Path, default=REPO / "inventories", help="where the inventories are")
    parser.add_argument("--out", type=Path, default=REPO / "docs", help="where architecture-<env>.{dot,png} go")
    parser.add_argument("--dot-only", action="store_true", help="write the DOT text only (no graphviz needed)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = args.env or environments(args.inventories)
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            settings = list(pool.map(lambda name: read_settings(args.inventories / name), names))
        args.out.mkdir(parents=True, exist_ok=True)
        dot_program = None if args.dot_only else graphviz_dot()
        for name, values in zip(names, settings, strict=True):
            dot_file = args.out / f"architecture-{name}.dot"
            dot_file.write_text(build_dot(values), encoding="utf-8")
            written = [dot_file]
            if dot_program is not None:
                png_file = dot_file.with_suffix(".png")
                render_png(dot_program, dot_file, png_file)
                written.append(png_file)
            print("diagram: wrote " + ", ".join(display_path(path) for path in written))
    except DiagramError as error:
        print(f"diagram: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
