#!/usr/bin/env python3
"""Refresh data/prices.yml from the AWS Price List API (the `pricing` client, us-east-1 endpoint).

    .venv/bin/python scripts/refresh_prices.py [--dry-run] [--file data/prices.yml]

Needs AWS credentials allowed `pricing:GetProducts`. Every row of the file is looked up again
(same region, item and key); a row whose query matches no product, or several, is kept as it was
and listed. Refreshed rows get today's date and `method: price_list_api`; the file's
prices_version is bumped. When the API cannot be reached, the script says so and exits 2 without
touching the file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
PRICE_FILE = REPO / "data" / "prices.yml"
MAX_LINE = 160

# CloudFront bills by the viewer's edge location; the file keeps one edge per stack region.
CLOUDFRONT_EDGE = {"us-east-1": "United States", "ap-northeast-1": "Japan"}


@dataclass(frozen=True)
class Query:
    """How one row of the file is found in the Price List API."""

    service_code: str
    filters: dict[str, str]
    usagetype_suffix: str = ""  # kept when several products match: the one whose usagetype ends so
    per: float = 1.0  # the file's unit in API units (S3 requests are priced per 1,000 in the file)


def query_for(item: str, key: str, region: str) -> Query:
    """The Price List API query of one row (attribute names of the AWS offer files)."""
    at = {"regionCode": region}
    queries: dict[str, Callable[[], Query]] = {
        "ec2.instance": lambda: Query(
            "AmazonEC2",
            at
            | {
                "instanceType": key,
                "operatingSystem": "Linux",
                "tenancy": "Shared",
                "preInstalledSw": "NA",
                "capacitystatus": "Used",
                "licenseModel": "No License required",
            },
        ),
        "ec2.ebs_gp3": lambda: Query("AmazonEC2", at | {"productFamily": "Storage", "volumeApiName": "gp3"}),
        "ec2.public_ipv4": lambda: Query("AmazonVPC", at, usagetype_suffix="PublicIPv4:InUseAddress"),
        "rds.instance": lambda: Query(
            "AmazonRDS",
            at | {"instanceType": key, "databaseEngine": "PostgreSQL", "deploymentOption": "Single-AZ"},
        ),
        "rds.storage_gp3": lambda: Query(
            "AmazonRDS",
            at
            | {
                "productFamily": "Database Storage",
                "volumeType": "General Purpose-GP3",
                "databaseEngine": "PostgreSQL",
                "deploymentOption": "Single-AZ",
            },
        ),
        "elasticache.node": lambda: Query("AmazonElastiCache", at | {"instanceType": key, "cacheEngine": "Redis"}),
        "alb.hour": lambda: Query(
            "AWSELB", at | {"productFamily": "Load Balancer-Application"}, usagetype_suffix="LoadBalancerUsage"
        ),
        "alb.lcu": lambda: Query(
            "AWSELB", at | {"productFamily": "Load Balancer-Application"}, usagetype_suffix="LCUUsage"
        ),
        "s3.storage_standard": lambda: Query(
            "AmazonS3", at | {"volumeType": "Standard", "storageClass": "General Purpose"}
        ),
        "s3.put_requests": lambda: Query("AmazonS3", at | {"group": "S3-API-Tier1"}, per=1000),
        "s3.get_requests": lambda: Query("AmazonS3", at | {"group": "S3-API-Tier2"}, per=1000),
        "cloudfront.data_out": lambda: Query(
            "AmazonCloudFront", {"fromLocation": CLOUDFRONT_EDGE[region], "transferType": "CloudFront Outbound"}
        ),
        "cloudfront.requests": lambda: Query(
            "AmazonCloudFront",
            {"location": CLOUDFRONT_EDGE[region]},
            usagetype_suffix="Requests-Tier2-HTTPS",
            per=10000,
        ),
        "egress.internet": lambda: Query(
            "AWSDataTransfer", {"fromRegionCode": region, "toLocation": "External", "transferType": "AWS Outbound"}
        ),
        "secrets.secret": lambda: Query("AWSSecretsManager", at, usagetype_suffix="AWSSecretsManager-Secrets"),
        "secrets.api_calls": lambda: Query(
            "AWSSecretsManager", at, usagetype_suffix="AWSSecretsManager-APIRequest", per=10000
        ),
        "route53.hosted_zone": lambda: Query("AmazonRoute53", {"usagetype": "HostedZone"}),
        "cloudwatch.alarm": lambda: Query("AmazonCloudWatch", at, usagetype_suffix="CW:AlarmMonitorUsage"),
    }
    if item not in queries:
        raise KeyError(f"no Price List API query known for {item}")
    return queries[item]()


def on_demand_usd(product: dict[str, Any]) -> float:
    """The on-demand USD price of a product: the first tier that is not free (tiers sorted by beginRange)."""
    terms = product.get("terms", {}).get("OnDemand", {})
    dimensions = [dim for term in terms.values() for dim in term.get("priceDimensions", {}).values()]
    if not dimensions:
        raise ValueError(f"product {product.get('product', {}).get('sku', '?')} has no on-demand price")
    dimensions.sort(key=lambda dim: float(dim.get("beginRange", "0")))
    prices = [float(dim["pricePerUnit"]["USD"]) for dim in dimensions]
    paid = [price for price in prices if price > 0]
    return paid[0] if paid else prices[0]


def pick_product(products: list[dict[str, Any]], query: Query) -> dict[str, Any]:
    """The one product the query means; ValueError when none or several match."""
    if query.usagetype_suffix:
        products = [
            product
            for product in products
            if product.get("product", {}).get("attributes", {}).get("usagetype", "").endswith(query.usagetype_suffix)
        ]
    if len(products) != 1:
        raise ValueError(f"{len(products)} products match {query.service_code} {query.filters}")
    return products[0]


Fetch = Callable[[str, dict[str, str]], list[str]]


def refresh_rows(rows: list[dict[str, Any]], fetch: Fetch, today: str) -> tuple[list[dict[str, Any]], list[str]]:
    """New rows (refreshed where the API answered with exactly one product) and the problems met."""
    refreshed, problems = [], []
    for row in rows:
        try:
            query = query_for(row["item"], str(row["key"]), row["region"])
            product = pick_product([json.loads(text) for text in fetch(query.service_code, query.filters)], query)
            usd = round(on_demand_usd(product) * query.per, 6)
        except (KeyError, ValueError) as error:
            problems.append(f"{row['region']} {row['item']} {row['key']}: {error} (row kept)")
            refreshed.append(row)
            continue
        refreshed.append(row | {"usd": usd, "date": today, "method": "price_list_api"})
    return refreshed, problems


def render_row(row: dict[str, Any]) -> str:
    """One row as a flow mapping, like the hand-written file (wrapped before `date` when too long)."""
    fields = [f"{name}: {json.dumps(value) if name == 'date' else value}" for name, value in row.items()]
    line = "  - {" + ", ".join(fields) + "}"
    if len(line) <= MAX_LINE:
        return line
    cut = next(index for index, field in enumerate(fields) if field.startswith("date:"))
    return "  - {" + ", ".join(fields[:cut]) + ",\n     " + ", ".join(fields[cut:]) + "}"


def next_version(current: str, today: str) -> str:
    day, _, serial = str(current).partition(".")
    return f"{today}.{int(serial or 0) + 1}" if day == today else f"{today}.1"


def render_file(text: str, rows: list[dict[str, Any]], today: str) -> str:
    """The price file with its header kept, its version bumped and its rows replaced."""
    header, marker, _ = text.partition("\nprices:\n")
    if not marker:
        raise ValueError("the price file has no `prices:` list")
    current = yaml.safe_load(text).get("prices_version", "")
    lines = [
        f'prices_version: "{next_version(current, today)}"' if line.startswith("prices_version:") else line
        for line in header.splitlines()
    ]
    return "\n".join(lines) + marker + "\n".join(render_row(row) for row in rows) + "\n"


def pricing_fetch() -> Fetch:
    """GetProducts through boto3 (us-east-1 endpoint), all pages."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "pricing",
        region_name="us-east-1",
        config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2}),
    )

    def fetch(service_code: str, filters: dict[str, str]) -> list[str]:
        terms = [{"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in filters.items()]
        pages = client.get_paginator("get_products").paginate(ServiceCode=service_code, Filters=terms)
        return [text for page in pages for text in page["PriceList"]]

    return fetch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, default=PRICE_FILE, help="the price file (default: data/prices.yml)")
    parser.add_argument("--dry-run", action="store_true", help="print the new file instead of writing it")
    args = parser.parse_args(argv)

    from botocore.exceptions import BotoCoreError, ClientError

    text = args.file.read_text()
    rows = yaml.safe_load(text)["prices"]
    today = dt.date.today().isoformat()
    fetch = pricing_fetch()
    try:
        fetch("AmazonEC2", {"regionCode": "us-east-1", "instanceType": "t3.micro"})
    except (BotoCoreError, ClientError) as error:
        print(
            f"refresh_prices: cannot reach the AWS Price List API (pricing, us-east-1): {error}\n"
            f"refresh_prices: {args.file} was left unchanged; its rows keep their dates and sources.",
            file=sys.stderr,
        )
        return 2
    new_rows, problems = refresh_rows(rows, fetch, today)
    for problem in problems:
        print(f"refresh_prices: {problem}", file=sys.stderr)
    output = render_file(text, new_rows, today)
    if args.dry_run:
        print(output, end="")
    else:
        args.file.write_text(output)
        changed = sum(1 for old, new in zip(rows, new_rows, strict=True) if old["usd"] != new["usd"])
        print(
            f"refresh_prices: {len(rows) - len(problems)} rows refreshed ({changed} prices changed),"
            f" {len(problems)} kept"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
