#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudfront_spa_distribution
short_description: A CloudFront distribution for a single-page app in a private S3 bucket
version_added: 1.0.0
description:
  - Creates, updates and deletes a CloudFront distribution that serves a single-page application
    (a React build, for instance) from a private S3 bucket reached through an origin access control.
  - The distribution has one origin (the bucket's regional domain name, signed by the OAC), a default
    root object, an SPA fallback (403 and 404 answered with the root page and status 200), HTTPS
    redirection, compression and the managed C(CachingOptimized) cache policy.
  - The distribution is found by its O(caller_reference) when set, otherwise by its O(comment)
    (and, when several distributions share that comment, by O(tags)).
  - With O(caller_reference), only the distributions whose summary (C(ListDistributions)) has the
    O(comment) or one of the O(aliases) have their configuration read to compare the caller
    reference, never every distribution of the account. If CloudFront refuses a creation because
    the caller reference exists (the comment and aliases were changed by hand), every configuration
    is read once to find it.
  - The module compares the fields it manages, one by one, with what C(GetDistributionConfig)
    returns and sends C(UpdateDistribution) only when one differs; fields it does not manage
    (restrictions, ...) keep whatever value they have. The web ACL (O(web_acl_id)), the response
    headers policy (O(response_headers_policy_id)) and the standard logging (O(logging_bucket)) are
    managed only when their option is set (an empty string detaches or disables them).
  - A field absent from the returned configuration is not comparable and never causes an update
    (AWS always returns every field; the moto emulator drops an origin's C(OriginAccessControlId)).
  - O(state=absent) disables the distribution, waits for it to be deployed (with O(wait)), then
    deletes it (AWS deletes only disabled, deployed distributions).
author:
  - mensetsu platform team (!UNKNOWN)
options:
  state:
    description:
      - V(present) creates or updates the distribution, V(absent) disables and deletes it.
    type: str
    choices: [present, absent]
    default: present
  comment:
    description:
      - The distribution's comment. It identifies the distribution when O(caller_reference) is not set.
    type: str
    required: true
  caller_reference:
    description:
      - A stable, unique name for the distribution (for example C(mensetsu-dev-static)). It is set
        once at creation and identifies the distribution from then on, even when O(comment) changes.
      - When not set, the distribution is created with O(comment) as its caller reference and found by O(comment).
    type: str
  origin_bucket:
    description:
      - The name of the private S3 bucket that holds the site. Required when O(state=present).
    type: str
  origin_bucket_region:
    description:
      - The bucket's region; the origin is the bucket's regional domain name
        (C(<bucket>.s3.<region>.amazonaws.com)). Defaults to the module's region.
    type: str
  origin_id:
    description:
      - The origin's id inside the distribution. Defaults to C(S3-<origin_bucket>).
    type: str
  origin_access_control_id:
    description:
      - The id of the origin access control that signs CloudFront's requests to the bucket.
        Required when O(state=present), except in check mode, where it may be empty (the id of an OAC that
        check mode did not create).
    type: str
  default_root_object:
    description:
      - The object returned for the root URL, and the page of the SPA fallback.
    type: str
    default: index.html
  spa_fallback:
    description:
      - Answer 403 and 404 from the bucket with C(/<default_root_object>) and status 200, so that the
        app's client-side routes load the app.
    type: bool
    default: true
  error_caching_min_ttl:
    description:
      - How long (seconds) CloudFront caches the SPA fallback's answers to 403 and 404.
    type: int
    default: 10
  viewer_protocol_policy:
    description:
      - What CloudFront does with plain HTTP requests.
    type: str
    choices: [allow-all, redirect-to-https, https-only]
    default: redirect-to-https
  compress:
    description:
      - Compress the objects CloudFront serves.
    type: bool
    default: true
  cache_policy_id:
    description:
      - The cache policy of the default behaviour; the default is the managed C(CachingOptimized) policy.
    type: str
    default: 658327ea-f89d-4fab-a63d-7e88639e58f6
  response_headers_policy_id:
    description:
      - The id of the response headers policy of the default behaviour (the distribution's only one).
      - V("") removes the policy; not set, the behaviour keeps whatever policy it has.
    type: str
  web_acl_id:
    description:
      - The web ACL that protects the distribution; for a WAFv2 web ACL (scope C(CLOUDFRONT)) its ARN.
      - V("") detaches the web ACL; not set, the distribution keeps whatever web ACL it has.
    type: str
  logging_bucket:
    description:
      - The bucket of CloudFront's standard (legacy) access logs, by name (the module sends
        C(<name>.s3.amazonaws.com)). AWS requires a bucket with ACLs enabled (object ownership
        C(BucketOwnerPreferred)); CloudFront grants its log delivery account C(FULL_CONTROL) there.
      - V("") disables the logs; not set, the distribution's logging stays as it is.
    type: str
  logging_prefix:
    description:
      - The prefix of the log files in O(logging_bucket) (for example C(cloudfront/)).
    type: str
    default: ""
  aliases:
    description:
      - The domain names the distribution answers for (for example the domain's apex and C(www)).
      - Aliases need O(acm_certificate_arn).
    type: list
    elements: str
    default: []
  acm_certificate_arn:
    description:
      - The ARN of an ACM certificate in C(us-east-1) that covers O(aliases); it is served with SNI.
      - The module fails when the ARN is in another region (the emulator would accept it, AWS does not).
      - When not set, the distribution uses the default CloudFront certificate (C(*.cloudfront.net)).
    type: str
  minimum_protocol_version:
    description:
      - The lowest TLS version viewers may use with O(acm_certificate_arn). (With the default
        certificate CloudFront decides this itself.)
    type: str
    choices: [TLSv1.2_2018, TLSv1.2_2019, TLSv1.2_2021, TLSv1.2_2025, TLSv1.3_2025]
    default: TLSv1.2_2021
  price_class:
    description:
      - Which edge locations serve the distribution. V(PriceClass_200) includes Japan.
    type: str
    choices: [PriceClass_100, PriceClass_200, PriceClass_All]
    default: PriceClass_200
  http_version:
    description:
      - The highest HTTP version viewers may use.
    type: str
    choices: [http1.1, http2, http2and3, http3]
    default: http2and3
  ipv6_enabled:
    description:
      - Answer over IPv6 too.
    type: bool
    default: true
  enabled:
    description:
      - Whether the distribution serves requests.
    type: bool
    default: true
  wait:
    description:
      - Wait until the distribution is deployed after a change.
      - With O(state=absent), wait for the disabled distribution to be deployed and delete it; without
        waiting, a distribution still deploying is left disabled, and a later run deletes it.
    type: bool
    default: false
  wait_timeout:
    description:
      - How long (seconds) to wait.
    type: int
    default: 1800
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Serve the React build from the private static bucket through CloudFront
  cloudfront_spa_distribution:
    caller_reference: mensetsu-prod-static
    comment: mensetsu-prod static site
    origin_bucket: mensetsu-prod-static
    origin_bucket_region: ap-northeast-1
    origin_access_control_id: "{{ static_oac.id }}"
    aliases: [example.com, www.example.com]
    acm_certificate_arn: "{{ cloudfront_certificate_arn }}"
    tags:
      Project: mensetsu
      Environment: prod
      ManagedBy: ansible
  register: static_distribution

- name: Delete the distribution (disable, wait until deployed, delete)
  cloudfront_spa_distribution:
    caller_reference: mensetsu-dev-static
    comment: mensetsu-dev static site
    state: absent
    wait: true
"""

RETURN = r"""
id:
  description: The distribution's id.
  returned: when the distribution exists or check mode would create it (then empty)
  type: str
  sample: E1ABCDEFGHIJKL
arn:
  description: The distribution's ARN (the AWS:SourceArn of the bucket policy).
  returned: when the distribution exists or check mode would create it (then empty)
  type: str
  sample: arn:aws:cloudfront::123456789012:distribution/E1ABCDEFGHIJKL
domain_name:
  description: The distribution's own domain name (what the aliases' DNS records point at).
  returned: when the distribution exists or check mode would create it (then empty)
  type: str
  sample: d111111abcdef8.cloudfront.net
status:
  description: C(InProgress) while a change deploys, then C(Deployed).
  returned: when the distribution exists or check mode would create it (then empty)
  type: str
  sample: Deployed
etag:
  description: The current version of the distribution's configuration.
  returned: when the distribution exists or check mode would create it (then empty)
  type: str
  sample: E2QWRUHAPOMQZL
aliases:
  description: The domain names the distribution answers for.
  returned: when the distribution exists or check mode would create it (then empty)
  type: list
  elements: str
  sample: [example.com, www.example.com]
caller_reference:
  description: The distribution's caller reference.
  returned: when the distribution exists or check mode would create it (then empty)
  type: str
  sample: mensetsu-prod-static
tags:
  description: The distribution's tags.
  returned: when the distribution exists or check mode would create it (then empty)
  type: dict
  sample: {Project: mensetsu}
changed_fields:
  description: The managed fields that differed (dotted paths of the distribution's configuration, and C(Tags)).
  returned: always
  type: list
  elements: str
  sample: [PriceClass, Tags]
"""

from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.cloudfront_resources import (
    list_distribution_summaries,
    resource_tags,
    tag_resource,
    untag_resource,
)
from ansible.module_utils.config_compare import config_differences, differences_diff, merge_config
from ansible.module_utils.parallel_reads import early_read, read_in_parallel
from ansible.module_utils.polling import PollTimeout, poll_until
from ansible.module_utils.tag_sync import apply_tag_changes, plan_tag_changes
from ansible.module_utils.task_warnings import warn
from ansible_collections.amazon.aws.plugins.module_utils.arn import parse_aws_arn
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list

CLOUDFRONT_CERTIFICATE_REGION = "us-east-1"
# Legacy cache settings that AWS refuses next to a cache policy.
LEGACY_CACHE_KEYS = ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL")


def cloudfront_list(items: list[Any]) -> dict[str, Any]:
    """CloudFront's {Quantity, Items} shape (Items is left out of requests when empty)."""
    return {"Quantity": len(items), "Items": list(items)}


def with_empty_items(value: Any) -> Any:
    """AWS leaves Items out of an empty {Quantity: 0} list: spell it out, so that lists compare whole."""
    if isinstance(value, dict):
        filled = {key: with_empty_items(item) for key, item in value.items()}
        if filled.get("Quantity") == 0 and "Items" not in filled:
            filled["Items"] = []
        return filled
    if isinstance(value, list):
        return [with_empty_items(item) for item in value]
    return value


def validate_parameters(module: AWSModule) -> None:
    params = module.params
    if params["state"] != "present":
        return
    required = ["origin_bucket"]
    if not module.check_mode:
        # In check mode the OAC may be one that check mode did not create: its id is still empty.
        required.append("origin_access_control_id")
    missing = [name for name in required if not params[name]]
    if missing:
        module.fail_json(msg=f"state=present needs {' and '.join(missing)}")
    if not (params["origin_bucket_region"] or module.region):
        module.fail_json(msg="Set origin_bucket_region or region: the origin is the bucket's regional domain name")
    if params["error_caching_min_ttl"] < 0:
        module.fail_json(msg=f"error_caching_min_ttl must be 0 or more, not {params['error_caching_min_ttl']}")
    arn = params["acm_certificate_arn"]
    if params["aliases"] and not arn:
        module.fail_json(
            msg="aliases need acm_certificate_arn: the default CloudFront certificate covers only *.cloudfront.net"
        )
    if arn:
        details = parse_aws_arn(arn)
        if not details or details["service"] != "acm":
            module.fail_json(msg=f"acm_certificate_arn is not an ACM certificate ARN: {arn}")
        if details["region"] != CLOUDFRONT_CERTIFICATE_REGION:
            module.fail_json(
                msg=(
                    f"acm_certificate_arn must be a certificate in {CLOUDFRONT_CERTIFICATE_REGION} (CloudFront uses "
                    f"ACM certificates from {CLOUDFRONT_CERTIFICATE_REGION} only), not {details['region']}: {arn}"
                )
            )


def viewer_certificate(params: dict[str, Any]) -> dict[str, Any]:
    if params["acm_certificate_arn"]:
        return {
            "CloudFrontDefaultCertificate": False,
            "ACMCertificateArn": params["acm_certificate_arn"],
            "SSLSupportMethod": "sni-only",
            "MinimumProtocolVersion": params["minimum_protocol_version"],
        }
    # With the default certificate CloudFront chooses the protocol versions itself.
    return {"CloudFrontDefaultCertificate": True}


def desired_config(module: AWSModule) -> dict[str, Any]:
    """The managed part of the DistributionConfig (without CallerReference)."""
    params = module.params
    bucket = params["origin_bucket"]
    region = params["origin_bucket_region"] or module.region
    origin_id = params["origin_id"] or f"S3-{bucket}"
    fallback_page = "/" + params["default_root_object"].lstrip("/")
    error_responses = [
        {
            "ErrorCode": code,
            "ResponsePagePath": fallback_page,
            "ResponseCode": "200",
            "ErrorCachingMinTTL": params["error_caching_min_ttl"],
        }
        for code in (403, 404)
        if params["spa_fallback"]
    ]
    methods = ["GET", "HEAD"]
    config = {
        "Comment": params["comment"],
        "Enabled": params["enabled"],
        "DefaultRootObject": params["default_root_object"],
        "Aliases": cloudfront_list(sorted(params["aliases"])),
        "Origins": cloudfront_list(
            [
                {
                    "Id": origin_id,
                    "DomainName": f"{bucket}.s3.{region}.amazonaws.com",
                    "OriginPath": "",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                    "OriginAccessControlId": params["origin_access_control_id"] or "",
                }
            ]
        ),
        "DefaultCacheBehavior": {
            "TargetOriginId": origin_id,
            "ViewerProtocolPolicy": params["viewer_protocol_policy"],
            "Compress": params["compress"],
            "CachePolicyId": params["cache_policy_id"],
            "AllowedMethods": {**cloudfront_list(methods), "CachedMethods": cloudfront_list(methods)},
        },
        "CustomErrorResponses": cloudfront_list(error_responses),
        "PriceClass": params["price_class"],
        "HttpVersion": params["http_version"],
        "IsIPV6Enabled": params["ipv6_enabled"],
        "ViewerCertificate": viewer_certificate(params),
    }
    if params["response_headers_policy_id"] is not None:
        config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] = params["response_headers_policy_id"]
    if params["web_acl_id"] is not None:
        config["WebACLId"] = params["web_acl_id"]
    if params["logging_bucket"] is not None:
        config["Logging"] = logging_config(params["logging_bucket"], params["logging_prefix"])
    return config


def logging_config(bucket: str, prefix: str) -> dict[str, Any]:
    """CloudFront's standard logging; disabled logging has empty Bucket and Prefix (AWS empties them)."""
    if not bucket:
        return {"Enabled": False, "IncludeCookies": False, "Bucket": "", "Prefix": ""}
    return {"Enabled": True, "IncludeCookies": False, "Bucket": f"{bucket}.s3.amazonaws.com", "Prefix": prefix}


def comparable(current: dict[str, Any]) -> dict[str, Any]:
    """The returned configuration with what AWS leaves out when unset spelled out: empty {Quantity: 0}
    lists, and the behaviour's ResponseHeadersPolicyId (absent when the behaviour has none), so that
    a policy removed out of band is a difference rather than an unreadable field."""
    filled = with_empty_items(current)
    behavior = filled.get("DefaultCacheBehavior")
    if isinstance(behavior, dict) and behavior.get("ResponseHeadersPolicyId") is None:
        behavior["ResponseHeadersPolicyId"] = ""
    return filled


def drop_empty_items(value: Any) -> Any:
    """Leave out Items next to Quantity 0 (a merge may have kept the old ones)."""
    if isinstance(value, dict):
        cleaned = {key: drop_empty_items(item) for key, item in value.items()}
        if cleaned.get("Quantity") == 0:
            cleaned.pop("Items", None)
        return cleaned
    if isinstance(value, list):
        return [drop_empty_items(item) for item in value]
    return value


def updated_config(current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """The full configuration to send: the current one with the managed fields replaced."""
    merged = merge_config(current, desired)
    merged["ViewerCertificate"] = dict(desired["ViewerCertificate"])
    if merged["DefaultCacheBehavior"].get("ResponseHeadersPolicyId") == "":
        # No policy: AWS wants the field left out rather than empty.
        del merged["DefaultCacheBehavior"]["ResponseHeadersPolicyId"]
    if desired["DefaultCacheBehavior"].get("CachePolicyId"):
        for key in LEGACY_CACHE_KEYS:
            merged["DefaultCacheBehavior"].pop(key, None)
    return drop_empty_items(merged)


class CallerReferenceTaken(Exception):
    """CreateDistribution answered DistributionAlreadyExists: a distribution has the caller reference."""


class Distribution:
    """The distribution the task is about, as read from CloudFront."""

    def __init__(self, summary: dict[str, Any], config: dict[str, Any], etag: str, tags: dict[str, str] | None = None):
        self.summary = summary
        self.config = config
        self.etag = etag
        self.tags = tags  # None: not read yet

    @property
    def id(self) -> str:
        return self.summary["Id"]

    @property
    def arn(self) -> str:
        return self.summary["ARN"]


class SpaDistributionManager:
    def __init__(self, module: AWSModule):
        self.module = module
        self.params = module.params
        self.client = module.client("cloudfront", retry_decorator=AWSRetry.jittered_backoff())

    # --- reading -------------------------------------------------------------------------
    def fail(self, error: Exception, msg: str) -> None:
        self.module.fail_json_aws(error, msg=msg)

    def get_config(self, distribution_id: str) -> tuple[dict[str, Any], str]:
        try:
            response = self.client.get_distribution_config(Id=distribution_id, aws_retry=True)
        except AWS_ERRORS as e:
            self.fail(e, f"Failed to read the configuration of distribution {distribution_id}")
        return response["DistributionConfig"], response["ETag"]

    def get_distribution(self, distribution_id: str) -> tuple[dict[str, Any], str]:
        try:
            response = self.client.get_distribution(Id=distribution_id, aws_retry=True)
        except AWS_ERRORS as e:
            self.fail(e, f"Failed to read distribution {distribution_id}")
        return response["Distribution"], response["ETag"]

    def tags(self, arn: str) -> dict[str, str]:
        try:
            return resource_tags(self.client, arn)
        except AWS_ERRORS as e:
            self.fail(e, f"Failed to read the tags of {arn}")
        return {}

    def find(self) -> Distribution | None:
        try:
            summaries = list_distribution_summaries(self.client)
        except AWS_ERRORS as e:
            self.fail(e, "Failed to list distributions")
        comment = self.params["comment"]
        reference = self.params["caller_reference"]
        if reference:
            # The summaries carry Comment and Aliases: only a distribution with this comment or one of
            # these aliases (an alias belongs to one distribution in all of CloudFront) can be it, so
            # only those configurations are read, never every distribution's in the account.
            for summary in self.likely_candidates(summaries):
                found = self.read_candidate(summary)
                if found.config.get("CallerReference") == reference:
                    return found
            return None
        candidates = [summary for summary in summaries if summary.get("Comment") == comment]
        wanted_tags = self.params["tags"] or {}
        if len(candidates) > 1 and wanted_tags:
            candidates = [
                summary
                for summary in candidates
                if all(self.tags(summary["ARN"]).get(key) == value for key, value in wanted_tags.items())
            ]
        if len(candidates) > 1:
            ids = ", ".join(summary["Id"] for summary in candidates)
            self.module.fail_json(
                msg=f"Several distributions have the comment {comment!r} ({ids}); set caller_reference or tags"
            )
        if not candidates:
            return None
        return self.read_candidate(candidates[0])

    def read_candidate(self, summary: dict[str, Any]) -> Distribution:
        """The distribution's configuration and its tags, side by side (both need only its summary).
        A failed tag read is only "not read": the tags of the distribution that turns out to be the
        task's are then read again (update), and its failure fails the task there."""
        read = read_in_parallel(
            self.module,
            {
                "config": lambda: self.get_config(summary["Id"]),
                "tags": early_read(lambda: resource_tags(self.client, summary["ARN"])),
            },
        )
        config, etag = read["config"]
        return Distribution(summary, config, etag, read["tags"])

    def likely_candidates(self, summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The summaries with the task's comment first, then those sharing one of its aliases."""
        aliases = set(self.params["aliases"] or [])
        by_comment = [summary for summary in summaries if summary.get("Comment") == self.params["comment"]]
        by_alias = [
            summary
            for summary in summaries
            if summary not in by_comment and aliases & set(summary.get("Aliases", {}).get("Items") or [])
        ]
        return by_comment + by_alias

    def find_by_reading_every_config(self) -> Distribution | None:
        """The slow way, only after AWS refused a creation because the caller reference exists:
        the distribution's comment and aliases were changed outside this module."""
        try:
            summaries = list_distribution_summaries(self.client)
        except AWS_ERRORS as e:
            self.fail(e, "Failed to list distributions")
        for summary in summaries:
            config, etag = self.get_config(summary["Id"])
            if config.get("CallerReference") == self.params["caller_reference"]:
                return Distribution(summary, config, etag)
        return None

    # --- waiting -------------------------------------------------------------------------
    def wait_deployed(self, distribution_id: str) -> tuple[dict[str, Any], str]:
        """Wait until the distribution is deployed; return it and its ETag."""
        try:
            return poll_until(
                lambda: self.get_distribution(distribution_id),
                lambda latest: latest[0]["Status"] == "Deployed",
                timeout=self.params["wait_timeout"],
                interval=5,
                max_interval=30,
            )
        except PollTimeout as e:
            self.module.fail_json(
                msg=f"Distribution {distribution_id} was not deployed within {self.params['wait_timeout']} s",
                id=distribution_id,
                status=e.last[0]["Status"],
            )
        return {}, ""

    # --- present -------------------------------------------------------------------------
    def create(self, desired: dict[str, Any]) -> dict[str, Any]:
        reference = self.params["caller_reference"] or self.params["comment"]
        config = updated_config({"CallerReference": reference}, desired)
        tags = self.params["tags"] or {}
        diff = {"before": {}, "after": {**desired, "CallerReference": reference, "Tags": tags}}
        if self.module.check_mode:
            # Empty ids, so that later tasks of a --check run can still read them.
            planned = {"Id": "", "ARN": "", "DomainName": "", "Status": "", "DistributionConfig": desired}
            return {
                "changed": True,
                "changed_fields": sorted(desired),
                "diff": diff,
                **self.describe(planned, "", tags, reference),
            }
        try:
            if tags:
                tag_list = ansible_dict_to_boto3_tag_list(tags)
                response = self.client.create_distribution_with_tags(
                    DistributionConfigWithTags={"DistributionConfig": config, "Tags": {"Items": tag_list}},
                    aws_retry=True,
                )
            else:
                response = self.client.create_distribution(DistributionConfig=config, aws_retry=True)
        except is_boto3_error_code("DistributionAlreadyExists") as e:
            if self.params["caller_reference"]:
                raise CallerReferenceTaken() from e
            self.fail(e, "Failed to create the distribution")
        except AWS_ERRORS as e:
            self.fail(e, "Failed to create the distribution")
        distribution, etag = response["Distribution"], response["ETag"]
        if self.params["wait"]:
            distribution, etag = self.wait_deployed(distribution["Id"])
        return {
            "changed": True,
            "changed_fields": sorted(desired),
            "diff": diff,
            **self.describe(distribution, etag, tags, reference),
        }

    def update(self, found: Distribution, desired: dict[str, Any]) -> dict[str, Any]:
        differences = config_differences(desired, comparable(found.config))
        current_tags = found.tags if found.tags is not None else self.tags(found.arn)
        tags = plan_tag_changes(current_tags, self.params["tags"], self.params["purge_tags"])
        changed_fields = sorted(differences)
        diff = differences_diff(differences)
        if tags.changed:
            changed_fields.append("Tags")
            diff["before"]["Tags"], diff["after"]["Tags"] = tags.current, tags.after
        changed = bool(changed_fields)
        distribution, etag = found.summary, found.etag
        if changed and not self.module.check_mode:
            if differences:
                distribution, etag = self.send_update(found, updated_config(found.config, desired))
            try:
                apply_tag_changes(
                    tags,
                    check_mode=False,
                    add_tags=lambda to_set: tag_resource(self.client, found.arn, to_set),
                    remove_tags=lambda keys: untag_resource(self.client, found.arn, keys),
                )
            except AWS_ERRORS as e:
                self.fail(e, f"Failed to update the tags of {found.arn}")
            if self.params["wait"]:
                distribution, etag = self.wait_deployed(found.id)
        return {
            "changed": changed,
            "changed_fields": changed_fields,
            "diff": diff,
            **self.describe(distribution, etag, tags.after, found.config.get("CallerReference")),
        }

    def send_update(self, found: Distribution, config: dict[str, Any]) -> tuple[dict[str, Any], str]:
        try:
            response = self.client.update_distribution(
                Id=found.id, IfMatch=found.etag, DistributionConfig=config, aws_retry=True
            )
        except AWS_ERRORS as e:
            self.fail(e, f"Failed to update distribution {found.id}")
        return response["Distribution"], response["ETag"]

    def describe(self, distribution: dict[str, Any], etag: str, tags: dict, reference: str | None) -> dict[str, Any]:
        config = distribution.get("DistributionConfig", distribution)
        return {
            "id": distribution["Id"],
            "arn": distribution["ARN"],
            "domain_name": distribution["DomainName"],
            "status": distribution["Status"],
            "etag": etag,
            "aliases": sorted(config.get("Aliases", {}).get("Items") or []),
            "caller_reference": reference,
            "tags": tags,
        }

    def ensure_present(self) -> dict[str, Any]:
        desired = desired_config(self.module)
        found = self.find()
        if found is None:
            try:
                return self.create(desired)
            except CallerReferenceTaken:
                found = self.find_by_reading_every_config()
                if found is None:
                    self.module.fail_json(msg="CloudFront refused the caller reference, but no distribution has it")
        return self.update(found, desired)

    # --- absent --------------------------------------------------------------------------
    def ensure_absent(self) -> dict[str, Any]:
        found = self.find()
        if found is None:
            return {"changed": False, "changed_fields": [], "diff": {"before": {}, "after": {}}}
        diff = {"before": {"Id": found.id, "Comment": found.config.get("Comment")}, "after": {}}
        result = {"changed": True, "changed_fields": ["Enabled"] if found.config.get("Enabled") else [], "diff": diff}
        if self.module.check_mode:
            return result
        if found.config.get("Enabled"):
            disabled = drop_empty_items({**found.config, "Enabled": False})
            _distribution, etag = self.send_update(found, disabled)
        if self.params["wait"]:
            distribution, etag = self.wait_deployed(found.id)
        else:
            distribution, etag = self.get_distribution(found.id)
        if distribution["Status"] != "Deployed":
            warn(
                self.module,
                f"Distribution {found.id} is disabled and still deploying; run again (or set wait) to delete it",
            )
            return {**result, "id": found.id, "status": distribution["Status"], "etag": etag}
        try:
            self.client.delete_distribution(Id=found.id, IfMatch=etag, aws_retry=True)
        except AWS_ERRORS as e:
            self.fail(e, f"Failed to delete distribution {found.id}")
        return result


def main() -> None:
    argument_spec = dict(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        comment=dict(type="str", required=True),
        caller_reference=dict(type="str"),
        origin_bucket=dict(type="str"),
        origin_bucket_region=dict(type="str"),
        origin_id=dict(type="str"),
        origin_access_control_id=dict(type="str"),
        default_root_object=dict(type="str", default="index.html"),
        spa_fallback=dict(type="bool", default=True),
        error_caching_min_ttl=dict(type="int", default=10),
        viewer_protocol_policy=dict(
            type="str", choices=["allow-all", "redirect-to-https", "https-only"], default="redirect-to-https"
        ),
        compress=dict(type="bool", default=True),
        cache_policy_id=dict(type="str", default="658327ea-f89d-4fab-a63d-7e88639e58f6"),
        response_headers_policy_id=dict(type="str"),
        web_acl_id=dict(type="str"),
        logging_bucket=dict(type="str"),
        logging_prefix=dict(type="str", default=""),
        aliases=dict(type="list", elements="str", default=[]),
        acm_certificate_arn=dict(type="str"),
        minimum_protocol_version=dict(
            type="str",
            choices=["TLSv1.2_2018", "TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"],
            default="TLSv1.2_2021",
        ),
        price_class=dict(
            type="str", choices=["PriceClass_100", "PriceClass_200", "PriceClass_All"], default="PriceClass_200"
        ),
        http_version=dict(type="str", choices=["http1.1", "http2", "http2and3", "http3"], default="http2and3"),
        ipv6_enabled=dict(type="bool", default=True),
        enabled=dict(type="bool", default=True),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=1800),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    validate_parameters(module)
    manager = SpaDistributionManager(module)
    if module.params["state"] == "present":
        module.exit_json(**manager.ensure_present())
    module.exit_json(**manager.ensure_absent())


if __name__ == "__main__":
    main()
