"""scripts/diagram.py draws each environment from its inventory's settings (make diagram)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.naming import media_bucket, names, static_bucket

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "diagram.py"
ENVIRONMENTS = ("local", "dev", "prod")
SEED_COMPONENTS = {
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
NODE = re.compile(r'^(\w+) \[label="((?:[^"\\]|\\.)*)"', re.MULTILINE)
SG_EDGE = re.compile(r'^(\w+) -> (\w+) \[label="((?:[^"\\]|\\.)*)", color="firebrick"', re.MULTILINE)


def draw(out: Path, *args: str) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--dot-only", "--out", str(out), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def labels(dot: str) -> dict[str, str]:
    return {node_id: label.replace("\\n", "\n") for node_id, label in NODE.findall(dot)}


def security_group_rules(dot: str) -> set[tuple[str, str, str]]:
    """(source node, target node, label) of every dashed red security-group arrow."""
    return {(source, target, label.replace("\\n", " ")) for source, target, label in SG_EDGE.findall(dot)}


def environment_setting(env: str, name: str) -> str:
    settings = yaml.safe_load((REPO / "inventories" / env / "group_vars" / "all" / "environment.yml").read_text())
    return settings[name]


@pytest.fixture(scope="module")
def dots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("diagram")
    draw(out)
    return {env: (out / f"architecture-{env}.dot").read_text() for env in ENVIRONMENTS}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_nine_components_of_the_seed_are_drawn(dots: dict[str, str], env: str) -> None:
    drawn = labels(dots[env])
    for node_id, seed_name in SEED_COMPONENTS.items():
        assert drawn[node_id].split("\n")[0] == seed_name
    prefix = f"mensetsu-{env}"
    name = names(prefix)
    assert name["alb"] in drawn["alb"] and f"target group {name['target_group']}" in drawn["alb"]
    account = environment_setting(env, "expected_account_id") or "<account-id>"
    assert static_bucket(prefix, account) in drawn["s3_static"] and media_bucket(prefix, account) in drawn["s3_media"]
    assert f"PostgreSQL {name['db']}" in drawn["rds"] and f"Redis {name['redis']}" in drawn["elasticache"]
    assert f"mensetsu/{env}/db" in drawn["secrets"] and f"mensetsu/{env}/heygen-api-key" in drawn["secrets"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_security_group_rules_carry_their_ports_and_sources(dots: dict[str, str], env: str) -> None:
    admin_cidr = environment_setting(env, "admin_cidr")
    assert security_group_rules(dots[env]) == {
        ("users", "alb", "ALB SG: TCP 443 from 0.0.0.0/0"),
        ("alb", "ec2", "EC2 SG: TCP 8000 from ALB SG"),
        ("cidr_admin_cidr", "ec2", f"EC2 SG: TCP 22 from {admin_cidr}"),
        ("ec2", "rds", "RDS SG: TCP 5432 from EC2 SG"),
        ("ec2", "elasticache", "ElastiCache SG: TCP 6379 from EC2 SG"),
    }
    assert labels(dots[env])["cidr_admin_cidr"] == f"Administrator\n{admin_cidr}"


@pytest.mark.parametrize(
    ("env", "instance", "rds", "cache"),
    [
        ("dev", "1 x t3.medium, gp3 30 GB", "db.t4g.micro, 20 GB, single-AZ", "cache.t4g.micro, TLS"),
        ("prod", "1 x t3.large, gp3 50 GB", "db.t4g.small, 20 GB, single-AZ", "cache.t4g.small, TLS"),
    ],
)
def test_the_sizes_are_the_environments(dots: dict[str, str], env: str, instance: str, rds: str, cache: str) -> None:
    drawn = labels(dots[env])
    assert instance in drawn["ec2"]
    assert rds in drawn["rds"]
    assert cache in drawn["elasticache"]
    assert f"VPC {environment_setting(env, 'vpc_cidr')}" in dots[env]


def test_the_picture_follows_a_changed_setting(tmp_path: Path) -> None:
    inventories = tmp_path / "inventories"
    shutil.copytree(REPO / "inventories" / "dev", inventories / "staging", symlinks=False)
    overrides = {
        "env_name": "staging",
        "admin_cidr": "198.51.100.7/32",
        "vpc_cidr": "10.77.0.0/16",
        "app_instance_type": "t3.xlarge",
        "app_instance_count": 2,
        "app_root_volume_gb": 80,
        "db_instance_class": "db.m7g.large",
        "db_multi_az": True,
        "cache_node_type": "cache.m7g.large",
    }
    (inventories / "staging" / "group_vars" / "all" / "zz_test.yml").write_text(yaml.safe_dump(overrides))
    draw(tmp_path / "out", "--inventories", str(inventories), "--env", "staging")
    dot = (tmp_path / "out" / "architecture-staging.dot").read_text()
    drawn = labels(dot)
    assert "2 x t3.xlarge, gp3 80 GB" in drawn["ec2"]
    host = names("mensetsu-staging")["app_host"]
    assert f"{host}-1 .. {host}-2" in drawn["ec2"]
    assert "db.m7g.large, 20 GB, Multi-AZ" in drawn["rds"]
    assert "cache.m7g.large" in drawn["elasticache"]
    assert "public subnets 10.77.0.0/24, 10.77.1.0/24" in dot
    assert ("cidr_admin_cidr", "ec2", "EC2 SG: TCP 22 from 198.51.100.7/32") in security_group_rules(dot)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_committed_pictures_are_up_to_date(dots: dict[str, str], env: str) -> None:
    committed = REPO / "docs" / f"architecture-{env}.dot"
    assert committed.read_text() == dots[env], f"{committed} is stale: run `make diagram` and commit docs/"
    png = committed.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is missing or not a PNG: run `make diagram`"


def test_dot_renders_the_picture_with_its_labels(dots: dict[str, str], tmp_path: Path) -> None:
    dot_program = shutil.which("dot")
    if dot_program is None:
        pytest.skip("graphviz's `dot` is missing: `apt-get install graphviz` (make diagram installs it as root)")
    source = tmp_path / "architecture-prod.dot"
    source.write_text(dots["prod"])
    svg = subprocess.run([dot_program, "-Tsvg", str(source)], capture_output=True, text=True, check=True).stdout
    for text in ("Route 53", "Secrets Manager", "EC2 SG: TCP 22", "from 203.0.113.10/32", "RDS SG: TCP 5432"):
        assert text in svg
    png = tmp_path / "architecture-prod.png"
    subprocess.run([dot_program, "-Tpng", "-o", str(png), str(source)], check=True)
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert width > 1000 and height > 300


EDGE = re.compile(r'^(\w+) -> (\w+) \[label="((?:[^"\\]|\\.)*)"', re.MULTILINE)


def edges(dot: str) -> set[tuple[str, str, str]]:
    return {(source, target, label.replace("\\n", " ")) for source, target, label in EDGE.findall(dot)}


def test_session_manager_is_drawn_where_admin_access_includes_ssm(dots: dict[str, str]) -> None:
    """inventories/local: admin_access both (port 22 stays); dev and prod: ssh, no Session Manager."""
    local = labels(dots["local"])
    name = names("mensetsu-local")
    assert name["ssm_session_log_group"] in local["session_manager"]
    assert "transfers via mensetsu-local-ssm-transfer-123456789012" in local["session_manager"]
    assert ("session_manager", "ec2", "SSM agent") in edges(dots["local"])
    assert ("cidr_admin_cidr", "session_manager", "Session Manager (HTTPS, IAM)") in edges(dots["local"])
    for env in ("dev", "prod"):
        assert "session_manager" not in labels(dots[env])


def test_every_hardening_feature_is_drawn_from_its_setting(tmp_path: Path) -> None:
    inventories = tmp_path / "inventories"
    shutil.copytree(REPO / "inventories" / "dev", inventories / "dev", symlinks=False)
    overrides = {
        "admin_access": "ssm",
        "waf_enabled": True,
        "waf_rate_limit": 1000,
        "waf_alb_enabled": True,
        "log_bucket_expire_days": 30,
        "vpc_flow_logs_enabled": True,
        "vpc_flow_logs_retention_days": 14,
        "cloudtrail_enabled": True,
        "dashboard_enabled": True,
    }
    (inventories / "dev" / "group_vars" / "all" / "zz_test.yml").write_text(yaml.safe_dump(overrides))
    draw(tmp_path / "out", "--inventories", str(inventories), "--env", "dev")
    dot = (tmp_path / "out" / "architecture-dev.dot").read_text()
    drawn, arrows, name = labels(dot), edges(dot), names("mensetsu-dev")
    assert name["web_acl_cloudfront"] in drawn["waf_cloudfront"] and "1000 requests / 5 min" in drawn["waf_cloudfront"]
    assert ("waf_cloudfront", "cloudfront", "web ACL") in arrows and ("waf_alb", "alb", "web ACL") in arrows
    assert "mensetsu-dev-logs-<account-id>" in drawn["s3_logs"] and "expires after 30 days" in drawn["s3_logs"]
    for source, prefix in (("cloudfront", "cloudfront/"), ("alb", "alb/"), ("cloudtrail", "AWSLogs/")):
        assert any(a[:2] == (source, "s3_logs") and prefix in a[2] for a in arrows), source
    assert {a[0] for a in arrows if a[1] == "s3_logs"} == {"cloudfront", "alb", "s3_static", "s3_media", "cloudtrail"}
    assert name["trail"] in drawn["cloudtrail"] and "multi-region, log file validation" in drawn["cloudtrail"]
    assert name["flow_log_group"] in drawn["flow_logs"] and "kept 14 days" in drawn["flow_logs"]
    assert name["dashboard"] in drawn["dashboard"]
    assert "session_manager" in drawn
    # admin_access ssm: the SSH rule of table 4.4 is left out, the other rules stay.
    assert not any("TCP 22" in label for _, _, label in security_group_rules(dot))
    assert ("alb", "ec2", "EC2 SG: TCP 8000 from ALB SG") in security_group_rules(dot)


def test_a_feature_switched_off_is_not_drawn(tmp_path: Path) -> None:
    inventories = tmp_path / "inventories"
    shutil.copytree(REPO / "inventories" / "dev", inventories / "dev", symlinks=False)
    off = {"waf_enabled": False, "waf_alb_enabled": True, "cloudtrail_enabled": False, "dashboard_enabled": False}
    (inventories / "dev" / "group_vars" / "all" / "zz_test.yml").write_text(yaml.safe_dump(off))
    draw(tmp_path / "out", "--inventories", str(inventories), "--env", "dev")
    drawn = labels((tmp_path / "out" / "architecture-dev.dot").read_text())
    assert not {"waf_cloudfront", "waf_alb", "cloudtrail", "dashboard"} & set(drawn)
