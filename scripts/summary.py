#!/usr/bin/env python3
"""Print what an environment really has, read back from the AWS API (or the emulator).

    scripts/summary.py -i inventories/local      # after make demo
    scripts/summary.py -i inventories/prod       # with the production account's credentials

Every figure comes from a describe/get/list call, never from the playbook's own variables,
so the summary shows what exists, not what was asked for. It prints no secret value: an API
key secret is only compared with the placeholder and flagged when it still holds it.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import jinja2
from botocore.exceptions import BotoCoreError, ClientError

REPO = Path(__file__).resolve().parents[1]
PLACEHOLDER_VARIABLE = "api_key_placeholder"


def inventory_settings(inventory: str) -> dict:
    """The environment's literal settings, as the inventory defines them."""
    command = [str(Path(sys.executable).with_name("ansible-inventory")), "-i", inventory, "--host", "localhost"]
    output = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout
    return json.loads(output)


def tag(resource_tags: list[dict] | None, key: str) -> str:
    return next((item["Value"] for item in resource_tags or [] if item["Key"] == key), "")


class Reader:
    def __init__(self, settings: dict):
        self.project = settings["project_name"]
        self.env = settings["env_name"]
        self.region = settings["aws_region"]
        self.prefix = f"{self.project}-{self.env}"
        self.placeholder = settings.get(PLACEHOLDER_VARIABLE, "")
        self.settings = settings
        self.problems: list[str] = []

    def render(self, template: str) -> str:
        """A name template of the inventory (group_vars/all/naming.yml, or the operator's own name)
        for the account the credentials belong to, as a run names it."""
        context = {**self.settings, "name_prefix": self.prefix, "aws_account_id": self.account_id}
        return jinja2.Environment().from_string(str(template)).render(context)

    def bucket_name(self, variable: str) -> str:
        return self.render(self.settings[variable])

    def name(self, key: str) -> str:
        """The resource's name in the naming map (aws_names)."""
        return self.render(self.settings["aws_names"][key])

    @functools.cached_property
    def account_id(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]

    def client(self, service: str, region: str | None = None):
        return boto3.client(service, region_name=region or self.region)

    def project_filter(self) -> list[dict]:
        return [
            {"Name": "tag:Project", "Values": [self.project]},
            {"Name": "tag:Environment", "Values": [self.env]},
        ]

    def security_groups(self) -> list[tuple[str, str, str]]:
        ec2 = self.client("ec2")
        groups = ec2.describe_security_groups(Filters=self.project_filter())["SecurityGroups"]
        names = {group["GroupId"]: group["GroupName"] for group in groups}
        rows = []
        for group in sorted(
            groups,
            key=lambda g: (
                ["alb", "app", "db", "cache"].index(tag(g.get("Tags"), "Role"))
                if tag(g.get("Tags"), "Role") in ("alb", "app", "db", "cache")
                else 9
            ),
        ):
            for permission in group["IpPermissions"]:
                port = str(permission.get("FromPort", "all"))
                sources = [r["CidrIp"] for r in permission.get("IpRanges", [])]
                sources += [r["CidrIpv6"] for r in permission.get("Ipv6Ranges", [])]
                sources += [names.get(p["GroupId"], p["GroupId"]) for p in permission.get("UserIdGroupPairs", [])]
                rows.append((group["GroupName"], port, ", ".join(sources)))
        return rows

    def components(self) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        rows.append(("Route 53", self._route53()))
        rows.append(("CloudFront", self._cloudfront()))
        rows.append(("ALB", self._alb()))
        rows.append(("EC2", self._ec2()))
        rows.append(("S3 (static)", self._bucket(self.bucket_name("static_bucket_name"))))
        rows.append(("S3 (media)", self._bucket(self.bucket_name("media_bucket_name"))))
        rows.append(("RDS", self._rds()))
        rows.append(("ElastiCache", self._redis()))
        rows.append(("Secrets Manager", self._secrets()))
        return rows

    def _route53(self) -> str:
        route53 = self.client("route53", "us-east-1")
        domain = None
        for zone in route53.list_hosted_zones()["HostedZones"]:
            records = route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
            aliases = [r["Name"].rstrip(".") for r in records if "AliasTarget" in r]
            if any(name.startswith("api.") for name in aliases) or zone["Name"].rstrip(".").endswith(self.env):
                domain = f"zone {zone['Name'].rstrip('.')} ({zone['Id'].split('/')[-1]}); aliases: {', '.join(aliases)}"
        return domain or self._missing("Route 53 zone")

    def _cloudfront(self) -> str:
        cloudfront = self.client("cloudfront", "us-east-1")
        for item in cloudfront.list_distributions().get("DistributionList", {}).get("Items", []):
            if item.get("Comment") == self.name("distribution_comment"):
                aliases = ", ".join(item.get("Aliases", {}).get("Items", []))
                certificate = item.get("ViewerCertificate", {})
                tls = certificate.get("MinimumProtocolVersion", "")
                return f"{item['Id']} {item['DomainName']} ({item['Status']}); aliases {aliases}; {tls}"
        return self._missing("CloudFront distribution")

    def _alb(self) -> str:
        elb = self.client("elbv2")
        try:
            balancer = elb.describe_load_balancers(Names=[self.name("alb")])["LoadBalancers"][0]
        except ClientError:
            return self._missing("ALB")
        listeners = elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
        ports = ", ".join(
            f"{item['Protocol']}:{item['Port']} {item.get('SslPolicy', '')}".strip() for item in listeners
        )
        groups = elb.describe_target_groups(Names=[self.name("target_group")])["TargetGroups"]
        health = groups[0].get("HealthCheckPath", "") if groups else ""
        return f"{balancer['DNSName']}; listeners {ports}; target group :{groups[0]['Port']} health {health}"

    def _ec2(self) -> str:
        ec2 = self.client("ec2")
        filters = [*self.project_filter(), {"Name": "instance-state-name", "Values": ["pending", "running"]}]
        instances = [i for r in ec2.describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]]
        if not instances:
            return self._missing("EC2 instances")
        volume_ids = [m["Ebs"]["VolumeId"] for i in instances for m in i.get("BlockDeviceMappings", [])]
        volumes = (
            {v["VolumeId"]: v for v in ec2.describe_volumes(VolumeIds=volume_ids)["Volumes"]} if volume_ids else {}
        )
        parts = []
        for instance in instances:
            root = [volumes.get(m["Ebs"]["VolumeId"], {}) for m in instance.get("BlockDeviceMappings", [])]
            disk = ", ".join(
                f"{v.get('VolumeType')} {v.get('Size')} GB{' encrypted' if v.get('Encrypted') else ''}" for v in root
            )
            imds = instance.get("MetadataOptions", {}).get("HttpTokens", "?")
            parts.append(
                f"{instance['InstanceId']} {instance['InstanceType']} {instance.get('PublicIpAddress', 'no public ip')}"
                f" ({disk}; IMDS tokens {imds})"
            )
        return "; ".join(parts)

    def _bucket(self, name: str) -> str:
        s3 = self.client("s3")
        try:
            block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        except ClientError as error:
            return self._missing(f"bucket {name} ({error.response['Error']['Code']})")
        encryption = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
        algorithm = encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
        versioning = s3.get_bucket_versioning(Bucket=name).get("Status", "off")
        private = "private" if all(block.values()) else "NOT fully private"
        return f"{name}: {private}, {algorithm}, versioning {versioning.lower()}"

    def _rds(self) -> str:
        rds = self.client("rds")
        try:
            db = rds.describe_db_instances(DBInstanceIdentifier=self.name("db"))["DBInstances"][0]
        except ClientError:
            return self._missing("RDS instance")
        endpoint = db.get("Endpoint", {})
        flags = [
            "encrypted" if db.get("StorageEncrypted") else "NOT encrypted",
            "private" if not db.get("PubliclyAccessible") else "PUBLIC",
            f"backups {db.get('BackupRetentionPeriod')} d",
        ]
        if db.get("DeletionProtection"):
            flags.append("deletion protection")
        return (
            f"{db['DBInstanceIdentifier']} {db['Engine']} {db.get('EngineVersion', '')} {db['DBInstanceClass']}"
            f" {db.get('StorageType')} {db.get('AllocatedStorage')} GB"
            f" at {endpoint.get('Address')}:{endpoint.get('Port')}"
            f" ({', '.join(flags)})"
        )

    def _redis(self) -> str:
        elasticache = self.client("elasticache")
        try:
            group = elasticache.describe_replication_groups(ReplicationGroupId=self.name("redis"))["ReplicationGroups"][
                0
            ]
        except ClientError:
            return self._missing("ElastiCache replication group")
        endpoint = (group.get("NodeGroups") or [{}])[0].get("PrimaryEndpoint", {})
        flags = [
            "TLS" if group.get("TransitEncryptionEnabled") else "NO TLS",
            "encrypted at rest" if group.get("AtRestEncryptionEnabled") else "NOT encrypted at rest",
            "AUTH" if group.get("AuthTokenEnabled") else "NO AUTH",
        ]
        return (
            f"{group['ReplicationGroupId']} {group.get('CacheNodeType')} at {endpoint.get('Address')}:"
            f"{endpoint.get('Port')} ({', '.join(flags)})"
        )

    def _secrets(self) -> str:
        secrets = self.client("secretsmanager")
        prefix = self.render(self.settings["secrets_prefix"]) + "/"
        names = sorted(
            s["Name"]
            for page in secrets.get_paginator("list_secrets").paginate()
            for s in page["SecretList"]
            if s["Name"].startswith(prefix)
        )
        placeholders = [
            name
            for name in names
            if self.placeholder and secrets.get_secret_value(SecretId=name).get("SecretString") == self.placeholder
        ]
        for name in placeholders:
            self.problems.append(f"secret {name} still holds the placeholder: set its value (docs/first-run.md)")
        return ", ".join(names) if names else self._missing("secrets")

    def _missing(self, what: str) -> str:
        self.problems.append(f"{what} not found")
        return "MISSING"


def table(rows: list[tuple[str, ...]], headers: tuple[str, ...]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows, strict=False)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-i", "--inventory", default="inventories/local")
    parser.add_argument("--cost", type=Path, help="the JSON that playbooks/cost.yml wrote with cost_summary_file")
    args = parser.parse_args()
    settings = inventory_settings(args.inventory)
    if args.inventory.rstrip("/").endswith("local") and not os.environ.get("AWS_ENDPOINT_URL"):
        os.environ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:" + os.environ.get("MOTO_PORT", "5055")
    if os.environ.get("AWS_ENDPOINT_URL"):
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    reader = Reader(settings)
    try:
        components = reader.components()
        groups = reader.security_groups()
    except (BotoCoreError, ClientError) as error:
        print(f"summary: could not read the environment: {error}", file=sys.stderr)
        return 1
    where = os.environ.get("AWS_ENDPOINT_URL") or f"AWS {reader.region}"
    print(f"\n== {reader.prefix}: what the API reports ({where})\n")
    print(table(components, ("Component (4.2)", "What exists")))
    print("\n== Security groups as read back (4.4)\n")
    print(table(groups, ("Group", "Port", "From")))
    if args.cost and args.cost.exists():
        cost = json.loads(args.cost.read_text())
        others = ", ".join(f"{region}: {usd}" for region, usd in cost.get("other_regions_usd", {}).items())
        verdict = "OVER budget" if cost["over_budget"] else "within budget"
        print(
            f"\n== Cost: {cost['total_usd']} USD/month in {cost['region']} against a budget of {cost['budget_usd']}"
            f" ({verdict}; {others}); details: make cost ENV={reader.env}"
        )
    if reader.problems:
        print("\n!! Attention:")
        for problem in reader.problems:
            print(f"!!  - {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
