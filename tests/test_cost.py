"""The monthly estimate (playbooks/cost.yml, plugins/filter/cost.py, data/prices.yml) and the price refresh.

The expected figures are computed by hand from data/prices.yml (730 h/month) in the comments.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.playbook import REPO, run_playbook

PRICES = yaml.safe_load((REPO / "data" / "prices.yml").read_text())
SEED = yaml.safe_load((REPO / "inventories" / "dev" / "group_vars" / "all" / "00_seed.yml").read_text())


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


cost = _load("cost_filter", REPO / "plugins" / "filter" / "cost.py")
refresh = _load("refresh_prices", REPO / "scripts" / "refresh_prices.py")

DEV = {
    "app_instance_type": "t3.medium",
    "app_instance_count": 1,
    "app_root_volume_gb": 30,
    "db_instance_class": "db.t4g.micro",
    "db_allocated_storage_gb": 20,
    "db_multi_az": False,
    "cache_node_type": "cache.t4g.micro",
    "cache_node_count": 1,
    "secret_count": 5,
    "hosted_zone_count": 1,
    "alarm_count": 12,
    # The hardening features at their defaults (docs/security.md).
    "waf_enabled": True,
    "waf_alb_enabled": False,
    "waf_log_retention_days": 90,
    "vpc_flow_logs_enabled": True,
    "vpc_flow_logs_retention_days": 90,
    "cloudtrail_enabled": True,
    "log_bucket_expire_days": 365,
    "db_log_exports": ["postgresql", "upgrade"],
    "db_log_retention_days": 90,
    "db_performance_insights": False,
    "dashboard_enabled": True,
    "session_logs_enabled": False,
    "ssm_session_log_retention_days": 90,
}
PROD = DEV | {
    "app_instance_type": "t3.large",
    "app_root_volume_gb": 50,
    "db_instance_class": "db.t4g.small",
    "cache_node_type": "cache.t4g.small",
    "db_performance_insights": True,
}
DEV_ASSUMPTIONS = {
    "alb_lcu": 0.2,
    "s3_storage_gb": 10,
    "s3_put_requests": 10000,
    "s3_get_requests": 100000,
    "cloudfront_gb_out": 10,
    "cloudfront_requests": 1000000,
    "api_gb_out": 5,
    "secrets_api_calls": 20000,
    "api_requests": 200000,
    "waf_logs_gb": 1.5,
    "flow_logs_gb": 0.5,
    "db_logs_gb": 0.2,
    "session_logs_gb": 0.05,
    "log_bucket_gb": 2,
    "account_other_dashboards": 0,
    "cloudtrail_first_trail": True,
    "cloudtrail_management_events": 100000,
}
PROD_ASSUMPTIONS = {
    "alb_lcu": 1.0,
    "s3_storage_gb": 200,
    "s3_put_requests": 200000,
    "s3_get_requests": 2000000,
    "cloudfront_gb_out": 150,
    "cloudfront_requests": 3000000,
    "api_gb_out": 50,
    "secrets_api_calls": 50000,
    "api_requests": 2000000,
    "waf_logs_gb": 4.5,
    "flow_logs_gb": 3,
    "db_logs_gb": 1,
    "session_logs_gb": 0.2,
    "log_bucket_gb": 15,
    "account_other_dashboards": 0,
    "cloudtrail_first_trail": True,
    "cloudtrail_management_events": 300000,
}


def flat(text: str) -> str:
    """The output with runs of whitespace made one space (the YAML callback wraps long lines)."""
    return " ".join(text.split())


def estimate(region: str, settings: dict, assumptions: dict, column: str) -> dict:
    return cost.cost_estimate(region, PRICES, settings, assumptions, SEED["seed_budget_usd"][column])


def by_service(result: dict) -> dict[str, float]:
    return {row["service"]: row["estimate"] for row in result["rows"]}


def test_dev_in_us_east_1_matches_the_hand_computed_figures():
    result = by_service(estimate("us-east-1", DEV, DEV_ASSUMPTIONS, "dev"))
    assert result == {
        "ec2": 36.42,  # 730*0.0416 + 30*0.08 + 730*0.005 = 30.368 + 2.4 + 3.65
        "rds": 13.98,  # 730*0.016 + 20*0.115
        "s3": 0.32,  # 10*0.023 + 10*0.005 + 100*0.0004
        "cloudfront": 1.85,  # 10*0.085 + 100*0.01
        "alb": 24.89,  # 730*0.0225 + 0.2*730*0.008 + 2*730*0.005 = 16.425 + 1.168 + 7.3
        "elasticache": 11.68,  # 730*0.016
        "secrets": 2.10,  # 5*0.40 + 2*0.05
        "route53": 0.50,
        "cloudwatch": 1.20,  # 12*0.10
        "egress": 0.45,  # 5*0.09
        "waf": 9.60,  # one web ACL 5 + 4 rules 4 + 1 M requests 0.60
        "logs": 1.56,  # WAF 1.5*0.50 + 4.5*0.03; RDS 0.2*0.50 + 0.6*0.03; bucket 24.33*0.023 = 0.885+0.118+0.56
        "flow_logs": 0.29,  # 0.5*0.50 + 1.5*0.03
        "dashboard": 0.0,  # one dashboard: within the 3 free
        "insights": 0.0,  # off in dev (and free with 7 days)
        "cloudtrail": 0.0,  # the first trail's management events
    }


def test_dev_in_tokyo_matches_the_hand_computed_figures():
    result = estimate("ap-northeast-1", DEV, DEV_ASSUMPTIONS, "dev")
    services = by_service(result)
    assert services["ec2"] == 46.24  # 730*0.0544 + 30*0.096 + 3.65 = 39.712 + 2.88 + 3.65
    assert services["rds"] == 21.01  # 730*0.025 + 20*0.138 = 18.25 + 2.76
    assert services["elasticache"] == 17.52  # 730*0.024
    assert services["alb"] == 26.21  # 730*0.0243 + 1.168 + 7.3 = 17.739 + 8.468
    assert services["waf"] == 9.60  # WAF costs the same in every region
    assert services["logs"] == 2.07  # 1.5*0.76 + 4.5*0.033 + 0.2*0.76 + 0.6*0.033 + 24.33*0.025
    assert services["flow_logs"] == 0.43  # 0.5*0.76 + 1.5*0.033
    assert result["total"] == 130.12  # 118.02 before the hardening features


def test_prod_totals_in_both_regions_and_against_the_seed():
    east = estimate("us-east-1", PROD, PROD_ASSUMPTIONS, "prod")
    tokyo = estimate("ap-northeast-1", PROD, PROD_ASSUMPTIONS, "prod")
    services = by_service(east)
    assert services["ec2"] == 68.39  # 730*0.0832 + 50*0.08 + 3.65 = 60.736 + 4 + 3.65
    assert services["rds"] == 25.66  # 730*0.032 + 2.3
    assert services["cloudfront"] == 15.75  # 150*0.085 + 300*0.01
    assert services["alb"] == 29.57  # 16.425 + 730*0.008 + 7.3
    assert services["waf"] == 10.80  # 5 + 4 + 3 M requests * 0.60
    assert services["insights"] == 0.0  # on in prod, 7 days: the free tier
    assert east["total"] == 197.59  # 177.58 before the hardening features: over the seed's 180 even here
    assert tokyo["total"] == 253.48
    seed_rows = {row["service"]: row for row in east["rows"] if row["in_seed_table"]}
    assert seed_rows["ec2"]["budget"] == 60
    assert seed_rows["ec2"]["difference"] == pytest.approx(8.39)


def test_each_hardening_feature_is_its_own_priced_line_with_its_source():
    base = by_service(estimate("us-east-1", DEV, DEV_ASSUMPTIONS, "dev"))
    result = estimate("us-east-1", DEV, DEV_ASSUMPTIONS, "dev")
    lines = {row["service"]: row["lines"] for row in result["rows"]}
    for service in cost.HARDENING_SERVICES:
        assert lines[service], service
        assert all(line["source"] in PRICES["prices_sources"] for line in lines[service]), lines[service]
    assert [line["source"] for line in lines["waf"]] == ["waf"] * 6

    def with_(settings: dict | None = None, assumptions: dict | None = None) -> dict[str, float]:
        return by_service(estimate("us-east-1", DEV | (settings or {}), DEV_ASSUMPTIONS | (assumptions or {}), "dev"))

    assert with_({"waf_enabled": False})["waf"] == 0.0
    assert with_({"waf_alb_enabled": True})["waf"] == 18.72  # 9.60 + 5 + 4 + 0.2 M * 0.60
    assert with_({"vpc_flow_logs_enabled": False})["flow_logs"] == 0.0
    assert with_({"vpc_flow_logs_retention_days": 30})["flow_logs"] == 0.27  # 0.25 + 0.5*0.03
    # Session Manager logs only with admin_access ssm or both: 0.05*0.50 + 0.15*0.03
    assert with_({"session_logs_enabled": True})["logs"] == pytest.approx(base["logs"] + 0.03, abs=0.011)
    assert with_({"db_log_exports": []})["logs"] == pytest.approx(base["logs"] - 0.12, abs=0.011)
    # A fourth dashboard in the account is billed; a second trail's management events are too.
    assert with_(assumptions={"account_other_dashboards": 3})["dashboard"] == 3.0
    assert with_({"dashboard_enabled": False}, {"account_other_dashboards": 3})["dashboard"] == 0.0
    assert with_(assumptions={"cloudtrail_first_trail": False})["cloudtrail"] == 2.0  # 100k events * 2/100k
    assert with_({"cloudtrail_enabled": False}, {"cloudtrail_first_trail": False})["cloudtrail"] == 0.0
    assert with_({"db_performance_insights": True})["insights"] == 0.0


def test_the_shipped_prices_have_a_row_for_every_hardening_line_in_both_regions():
    for region in PRICES["prices_regions"]:
        result = estimate(
            region, PROD | {"waf_alb_enabled": True, "session_logs_enabled": True}, PROD_ASSUMPTIONS, "prod"
        )
        assert {row["service"] for row in result["rows"]} >= set(cost.HARDENING_SERVICES)


def test_multi_az_doubles_the_database():
    single = by_service(estimate("us-east-1", DEV, DEV_ASSUMPTIONS, "dev"))["rds"]
    double = by_service(estimate("us-east-1", DEV | {"db_multi_az": True}, DEV_ASSUMPTIONS, "dev"))["rds"]
    assert double == pytest.approx(2 * single, abs=0.01)


def test_a_setting_without_a_price_names_the_missing_row():
    with pytest.raises(Exception, match=r"no price for ec2.instance t3.nano in us-east-1"):
        estimate("us-east-1", DEV | {"app_instance_type": "t3.nano"}, DEV_ASSUMPTIONS, "dev")


def test_every_price_row_has_a_source_a_date_and_both_regions():
    sources = PRICES["prices_sources"]
    rows = PRICES["prices"]
    for row in rows:
        assert row["source"] in sources, row
        assert row["date"] and row["method"] in ("transcribed", "price_list_api"), row
        assert row["usd"] >= 0, row
    per_region = {
        region: {(r["item"], r["key"]) for r in rows if r["region"] == region} for region in PRICES["prices_regions"]
    }
    assert per_region["us-east-1"] == per_region["ap-northeast-1"]
    seed_types = {SEED["seed_ec2"][env]["instance_type"] for env in ("dev", "prod")}
    known = {key for item, key in per_region["us-east-1"] if item == "ec2.instance"}
    assert set(SEED["known_instance_types"]) | seed_types <= known
    assert set(SEED["known_db_instance_classes"]) <= {k for i, k in per_region["us-east-1"] if i == "rds.instance"}
    assert set(SEED["known_cache_node_types"]) <= {k for i, k in per_region["us-east-1"] if i == "elasticache.node"}


# --- the playbook -------------------------------------------------------------------------------


SEED_BUDGET = {"budget_reason": ""}  # with the seed's own figure as the budget, no reason is asked


def test_cost_playbook_prints_the_table_and_refuses_tokyo_dev_over_the_seeds_budget(aws):
    # inventories/dev/hosts.yml: the environment's settings without the EC2 dynamic inventory
    # (aws_ec2.yml), which would ask EC2 for the app hosts: the playbook itself must ask nothing.
    with aws.recording_requests() as requests:
        run = run_playbook(
            "playbooks/cost.yml",
            inventory="inventories/dev/hosts.yml",
            extra_vars={"budget_monthly_usd": 90, **SEED_BUDGET},
        )
    assert requests == [], [str(request) for request in requests]
    assert run.returncode != 0, run
    assert "Service                ap-northeast-1 (chosen)    budget  over(+)/under(-)         us-east-1" in run.output
    assert "EC2                                      46.24     30.00            +16.24             36.42" in run.output
    assert "WAF *                                     9.60         -             +9.60              9.60" in run.output
    assert "Total                                   130.12     90.00            +40.12            104.84" in run.output
    assert flat("alb_lcu = 0.2") in flat(run.output)
    assert flat("waf_logs_gb = 1.5") in flat(run.output)
    assert flat("The ap-northeast-1 estimate of mensetsu-dev is 130.12 USD/month, 40.12 over its budget") in flat(
        run.output
    )
    assert flat("us-east-1: 104.84 USD") in flat(run.output)


@pytest.mark.parametrize(("env", "total", "budget", "seed"), [("dev", 130.12, 140, 90), ("prod", 253.48, 270, 180)])
def test_the_shipped_inventories_fit_their_own_budget_which_states_the_seeds_figure(env, total, budget, seed):
    """make cost ENV=dev and ENV=prod exit 0 out of the box, in the region each ships with (Tokyo);
    the budget prints the seed's figure beside it and why it differs."""
    run = run_playbook("playbooks/cost.yml", inventory=f"inventories/{env}/hosts.yml")
    assert run.returncode == 0, run
    spare = round(budget - total, 2)
    assert flat(
        f"The ap-northeast-1 estimate of mensetsu-{env}, {total} USD/month, fits its budget of {float(budget)} USD"
        f" ({spare} to spare)"
    ) in flat(run.output)
    assert flat(
        f"budget: budget_monthly_usd = {float(budget)} USD; the seed's table 4.5 ({env}) says {seed}: "
    ) in flat(run.output.replace("''", "'"))
    assert flat(f"The seed's {seed} USD predates AWS's charge for public IPv4 addresses") in flat(
        run.output.replace("''", "'")
    )


def test_cost_playbook_runs_with_no_account_and_only_warns_when_told(tmp_path: Path):
    # The documented command, with no credentials and no reachable AWS endpoint.
    offline = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    offline |= {"AWS_PROFILE": "", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_CONFIG_FILE": "/dev/null"}
    run = run_playbook(
        "playbooks/cost.yml",
        inventory="inventories/prod",
        extra_vars={
            "cost_warn_only": True,
            "cost_summary_file": str(tmp_path / "cost.json"),
            "budget_monthly_usd": 180,
            **SEED_BUDGET,
        },
        env=offline,
    )
    assert run.returncode == 0, run
    assert flat("WARNING: The ap-northeast-1 estimate of mensetsu-prod is 253.48 USD/month, 73.48 over") in flat(
        run.output
    )
    assert json.loads((tmp_path / "cost.json").read_text()) == {
        "environment": "mensetsu-prod",
        "region": "ap-northeast-1",
        "total_usd": 253.48,
        "budget_usd": 180.0,
        "over_budget": True,
        "other_regions_usd": {"us-east-1": 197.59},
        "prices_version": PRICES["prices_version"],
    }


def test_cost_playbook_passes_prod_in_us_east_1_and_takes_assumption_overrides(aws):
    prod = "inventories/prod/hosts.yml"
    run = run_playbook("playbooks/cost.yml", inventory=prod, extra_vars={"aws_region": "us-east-1"})
    assert run.returncode == 0, run
    assert flat(
        "The us-east-1 estimate of mensetsu-prod, 197.59 USD/month, fits its budget of 270.0 USD (72.41 to spare)"
    ) in flat(run.output)
    more = run_playbook(
        "playbooks/cost.yml",
        inventory=prod,
        extra_vars={"aws_region": "us-east-1", "cost_assumptions": {"cloudfront_gb_out": 1200}},
    )
    # 1,050 GB more at 0.085 = +89.25: over budget now.
    assert more.returncode != 0, more
    assert flat("is 286.84 USD/month, 16.84 over its budget of 270.0 USD") in flat(more.output)


# --- scripts/refresh_prices.py on a hand-made GetProducts sample ------------------------------


def _product(sku: str, attributes: dict, dimensions: list[tuple[str, str, str]]) -> str:
    """A PriceList entry shaped like GetProducts returns it (a JSON string), written by hand."""
    price_dimensions = {
        f"{sku}.TERM.{index}": {"beginRange": begin, "endRange": end, "pricePerUnit": {"USD": usd}, "unit": "Hrs"}
        for index, (begin, end, usd) in enumerate(dimensions)
    }
    return json.dumps(
        {
            "product": {"sku": sku, "attributes": attributes},
            "terms": {"OnDemand": {f"{sku}.TERM": {"priceDimensions": price_dimensions}}},
        }
    )


SAMPLE = {
    ("AmazonEC2", "t3.medium"): [
        _product(
            "EC2T3M",
            {"instanceType": "t3.medium", "usagetype": "APN1-BoxUsage:t3.medium"},
            [("0", "Inf", "0.0560000000")],
        )
    ],
    ("AWSELB", None): [
        _product("ALBH", {"usagetype": "APN1-LoadBalancerUsage"}, [("0", "Inf", "0.0250000000")]),
        _product("ALBL", {"usagetype": "APN1-LCUUsage"}, [("0", "Inf", "0.0080000000")]),
    ],
    ("AmazonS3", "S3-API-Tier1"): [_product("S3PUT", {"group": "S3-API-Tier1"}, [("0", "Inf", "0.0000047000")])],
    ("AWSDataTransfer", None): [
        _product(
            "DTO",
            {"usagetype": "APN1-DataTransfer-Out-Bytes"},
            [("10240", "51200", "0.0890000000"), ("0", "1", "0.0000000000"), ("1", "10240", "0.1140000000")],
        )
    ],
}


def sample_fetch(service_code: str, filters: dict[str, str]) -> list[str]:
    for (code, discriminator), products in SAMPLE.items():
        if code == service_code and (discriminator is None or discriminator in filters.values()):
            return products
    return []


def test_refresh_parses_prices_tiers_and_units_from_a_sample_response():
    rows = [
        r
        for r in PRICES["prices"]
        if r["region"] == "ap-northeast-1"
        and (r["item"], r["key"])
        in {
            ("ec2.instance", "t3.medium"),
            ("alb.hour", "application"),
            ("alb.lcu", "application"),
            ("s3.put_requests", "tier1"),
            ("egress.internet", "first-10TB"),
            ("route53.hosted_zone", "first-25"),
        }
    ]
    new_rows, problems = refresh.refresh_rows(rows, sample_fetch, "2030-01-02")
    got = {row["item"]: row for row in new_rows}
    assert got["ec2.instance"]["usd"] == 0.056
    assert got["ec2.instance"]["method"] == "price_list_api" and got["ec2.instance"]["date"] == "2030-01-02"
    assert got["alb.hour"]["usd"] == 0.025  # picked by usagetype among the two ALB products
    assert got["alb.lcu"]["usd"] == 0.008
    assert got["s3.put_requests"]["usd"] == 0.0047  # per request in the API, per 1,000 in the file
    assert got["egress.internet"]["usd"] == 0.114  # the first paid tier, not the free first GB
    assert got["route53.hosted_zone"] == next(r for r in rows if r["item"] == "route53.hosted_zone")  # kept
    assert problems == [
        "ap-northeast-1 route53.hosted_zone first-25: "
        "0 products match AmazonRoute53 {'usagetype': 'HostedZone'} (row kept)"
    ]


def test_refresh_writes_a_file_that_lints_and_loads(tmp_path: Path):
    text = (REPO / "data" / "prices.yml").read_text()
    new_rows, _ = refresh.refresh_rows(PRICES["prices"], sample_fetch, "2030-01-02")
    output = refresh.render_file(text, new_rows, "2030-01-02")
    target = tmp_path / "prices.yml"
    target.write_text(output)
    loaded = yaml.safe_load(output)
    assert loaded["prices_version"] == "2030-01-02.1"
    assert loaded["prices_sources"] == PRICES["prices_sources"]
    assert len(loaded["prices"]) == len(PRICES["prices"])
    lint = subprocess.run(
        [str(Path(sys.executable).with_name("yamllint")), "--strict", "-c", str(REPO / ".yamllint"), str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout


def test_refresh_fails_clearly_when_the_price_list_api_is_unreachable(tmp_path: Path, monkeypatch):
    target = tmp_path / "prices.yml"
    target.write_text((REPO / "data" / "prices.yml").read_text())
    before = target.read_text()
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing listens on the discard port
        "AWS_MAX_ATTEMPTS": "1",
    }
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "refresh_prices.py"), "--file", str(target)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "cannot reach the AWS Price List API (pricing, us-east-1)" in done.stderr
    assert "was left unchanged" in done.stderr
    assert target.read_text() == before
