#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: acm_certificate_request
short_description: Request a public ACM certificate validated by DNS and return its validation records
description:
  - Requests a public Amazon-issued certificate with DNS validation, or finds the one already requested for the same
    domain name and subject alternative names (and the same C(Name) tag when O(tags) has one), so a re-run never
    requests another.
  - Returns the DNS validation records (name, type, value per domain) for a following task to write to Route 53, and
    with O(wait=true) waits until the certificate is C(ISSUED).
  - ACM fills in the validation records a few seconds after the request; the module polls for them for up to
    O(records_timeout) seconds.
  - The certificate lives in the module's O(region). A certificate for CloudFront must be in C(us-east-1); one for an
    Application Load Balancer in the balancer's region.
  - M(community.aws.acm_certificate) only imports certificates; this module requests them.
version_added: "1.0.0"
author:
  - mensetsu platform team (!UNKNOWN)
options:
  domain_name:
    description:
      - The certificate's main domain name, for example C(example.com) or C(*.example.com).
      - One of O(domain_name), O(certificate_arn) (with O(state=absent)) and O(certificates) is required.
    type: str
  certificates:
    description:
      - Several certificates in one task (O(state=present) only), each with its own region. Their lists, then every
        candidate's details and tags, are read together, so two certificates cost the round trips of one.
      - Each gets its result in RV(results), in this order; O(key_algorithm), O(wait), O(wait_timeout),
        O(records_timeout) and O(purge_tags) apply to all.
    type: list
    elements: dict
    suboptions:
      domain_name:
        description: As O(domain_name).
        type: str
        required: true
      subject_alternative_names:
        description: As O(subject_alternative_names).
        type: list
        elements: str
        default: []
      region:
        description: The certificate's region; the module's O(region) when not set.
        type: str
      tags:
        description: As O(tags).
        type: dict
  subject_alternative_names:
    description:
      - Further names the certificate covers. The main domain name is always covered; listing it here is allowed.
    type: list
    elements: str
    default: []
  certificate_arn:
    description:
      - With O(state=absent), the certificate to delete. Without it, every certificate matching O(domain_name),
        O(subject_alternative_names) (and the C(Name) tag) is deleted.
    type: str
  state:
    description: Whether the certificate should exist.
    type: str
    choices: [present, absent]
    default: present
  key_algorithm:
    description: The key algorithm of a new certificate.
    type: str
    choices: [RSA_2048, EC_prime256v1, EC_secp384r1]
    default: RSA_2048
  wait:
    description: Wait until the certificate is C(ISSUED); fail when ACM says the validation failed or timed out.
    type: bool
    default: false
  wait_timeout:
    description: How many seconds to wait for C(ISSUED).
    type: int
    default: 1800
  records_timeout:
    description: How many seconds to poll for the DNS validation records after a request.
    type: int
    default: 60
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
notes:
  - The main domain and its wildcard (C(example.com) and C(*.example.com)) share one validation record; use the
    C(unique) filter on the records before writing them to Route 53.
  - Deleting a certificate that a load balancer or a distribution still uses fails; detach it first.
"""

EXAMPLES = r"""
- name: Request the CloudFront certificate (us-east-1)
  acm_certificate_request:
    domain_name: example.com
    subject_alternative_names: [www.example.com]
    region: us-east-1
    tags:
      Name: mensetsu-prod-cloudfront
      Project: mensetsu
  register: cloudfront_cert

- name: Write the validation records to Route 53
  amazon.aws.route53:
    zone: example.com
    record: "{{ item.name }}"
    type: "{{ item.type }}"
    value: "{{ item.value }}"
    ttl: 300
    overwrite: true
    state: present
  loop: "{{ cloudfront_cert.validation_records | unique(attribute='name') }}"

- name: Wait until the certificate is issued
  acm_certificate_request:
    domain_name: example.com
    subject_alternative_names: [www.example.com]
    region: us-east-1
    tags:
      Name: mensetsu-prod-cloudfront
      Project: mensetsu
    wait: true
"""

RETURN = r"""
results:
  description:
    - With O(certificates), one result per certificate, in that order, each with the keys below (C(certificate_arn),
      C(status), C(region), C(domain_name), C(subject_alternative_names), C(validation_records), C(tags)) and its
      C(changed), C(diff) and C(drift_kind) (V(acm_certificate_request)).
  returned: with O(certificates)
  type: list
  elements: dict
certificate_arn:
  description: The certificate's ARN; null in check mode when it would be requested.
  returned: always
  type: str
  sample: arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666
status:
  description: The certificate's status (C(PENDING_VALIDATION), C(ISSUED), ...).
  returned: when the certificate exists
  type: str
  sample: ISSUED
region:
  description: The region the certificate lives in.
  returned: always
  type: str
  sample: us-east-1
domain_name:
  description: The main domain name.
  returned: always
  type: str
subject_alternative_names:
  description: Every name the certificate covers, the main domain name included, sorted.
  returned: always
  type: list
  elements: str
validation_records:
  description: The DNS records that prove control of each domain, one per domain name.
  returned: when the certificate exists
  type: list
  elements: dict
  contains:
    domain_name:
      description: The domain this record validates.
      type: str
    name:
      description: The record's name.
      type: str
      sample: _3b2a...example.com.
    type:
      description: The record's type.
      type: str
      sample: CNAME
    value:
      description: The record's value.
      type: str
      sample: _5c8d...acm-validations.aws.
    validation_status:
      description: C(PENDING_VALIDATION), C(SUCCESS) or C(FAILED).
      type: str
tags:
  description: The certificate's tags.
  returned: always
  type: dict
deleted_arns:
  description: The certificates deleted (O(state=absent)).
  returned: when O(state=absent)
  type: list
  elements: str
"""

import functools
import uuid
from typing import Any, NamedTuple

try:
    import botocore
except ImportError:
    botocore = None  # AWSModule reports the missing dependency

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.parallel_reads import read_in_parallel
from ansible.module_utils.polling import PollTimeout, poll_until
from ansible.module_utils.tag_sync import apply_tag_changes, plan_tag_changes
from ansible.module_utils.task_warnings import warn
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)

LIVE_STATUSES = ["PENDING_VALIDATION", "ISSUED"]
FAILED_STATUSES = ("FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED", "INACTIVE")
ALL_KEY_TYPES = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]


@AWSRetry.jittered_backoff()
def list_live_certificates(client) -> list[dict[str, Any]]:
    paginator = client.get_paginator("list_certificates")
    pages = paginator.paginate(CertificateStatuses=LIVE_STATUSES, Includes={"keyTypes": ALL_KEY_TYPES})
    return pages.build_full_result()["CertificateSummaryList"]


def wanted_names(domain_name: str, subject_alternative_names: list[str]) -> list[str]:
    return sorted({domain_name, *subject_alternative_names})


def describe(client, module: AWSModule, arn: str) -> dict[str, Any] | None:
    try:
        return client.describe_certificate(aws_retry=True, CertificateArn=arn)["Certificate"]
    except is_boto3_error_code("ResourceNotFoundException"):
        return None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to describe certificate {arn}")
    return None


def certificate_tags(client, module: AWSModule, arn: str, missing_ok: bool = False) -> dict[str, str]:
    """The certificate's tags; with ``missing_ok``, {} for a certificate deleted since it was listed."""
    try:
        return boto3_tag_list_to_ansible_dict(
            client.list_tags_for_certificate(aws_retry=True, CertificateArn=arn)["Tags"]
        )
    except is_boto3_error_code("ResourceNotFoundException") as e:
        if not missing_ok:
            module.fail_json_aws(e, msg=f"Failed to list the tags of {arn}")
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to list the tags of {arn}")
    return {}


def is_dns_validated(certificate: dict[str, Any]) -> bool:
    methods = {option.get("ValidationMethod") for option in certificate.get("DomainValidationOptions") or []}
    return methods <= {"DNS", None}


def find_matching(client, module: AWSModule, domain_name: str, names: list[str]) -> list[dict[str, Any]]:
    """Amazon-issued, DNS-validated, live certificates for exactly these names (and the task's Name tag).

    Best first: ISSUED before PENDING_VALIDATION, then the newest. Each carries its tags under "Tags".
    """
    spec = Spec(domain_name, names, module.params.get("tags"), client)
    return find_all_matching(module, [spec])[0]


class Spec(NamedTuple):
    """One certificate the task asks for, with the client of its region."""

    domain_name: str
    names: list[str]
    tags: dict[str, Any] | None
    client: Any


def find_all_matching(module: AWSModule, specs: list[Spec]) -> list[list[dict[str, Any]]]:
    """find_matching for several certificates: every region's list at once, then every candidate's
    details and tags at once (two round trips, whatever the number of certificates)."""

    def listed(client: Any) -> list[dict[str, Any]]:
        try:
            return list_live_certificates(client)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg="Failed to list certificates")
        return []

    summaries = read_in_parallel(
        module, {index: functools.partial(listed, spec.client) for index, spec in enumerate(specs)}
    )
    # Each candidate's details and tags, all read side by side (the tags of a candidate that turns out
    # not to match are read for nothing: few certificates share a domain name, and none waits for it).
    candidates = {
        index: [
            summary["CertificateArn"] for summary in summaries[index] if summary.get("DomainName") == spec.domain_name
        ]
        for index, spec in enumerate(specs)
    }
    reads = {}
    for index, spec in enumerate(specs):
        for arn in candidates[index]:
            reads[("certificate", index, arn)] = functools.partial(describe, spec.client, module, arn)
            reads[("tags", index, arn)] = functools.partial(certificate_tags, spec.client, module, arn, missing_ok=True)
    found = read_in_parallel(module, reads)
    every = []
    for index, spec in enumerate(specs):
        wanted_name_tag = (spec.tags or {}).get("Name")
        matches = []
        for arn in candidates[index]:
            certificate = found[("certificate", index, arn)]
            if not certificate or certificate.get("Type") != "AMAZON_ISSUED" or not is_dns_validated(certificate):
                continue
            if sorted(set(certificate.get("SubjectAlternativeNames") or [spec.domain_name])) != spec.names:
                continue
            certificate["Tags"] = found[("tags", index, arn)]
            if wanted_name_tag is not None and certificate["Tags"].get("Name") != str(wanted_name_tag):
                continue
            matches.append(certificate)
        matches.sort(key=lambda cert: (cert.get("Status") == "ISSUED", str(cert.get("CreatedAt", ""))), reverse=True)
        every.append(matches)
    return every


def validation_records(certificate: dict[str, Any]) -> list[dict[str, Any]]:
    records = []
    for option in certificate.get("DomainValidationOptions") or []:
        record = option.get("ResourceRecord")
        if not record:
            continue
        records.append(
            {
                "domain_name": option["DomainName"],
                "name": record["Name"],
                "type": record["Type"],
                "value": record["Value"],
                "validation_status": option.get("ValidationStatus"),
            }
        )
    return sorted(records, key=lambda record: record["domain_name"])


def has_all_records(certificate: dict[str, Any] | None) -> bool:
    if not certificate:
        return False
    if certificate.get("Status") == "ISSUED":
        return True
    options = certificate.get("DomainValidationOptions") or []
    return bool(options) and all(option.get("ResourceRecord") for option in options)


def wait_for_records(client, module: AWSModule, certificate: dict[str, Any]) -> dict[str, Any]:
    """ACM adds the validation records shortly after the request: poll a bounded while for them."""
    if has_all_records(certificate):
        return certificate
    arn = certificate["CertificateArn"]
    try:
        return poll_until(
            lambda: describe(client, module, arn), has_all_records, timeout=module.params["records_timeout"]
        )
    except PollTimeout as timeout_error:
        warn(
            module,
            f"ACM has not published every DNS validation record of {arn} after "
            f"{module.params['records_timeout']} s; re-run the task to read them",
        )
        return timeout_error.last or certificate


def wait_until_issued(client, module: AWSModule, arn: str) -> dict[str, Any]:
    def settled(certificate: dict[str, Any] | None) -> bool:
        return certificate is not None and certificate.get("Status") in ("ISSUED", *FAILED_STATUSES)

    timeout = module.params["wait_timeout"]
    try:
        certificate = poll_until(lambda: describe(client, module, arn), settled, timeout=timeout, interval=2.0)
    except PollTimeout as timeout_error:
        status = (timeout_error.last or {}).get("Status")
        module.fail_json(
            msg=f"Certificate {arn} is not ISSUED after {timeout} s (status {status}); "
            "check that the DNS validation records exist in the zone",
            validation_records=validation_records(timeout_error.last or {}),
        )
    if certificate["Status"] != "ISSUED":
        module.fail_json(
            msg=f"Certificate {arn} will not be issued: {certificate['Status']}",
            failure_reason=certificate.get("FailureReason"),
        )
    return certificate


def idempotency_token() -> str:
    """One token per run: a request retried after a throttle returns the same certificate, not a second one.

    Not derived from the names: ACM would hand back a certificate deleted within the last hour.
    """
    return uuid.uuid4().hex


def request_certificate(client, module: AWSModule, spec: Spec) -> dict[str, Any]:
    params, names = module.params, spec.names
    tags = spec.tags or {}
    request: dict[str, Any] = {
        "DomainName": spec.domain_name,
        "ValidationMethod": "DNS",
        "KeyAlgorithm": params["key_algorithm"],
        "IdempotencyToken": idempotency_token(),
    }
    if len(names) > 1:
        request["SubjectAlternativeNames"] = names
    if tags:
        request["Tags"] = ansible_dict_to_boto3_tag_list(tags)
    try:
        arn = client.request_certificate(aws_retry=True, **request)["CertificateArn"]
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to request a certificate for {spec.domain_name}")
    certificate = describe(client, module, arn) or {"CertificateArn": arn}
    return wait_for_records(client, module, certificate)


def sync_tags(client, module: AWSModule, certificate: dict[str, Any], tags: dict[str, Any] | None):
    changes = plan_tag_changes(certificate["Tags"], tags, module.params["purge_tags"])
    arn = certificate["CertificateArn"]

    def add(to_set: dict[str, str]) -> None:
        client.add_tags_to_certificate(aws_retry=True, CertificateArn=arn, Tags=ansible_dict_to_boto3_tag_list(to_set))

    def remove(keys: list[str]) -> None:
        removed = [{"Key": key, "Value": certificate["Tags"][key]} for key in keys]
        client.remove_tags_from_certificate(aws_retry=True, CertificateArn=arn, Tags=removed)

    try:
        apply_tag_changes(changes, module.check_mode, add, remove)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to update the tags of {arn}")
    return changes


def view(certificate: dict[str, Any] | None, tags: dict[str, str]) -> dict[str, Any]:
    if not certificate:
        return {"certificate_arn": None, "tags": tags}
    return {
        "certificate_arn": certificate["CertificateArn"],
        "status": certificate.get("Status"),
        "validation_records": validation_records(certificate),
        "tags": tags,
    }


def present_result(module: AWSModule, spec: Spec, matches: list[dict[str, Any]]) -> dict[str, Any]:
    """The task's result for one certificate (requested when none matches), without exiting."""
    params, client, names = module.params, spec.client, spec.names
    common = {"region": client.meta.region_name, "domain_name": spec.domain_name, "subject_alternative_names": names}
    if len(matches) > 1:
        warn(
            module,
            f"{len(matches)} certificates match {', '.join(names)}; using {matches[0]['CertificateArn']}. "
            "Give a Name tag to tell them apart, or delete the extra ones",
        )
    if not matches:
        after = {**common, "tags": spec.tags or {}}
        if module.check_mode:
            return dict(changed=True, diff={"before": {}, "after": after}, **common, **view(None, after["tags"]))
        certificate = request_certificate(client, module, spec)
        if params["wait"]:
            certificate = wait_until_issued(client, module, certificate["CertificateArn"])
        tags = certificate_tags(client, module, certificate["CertificateArn"])
        after["certificate_arn"] = certificate["CertificateArn"]
        return dict(changed=True, diff={"before": {}, "after": after}, **common, **view(certificate, tags))

    certificate = matches[0]
    tag_changes = sync_tags(client, module, certificate, spec.tags)
    if not module.check_mode:
        if params["wait"] and certificate.get("Status") != "ISSUED":
            certificate = wait_until_issued(client, module, certificate["CertificateArn"])
        else:
            certificate = wait_for_records(client, module, certificate)
    before = {**common, "certificate_arn": certificate["CertificateArn"], "tags": tag_changes.current}
    after = {**before, "tags": tag_changes.after}
    shown_tags = tag_changes.current if module.check_mode else tag_changes.after
    return dict(
        changed=tag_changes.changed, diff={"before": before, "after": after}, **common, **view(certificate, shown_tags)
    )


def ensure_present(client, module: AWSModule, names: list[str]) -> None:
    spec = Spec(module.params["domain_name"], names, module.params.get("tags"), client)
    module.exit_json(**present_result(module, spec, find_all_matching(module, [spec])[0]))


def ensure_all_present(module: AWSModule) -> None:
    """O(certificates): every certificate's reads together, then each one's writes, one result each."""
    retry = AWSRetry.jittered_backoff()
    clients: dict[str, Any] = {}
    specs = []
    for certificate in module.params["certificates"]:
        region = certificate.get("region") or module.region
        if region not in clients:  # one client a region, made one after another (a session is not thread-safe)
            clients[region] = module.client("acm", retry_decorator=retry, region=region)
        names = wanted_names(certificate["domain_name"], certificate.get("subject_alternative_names") or [])
        specs.append(Spec(certificate["domain_name"], names, certificate.get("tags"), clients[region]))
    matching = find_all_matching(module, specs)
    results = [
        {"drift_kind": "acm_certificate_request", **present_result(module, spec, matching[index])}
        for index, spec in enumerate(specs)
    ]
    changed = [result for result in results if result["changed"]]
    diff = {
        "before": {f"{r['domain_name']} ({r['region']})": r["diff"]["before"] for r in changed},
        "after": {f"{r['domain_name']} ({r['region']})": r["diff"]["after"] for r in changed},
    }
    module.exit_json(changed=bool(changed), results=results, diff=diff)


def ensure_absent(client, module: AWSModule, names: list[str]) -> None:
    params = module.params
    if params.get("certificate_arn"):
        found = describe(client, module, params["certificate_arn"])
        doomed = [found] if found else []
    else:
        doomed = find_matching(client, module, params["domain_name"], names)
    arns = [certificate["CertificateArn"] for certificate in doomed]
    if arns and not module.check_mode:
        for arn in arns:
            try:
                client.delete_certificate(aws_retry=True, CertificateArn=arn)
            except is_boto3_error_code("ResourceNotFoundException"):
                continue
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
                module.fail_json_aws(e, msg=f"Failed to delete certificate {arn} (is it still in use?)")
    module.exit_json(
        changed=bool(arns),
        diff={"before": {"certificate_arns": arns}, "after": {"certificate_arns": []}},
        deleted_arns=arns,
        region=module.region,
        domain_name=params.get("domain_name"),
        subject_alternative_names=names,
        certificate_arn=None,
        tags={},
    )


def main() -> None:
    argument_spec = dict(
        domain_name=dict(type="str"),
        subject_alternative_names=dict(type="list", elements="str", default=[]),
        certificate_arn=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        key_algorithm=dict(type="str", default="RSA_2048", choices=["RSA_2048", "EC_prime256v1", "EC_secp384r1"]),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=1800),
        records_timeout=dict(type="int", default=60),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        certificates=dict(
            type="list",
            elements="dict",
            options=dict(
                domain_name=dict(type="str", required=True),
                subject_alternative_names=dict(type="list", elements="str", default=[]),
                region=dict(type="str"),
                tags=dict(type="dict"),
            ),
        ),
    )
    module = AWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ["domain_name", "certificates"], True)],
        required_one_of=[("domain_name", "certificate_arn", "certificates")],
        mutually_exclusive=[("domain_name", "certificates"), ("certificate_arn", "certificates")],
    )
    if module.params["certificates"] is not None:
        if module.params["state"] != "present":
            module.fail_json(msg="certificates: only with state=present (delete one certificate a task)")
        ensure_all_present(module)
    client = module.client("acm", retry_decorator=AWSRetry.jittered_backoff())
    domain_name = module.params.get("domain_name")
    names = wanted_names(domain_name, module.params["subject_alternative_names"]) if domain_name else []
    if module.params["state"] == "present":
        ensure_present(client, module, names)
    else:
        ensure_absent(client, module, names)


if __name__ == "__main__":
    main()
