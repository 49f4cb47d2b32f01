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
from ansible.plugins.filter.core import FilterModule as AnsibleCoreFilters
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
        environment = jinja2.Environment()
        # The inventory's templates use Ansible's filters (cloudtrail_enabled: `... | bool`).
        environment.filters.update(AnsibleCoreFilters().filters())
        return environment.from_string(str(template)).render(context)

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

    def setting(self, name: str) -> object:
        """A hardening setting as the inventory declares it (rendered when it is a template); None when
        the inventory does not declare it (a feature this checkout does not build)."""
        value = self.settings.get(name)
        if isinstance(value, str) and "{{" in value:
            value = self.render(value).strip()
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return value

    def hardening(self) -> list[tuple[str, str]]:
        """The hardening features (docs/security.md): one row each that the inventory declares."""
        rows: list[tuple[str, str]] = []
        features = (
            ("WAF (CloudFront)", "waf_enabled", self._waf_cloudfront),
            ("WAF (ALB)", "waf_alb_enabled", self._waf_alb),
            ("Log bucket", "log_bucket_expire_days", self._log_bucket),
            ("CloudTrail", "cloudtrail_enabled", self._trail),
            ("VPC flow logs", "vpc_flow_logs_enabled", self._flow_logs),
            ("Dashboard", "dashboard_enabled", self._dashboard),
        )
        for label, name, read in features:
            value = self.setting(name)
            if value is None:
                continue
            rows.append((label, f"off ({name}: false)" if value is False else read()))
        rows.append(("Shell access", self._shell_access()))
        return rows

    def _web_acl(self, name: str, scope: str, region: str) -> dict | None:
        wafv2 = self.client("wafv2", region)
        return next((a for a in wafv2.list_web_acls(Scope=scope)["WebACLs"] if a["Name"] == name), None)

    def _waf_cloudfront(self) -> str:
        acl = self._web_acl(self.name("web_acl_cloudfront"), "CLOUDFRONT", "us-east-1")
        if acl is None:
            return self._missing(f"WAF web ACL {self.name('web_acl_cloudfront')}")
        cloudfront = self.client("cloudfront", "us-east-1")
        items = cloudfront.list_distributions().get("DistributionList", {}).get("Items", [])
        attached = [d["Id"] for d in items if d.get("WebACLId") == acl["ARN"]]
        if not attached:
            self.problems.append(f"WAF web ACL {acl['Name']} is attached to no distribution")
        return f"{acl['Name']} ({acl['Id']}); on distribution {', '.join(attached) or 'NONE'}"

    def _waf_alb(self) -> str:
        acl = self._web_acl(self.name("web_acl_alb"), "REGIONAL", self.region)
        return f"{acl['Name']} ({acl['Id']})" if acl else self._missing(f"WAF web ACL {self.name('web_acl_alb')}")

    def _log_bucket(self) -> str:
        name = self.bucket_name("log_bucket_name")
        summary = self._bucket(name)
        if summary == "MISSING":
            return summary
        s3 = self.client("s3")
        sources = []
        for variable in ("static_bucket_name", "media_bucket_name", "ssm_transfer_bucket_name"):
            bucket = self.bucket_name(variable) if variable in self.settings else ""
            try:
                target = s3.get_bucket_logging(Bucket=bucket).get("LoggingEnabled", {}) if bucket else {}
            except ClientError:
                continue
            if target.get("TargetBucket") == name:
                sources.append(f"{bucket} -> {target.get('TargetPrefix', '')}")
        return f"{summary}; server access logs of {', '.join(sources) or 'no bucket'}"

    def _trail(self) -> str:
        cloudtrail = self.client("cloudtrail")
        trails = cloudtrail.describe_trails(trailNameList=[self.name("trail")])["trailList"]
        if not trails:
            return self._missing(f"CloudTrail trail {self.name('trail')}")
        trail = trails[0]
        logging = cloudtrail.get_trail_status(Name=trail["TrailARN"]).get("IsLogging")
        flags = [
            "multi-region" if trail.get("IsMultiRegionTrail") else "ONE REGION",
            "log file validation" if trail.get("LogFileValidationEnabled") else "NO log file validation",
            "logging" if logging else "NOT logging",
        ]
        return f"{trail['Name']} -> s3://{trail.get('S3BucketName')}/ ({', '.join(flags)})"

    def _flow_logs(self) -> str:
        ec2 = self.client("ec2")
        vpcs = ec2.describe_vpcs(Filters=self.project_filter())["Vpcs"]
        ids = [vpc["VpcId"] for vpc in vpcs]
        logs = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": ids}])["FlowLogs"] if ids else []
        if not logs:
            return self._missing("VPC flow logs")
        return "; ".join(f"{f['ResourceId']} {f.get('TrafficType')} -> {f.get('LogGroupName')}" for f in logs)

    def _dashboard(self) -> str:
        name = self.name("dashboard")
        try:
            self.client("cloudwatch").get_dashboard(DashboardName=name)
        except ClientError:
            return self._missing(f"CloudWatch dashboard {name}")
        return f"https://{self.region}.console.aws.amazon.com/cloudwatch/home?region={self.region}#dashboards/dashboard/{name}"

    def _shell_access(self) -> str:
        mode = str(self.setting("admin_access") or "ssh")
        app_group = self.name_of_group("app")
        open_22 = any(port == "22" for group, port, _ in self.security_groups() if group == app_group)
        parts = [f"admin_access {mode}", f"port 22 {'open' if open_22 else 'closed'}"]
        if open_22 != (mode in ("ssh", "both")):
            self.problems.append(
                f"port 22 of {app_group} is {'open' if open_22 else 'closed'} with admin_access {mode}"
            )
        if mode in ("ssm", "both"):
            parts.append(self._session_manager())
        return "; ".join(parts)

    def name_of_group(self, key: str) -> str:
        return self.render(self.settings["aws_names"]["security_groups"][key])

    def _session_manager(self) -> str:
        try:
            document = self.client("ssm").get_document(Name="SSM-SessionManagerRunShell")
        except ClientError:
            return self._missing("Session Manager preferences (SSM-SessionManagerRunShell)")
        inputs = json.loads(document["Content"]).get("inputs", {})
        group = inputs.get("cloudWatchLogGroupName") or ""
        if group != self.name("ssm_session_log_group"):
            self.problems.append(f"Session Manager logs to '{group}', not {self.name('ssm_session_log_group')}")
        return f"Session Manager sessions -> {group or 'NOWHERE'} (idle timeout {inputs.get('idleSessionTimeout')} min)"

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
        hardening = reader.hardening()
    except (BotoCoreError, ClientError) as error:
        print(f"summary: could not read the environment: {error}", file=sys.stderr)
        return 1
    where = os.environ.get("AWS_ENDPOINT_URL") or f"AWS {reader.region}"
    print(f"\n== {reader.prefix}: what the API reports ({where})\n")
    print(table(components, ("Component (4.2)", "What exists")))
    print("\n== Security groups as read back (4.4)\n")
    print(table(groups, ("Group", "Port", "From")))
    print("\n== Hardening (docs/security.md)\n")
    print(table(hardening, ("Feature", "What exists")))
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
