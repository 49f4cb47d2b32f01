#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: route53_records
short_description: Put or delete many Route 53 records of one hosted zone, reading the zone once
version_added: 1.0.0
description:
  - Reads the declared records of the hosted zone with one paginated C(ListResourceRecordSets)
    (only the range of names the declaration spans, in Route 53's order), compares each with its
    declaration and writes only those that differ, all in one C(ChangeResourceRecordSets) batch
    (C(UPSERT), or C(DELETE) with O(state=absent); batches of at most 1000 changes).
  - It exists because M(amazon.aws.route53) takes one record per call and lists the whole zone on
    every call, so a loop over N records is N module runs and N zone reads when nothing changes.
  - Records are compared the way Route 53 answers, not as declared. A name is the same record with
    or without the final dot and in any case (Route 53 stores names in lower case and returns
    every character other than a-z, 0-9, hyphen and underscore as a three-digit octal escape, so
    C(*.example.com) is C(\\052.example.com.)). An alias's DNS name is compared in lower case with
    its final dot (Route 53 answers so; C(dualstack.) stays significant). The values of CNAME,
    NS and PTR records are domain names, compared the same way; AAAA values as addresses; a TXT
    value that is not quoted is quoted (split into 255-character strings), as Route 53 stores it.
  - Records the task does not declare are never touched. Only simple records (no set identifier)
    are managed.
  - The comparison that decides C(changed) is the one the write path uses. Check mode sends no
    write. Returns one entry per declared record in RV(results), with its own C(changed) and
    C(diff) (before the actual record, after the declared one, only what differs).
author:
  - mensetsu platform team (!UNKNOWN)
options:
  hosted_zone_id:
    description: The hosted zone's id (with or without C(/hostedzone/)).
    type: str
  zone:
    description: The public hosted zone of this name, when O(hosted_zone_id) is not given.
    type: str
  records:
    description: The records, in the order their results are returned.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: "The record's fully qualified name (final dot optional, any case)."
        type: str
        required: true
      type:
        description: The record type.
        type: str
        required: true
        choices: [A, AAAA, CAA, CNAME, DS, HTTPS, MX, NAPTR, NS, PTR, SOA, SPF, SRV, SSHFP, SVCB, TLSA, TXT]
      ttl: {description: "The TTL of a record that is not an alias (default 3600).", type: int}
      values: {description: The values of a record that is not an alias., type: list, elements: str}
      alias:
        description: The alias target (then no O(records[].ttl) nor O(records[].values)).
        type: dict
        suboptions:
          dns_name: {description: The target's DNS name., type: str, required: true}
          hosted_zone_id: {description: The target's hosted zone id., type: str, required: true}
          evaluate_target_health:
            description: Whether Route 53 evaluates the target's health.
            type: bool
            default: false
  state:
    description:
      - V(present) makes each record exactly as declared. V(absent) deletes each declared record
        (by name and type) that exists, with its current values; its values are not needed.
    type: str
    default: present
    choices: [present, absent]
  wait:
    description: Wait until the change is C(INSYNC) on Route 53's name servers.
    type: bool
    default: false
  wait_timeout:
    description: How long to wait, in seconds.
    type: int
    default: 300
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Point the apex at CloudFront and write a validation record
  route53_records:
    zone: example.com
    records:
      - name: example.com
        type: A
        alias: {dns_name: d111111abcdef8.cloudfront.net, hosted_zone_id: Z2FDTNDATAQYW2}
      - name: _3b2a.example.com.
        type: CNAME
        ttl: 300
        values: [_c4d5.acm-validations.aws.]

- name: Delete them, with whatever values they have now
  route53_records:
    hosted_zone_id: Z0123456789ABCDEFGHIJ
    state: absent
    records:
      - {name: example.com, type: A}
      - {name: _3b2a.example.com., type: CNAME}
"""

RETURN = r"""
hosted_zone_id:
  description: The zone's id (without C(/hostedzone/)).
  returned: when the zone exists
  type: str
change_id:
  description: The id of the last change batch sent (absent when nothing was written).
  returned: when written
  type: str
results:
  description: One entry per declared record, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    record: {description: "The record's name as a person writes it (no final dot, C(*) unescaped).", type: str}
    name: {description: "The record's name as Route 53 returns it (lower case, escaped, final dot).", type: str}
    type: {description: The record type., type: str}
    label: {description: "C(<record> <type>), how the drift report and the unmanaged scan name the record.", type: str}
    hosted_zone_id: {description: The zone's id., type: str}
    action: {description: "V(created), V(updated), V(deleted), V(unchanged) or V(absent).", type: str}
    changed: {description: "Whether the record was (or, in check mode, would be) written.", type: bool}
    record_set:
      description: "The record after the task (C(value), C(values), C(ttl), C(alias), C(alias_hosted_zone_id),
        C(alias_evaluate_target_health), as M(amazon.aws.route53) names them); empty when it does not exist."
      type: dict
    diff:
      description: "What differs: before (actual) and after (declared), the keys of RV(results[].record_set)."
      type: dict
  sample:
    - {record: api.example.com, name: api.example.com., type: A, label: api.example.com A, action: updated,
       changed: true, hosted_zone_id: Z0123456789ABCDEFGHIJ,
       diff: {before: {alias: false, value: 198.51.100.7, ttl: 60},
              after: {alias: true, value: my-alb-1.eu-west-1.elb.amazonaws.com., ttl: null}}}
"""

import ipaddress
import re
from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError, WaiterError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError, WaiterError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.ec2_state import results_diff
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# AWS's limit per ChangeResourceRecordSets request (and the records of a page it lists).
MAX_CHANGES = 1000
PAGE_SIZE = "300"
DEFAULT_TTL = 3600
# Route 53 answers a change while an earlier one of the zone is applied with PriorRequestNotComplete.
RETRY_CODES = ["PriorRequestNotComplete"]
NAME_TYPES = {"CNAME", "NS", "PTR"}  # types whose values are domain names
_PLAIN = re.compile(r"[a-z0-9_-]")
_ESCAPE = re.compile(r"\\(\d{3}|.)")

Key = tuple[str, str]  # (name as Route 53 returns it, type)


def _labels(name: str) -> list[str]:
    """A name's labels, unescaped (\\ddd and \\c), split on the dots that are not escaped."""
    labels, current, index = [], "", 0
    while index < len(name):
        char = name[index]
        match = _ESCAPE.match(name, index) if char == "\\" else None
        if match:
            code = match.group(1)
            current += chr(int(code, 8)) if len(code) == 3 else code
            index = match.end()
            continue
        if char == ".":
            labels.append(current)
            current = ""
        else:
            current += char
        index += 1
    if current:
        labels.append(current)
    return labels


def stored_name(name: str) -> str:
    """A name as ListResourceRecordSets returns it: lower case, every character but a-z, 0-9,
    hyphen and underscore as a \\ddd octal escape, the final dot."""
    labels = [label.lower() for label in _labels(name.strip())]
    return "".join(
        "".join(char if _PLAIN.fullmatch(char) else f"\\{ord(char):03o}" for char in label) + "." for label in labels
    )


def display_name(name: str) -> str:
    """A name as a person writes it: unescaped, without the final dot (a literal dot stays escaped)."""
    return ".".join(label.replace(".", "\\056") for label in _labels(name))


def order_key(name: str) -> str:
    """Route 53's listing order of a name: its labels reversed with the final dot, compared as
    ASCII on the characters themselves (`*` is 42, before `.` and the digits, not its escape `\\052`)."""
    return ".".join(reversed(_labels(name.lower()))) + "."


def domain_value(value: str) -> str:
    return value.strip().lower().rstrip(".") + "."


def txt_value(value: str) -> str:
    """A TXT (or SPF) value as Route 53 stores it: quoted strings of at most 255 characters."""
    if value.startswith('"'):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    chunks = [escaped[start : start + 255] for start in range(0, len(escaped), 255)] or [""]
    return " ".join(f'"{chunk}"' for chunk in chunks)


def canonical_value(record_type: str, value: str) -> str:
    """A value in the form Route 53's answer is compared in."""
    if record_type in NAME_TYPES:
        return domain_value(value)
    if record_type == "AAAA":
        try:
            return str(ipaddress.IPv6Address(value.strip()))
        except ValueError:
            return value
    if record_type in ("TXT", "SPF"):
        return txt_value(value)
    return value


def view(record_type: str, record_set: dict[str, Any] | None) -> dict[str, Any]:
    """A record set (AWS's shape) as it is compared and shown, in amazon.aws.route53's terms; {} for none."""
    if not record_set:
        return {}
    alias = record_set.get("AliasTarget")
    if alias:
        return {
            "alias": True,
            "value": domain_value(alias["DNSName"]),
            "values": [domain_value(alias["DNSName"])],
            "ttl": None,
            "alias_hosted_zone_id": alias["HostedZoneId"],
            "alias_evaluate_target_health": bool(alias.get("EvaluateTargetHealth")),
        }
    values = sorted(canonical_value(record_type, item["Value"]) for item in record_set.get("ResourceRecords") or [])
    return {
        "alias": False,
        "value": ",".join(values),
        "values": values,
        "ttl": record_set.get("TTL"),
        "alias_hosted_zone_id": None,
        "alias_evaluate_target_health": None,
    }


def declared_set(spec: dict[str, Any]) -> dict[str, Any]:
    """The record set a declaration makes (what an UPSERT sends), named as Route 53 stores it."""
    record_set: dict[str, Any] = {"Name": stored_name(spec["name"]), "Type": spec["type"]}
    alias = spec.get("alias")
    if alias:
        record_set["AliasTarget"] = {
            "DNSName": alias["dns_name"],
            "HostedZoneId": alias["hosted_zone_id"],
            "EvaluateTargetHealth": bool(alias.get("evaluate_target_health")),
        }
    else:
        values = spec.get("values") or []
        if spec["type"] in ("TXT", "SPF"):
            values = [txt_value(value) for value in values]
        record_set["TTL"] = DEFAULT_TTL if spec.get("ttl") is None else spec["ttl"]
        record_set["ResourceRecords"] = [{"Value": value} for value in values]
    return record_set


def differences(declared: dict[str, Any], actual: dict[str, Any]) -> dict[str, Any]:
    """The diff that decides every write, between two view()s: {} when equal. A missing record
    (or, with state absent, a declared one: {}) has the whole other side. `values` is shown only
    when the joined `value` does not show the difference."""
    if declared == actual:
        return {}
    if not declared or not actual:
        return {"before": _shown(actual), "after": _shown(declared)}
    differ = [key for key in declared if declared[key] != actual.get(key)]
    if "value" in differ and "values" in differ:
        differ.remove("values")
    return {"before": {key: actual.get(key) for key in differ}, "after": {key: declared[key] for key in differ}}


def _shown(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key != "values" and value is not None}


def zone_id_of(module: Any, client: Any) -> str | None:
    """The hosted zone's id: the given one, or the public zone of that name (one ListHostedZonesByName)."""
    given = module.params.get("hosted_zone_id")
    if given:
        return given.rsplit("/", 1)[-1]
    name = stored_name(module.params["zone"])
    try:
        answer = client.list_hosted_zones_by_name(aws_retry=True, DNSName=name, MaxItems="100")
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to find the hosted zone {module.params['zone']}")
    found = [
        zone["Id"].rsplit("/", 1)[-1]
        for zone in answer.get("HostedZones", [])
        if stored_name(zone["Name"]) == name and not (zone.get("Config") or {}).get("PrivateZone")
    ]
    if len(found) > 1:
        module.fail_json(
            msg=f"{len(found)} public hosted zones are named {module.params['zone']} ({', '.join(found)}): "
            "give hosted_zone_id"
        )
    return found[0] if found else None


def read_records(client: Any, zone_id: str, keys: list[Key]) -> dict[Key, dict[str, Any]]:
    """The zone's simple record sets of the declared names: one paginated ListResourceRecordSets from
    the first declared name, in Route 53's order, to the last (not the whole zone)."""
    first = min(keys, key=lambda key: (order_key(key[0]), key[1]))
    last = max(order_key(name) for name, _type in keys)
    wanted = set(keys)
    found: dict[Key, dict[str, Any]] = {}
    request: dict[str, Any] = {"HostedZoneId": zone_id, "StartRecordName": first[0], "MaxItems": PAGE_SIZE}
    while True:
        page = client.list_resource_record_sets(aws_retry=True, **request)
        for record_set in page.get("ResourceRecordSets", []):
            key = (stored_name(record_set["Name"]), record_set["Type"])
            if key in wanted and "SetIdentifier" not in record_set:
                found[key] = record_set
        if not page.get("IsTruncated") or order_key(stored_name(page["NextRecordName"])) > last:
            return found
        request = {
            "HostedZoneId": zone_id,
            "StartRecordName": page["NextRecordName"],
            "StartRecordType": page["NextRecordType"],
            "MaxItems": PAGE_SIZE,
        }
        if page.get("NextRecordIdentifier"):
            request["StartRecordIdentifier"] = page["NextRecordIdentifier"]


def check_specs(module: Any, specs: list[dict[str, Any]], present: bool) -> None:
    """Stop before any request on a declaration that cannot be written, naming the record."""
    seen: set[Key] = set()
    for spec in specs:
        label = f"{spec['name']} {spec['type']}"
        key = (stored_name(spec["name"]), spec["type"])
        if key in seen:
            module.fail_json(msg=f"record {label} is declared more than once")
        seen.add(key)
        if not present:
            continue
        if spec.get("alias") and (spec.get("values") or spec.get("ttl") is not None):
            module.fail_json(msg=f"record {label}: an alias has no ttl nor values")
        if not spec.get("alias") and not spec.get("values"):
            module.fail_json(msg=f"record {label}: give values or alias")
        if not spec.get("alias") and spec["type"] == "CNAME" and len(spec["values"]) != 1:
            module.fail_json(msg=f"record {label}: a CNAME has exactly one value")


def write(module: Any, client: Any, zone_id: str, changes: list[tuple[str, dict[str, Any]]]) -> str:
    """All the changes, in batches of at most MAX_CHANGES; waits for INSYNC when asked. The id of the last batch."""
    change_id = ""
    for start in range(0, len(changes), MAX_CHANGES):
        batch = changes[start : start + MAX_CHANGES]
        labels = ", ".join(f"{display_name(record['Name'])} {record['Type']}" for _action, record in batch)
        try:
            answer = client.change_resource_record_sets(
                aws_retry=True,
                HostedZoneId=zone_id,
                ChangeBatch={
                    "Comment": "route53_records",
                    "Changes": [{"Action": action, "ResourceRecordSet": record} for action, record in batch],
                },
            )
            change_id = answer["ChangeInfo"]["Id"]
            if module.params["wait"]:
                delay = 10
                client.get_waiter("resource_record_sets_changed").wait(
                    Id=change_id,
                    WaiterConfig={"Delay": delay, "MaxAttempts": max(1, module.params["wait_timeout"] // delay)},
                )
        except AWS_ERRORS as e:
            module.fail_json_aws(e, msg=f"Failed to write the records {labels} in the hosted zone {zone_id}")
    return change_id


def converge(module: Any, client: Any) -> dict[str, Any]:
    """Read the declared records once, decide per record with differences(), write what differs in one batch."""
    specs = module.params["records"]
    present = module.params["state"] == "present"
    check_specs(module, specs, present)
    if not specs:
        return {"changed": False, "results": [], "diff": {"before": {}, "after": {}}}
    zone_id = zone_id_of(module, client)
    keys = [(stored_name(spec["name"]), spec["type"]) for spec in specs]
    if zone_id is None:
        if present and not module.check_mode:
            module.fail_json(msg=f"no public hosted zone is named {module.params['zone']}")
        existing: dict[Key, dict[str, Any]] = {}  # check mode: the zone is to be created before the records
    else:
        try:
            existing = read_records(client, zone_id, keys)
        except AWS_ERRORS as e:
            module.fail_json_aws(e, msg=f"Failed to read the records of the hosted zone {zone_id}")
    results, changes = [], []
    for spec, key in zip(specs, keys, strict=True):
        actual_set = existing.get(key)
        wanted_set = declared_set(spec) if present else None
        actual, declared = view(spec["type"], actual_set), view(spec["type"], wanted_set)
        diff = differences(declared, actual)
        if diff:
            changes.append(("UPSERT", wanted_set) if wanted_set else ("DELETE", actual_set))
        if not diff:
            action = "unchanged" if actual else "absent"
        else:
            action = "deleted" if not present else "updated" if actual else "created"
        entry: dict[str, Any] = {
            "record": display_name(key[0]),
            "name": key[0],
            "type": key[1],
            "label": f"{display_name(key[0])} {key[1]}",
            "action": action,
            "changed": bool(diff),
            "record_set": declared if diff else actual,
        }
        if zone_id:
            entry["hosted_zone_id"] = zone_id
        if diff:
            entry["diff"] = diff
        results.append(entry)
    outcome: dict[str, Any] = {"changed": bool(changes), "results": results}
    if zone_id:
        outcome["hosted_zone_id"] = zone_id
    if changes and not module.check_mode and zone_id:
        outcome["change_id"] = write(module, client, zone_id, changes)
    outcome["diff"] = results_diff(results)
    return outcome


def main() -> None:
    alias_options = dict(
        dns_name=dict(type="str", required=True),
        hosted_zone_id=dict(type="str", required=True),
        evaluate_target_health=dict(type="bool", default=False),
    )
    record_options = dict(
        name=dict(type="str", required=True),
        type=dict(
            type="str",
            required=True,
            choices=[
                "A",
                "AAAA",
                "CAA",
                "CNAME",
                "DS",
                "HTTPS",
                "MX",
                "NAPTR",
                "NS",
                "PTR",
                "SOA",
                "SPF",
                "SRV",
                "SSHFP",
                "SVCB",
                "TLSA",
                "TXT",
            ],
        ),
        ttl=dict(type="int"),
        values=dict(type="list", elements="str"),
        alias=dict(type="dict", options=alias_options),
    )
    argument_spec = dict(
        hosted_zone_id=dict(type="str"),
        zone=dict(type="str"),
        records=dict(type="list", elements="dict", required=True, options=record_options),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=300),
    )
    module = AWSModule(
        argument_spec=argument_spec, supports_check_mode=True, required_one_of=[("hosted_zone_id", "zone")]
    )
    client = module.client("route53", retry_decorator=AWSRetry.jittered_backoff(catch_extra_error_codes=RETRY_CODES))
    module.exit_json(**converge(module, client))


if __name__ == "__main__":
    main()
