#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_vpc_routing
short_description: A VPC's internet gateway, route tables and S3 gateway endpoint, read at once
version_added: 1.0.0
description:
  - Reads the VPC's internet gateway, route tables and gateway endpoints with three requests sent side by
    side (C(DescribeInternetGateways), C(DescribeRouteTables), C(DescribeVpcEndpoints); tags come with
    them), compares each resource with its declaration and writes only what differs.
  - It exists because M(amazon.aws.ec2_vpc_igw), M(amazon.aws.ec2_vpc_route_table) and
    M(amazon.aws.ec2_vpc_endpoint) take one resource per call and re-read it and its tags
    (C(DescribeTags)) on every run, about twenty requests one after another when nothing changes.
  - The internet gateway is the one attached to the VPC (created and attached when there is none).
    A route table is found by its C(Name) tag in the VPC; its routes (besides the local route and the
    gateway endpoints' routes, which AWS manages) and its subnet associations are exactly the declared
    ones (a subnet associated with another table is moved). The endpoint is the VPC's gateway endpoint
    of O(endpoint.service); its route tables are all the declared ones.
  - Tags are exactly the declared ones (AWS's own C(aws:*) tags never count).
  - The comparison that decides C(changed) is the one the write path uses. Check mode sends no write.
    Returns one entry per resource in RV(results), with its own C(changed) and C(diff), shaped as the
    collection modules return them (C(gateway_id), C(route_table), C(result)) so that the drift report
    names each one as AWS does.
author:
  - mensetsu platform team (!UNKNOWN)
options:
  vpc_id:
    description: The VPC.
    type: str
    required: true
  internet_gateway_tags:
    description: The internet gateway's tags.
    type: dict
    required: true
  route_tables:
    description: The route tables.
    type: list
    elements: dict
    required: true
    suboptions:
      tags: {description: "The table's tags; its C(Name) tag identifies it in the VPC.", type: dict, required: true}
      subnets: {description: The ids of the subnets associated with it., type: list, elements: str, default: []}
      internet_route:
        description: Whether it routes C(0.0.0.0/0) to the internet gateway (its only route besides AWS's).
        type: bool
        default: false
  endpoint:
    description: The gateway endpoint, on every declared route table.
    type: dict
    required: true
    suboptions:
      service: {description: "The service name (C(com.amazonaws.<region>.s3)).", type: str, required: true}
      tags: {description: The endpoint's tags., type: dict, default: {}}
  wait_timeout:
    description: Seconds to wait for a new endpoint to be available.
    type: int
    default: 320
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Route the public subnets to the internet, the private ones nowhere, both to S3
  ec2_vpc_routing:
    vpc_id: vpc-0123456789abcdef0
    internet_gateway_tags: {Name: mensetsu-dev-igw}
    route_tables:
      - {tags: {Name: mensetsu-dev-public}, subnets: [subnet-0aaa], internet_route: true}
      - {tags: {Name: mensetsu-dev-private}, subnets: [subnet-0bbb]}
    endpoint:
      service: com.amazonaws.ap-northeast-1.s3
      tags: {Name: mensetsu-dev-s3}
"""

RETURN = r"""
internet_gateway_id:
  description: The internet gateway's id (empty for one check mode would create).
  returned: always
  type: str
route_table_ids:
  description: The route tables' ids in the declared order (empty for one check mode would create).
  returned: always
  type: list
  elements: str
results:
  description: "One entry per resource: the internet gateway, each route table, the endpoint."
  returned: always
  type: list
  elements: dict
  contains:
    resource: {description: "V(internet_gateway), V(route_table) or V(endpoint).", type: str}
    label: {description: "The resource and its declared name (the drift report names the result by it).", type: str}
    drift_kind: {description: The collection module whose resource kind it is (for the drift report)., type: str}
    action: {description: "V(created), V(updated) or V(unchanged).", type: str}
    changed: {description: "Whether it was (or, in check mode, would be) written.", type: bool}
    diff: {description: "The settings that differ, before (actual) and after (declared).", type: dict}
    gateway_id: {description: The internet gateway's id (internet gateway)., type: str}
    tags: {description: The internet gateway's tags (internet gateway)., type: dict}
    route_table: {description: "The table's C(id) and C(tags) (route table).", type: dict}
    result: {description: "The endpoint's C(vpc_endpoint_id) and C(tags) (endpoint).", type: dict}
"""

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AWSModule reports the missing botocore

from ansible.module_utils.aws_module import AWSModule
from ansible.module_utils.ec2_state import (
    differences,
    ec2_tags,
    result_entry,
    tag_specifications,
    write_ec2_tags,
)
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

GONE = {"deleting", "deleted", "rejected", "failed", "expired"}
DESTINATIONS = ("DestinationCidrBlock", "DestinationIpv6CidrBlock", "DestinationPrefixListId")
TARGETS = (
    "GatewayId",
    "NatGatewayId",
    "InstanceId",
    "NetworkInterfaceId",
    "VpcPeeringConnectionId",
    "TransitGatewayId",
    "LocalGatewayId",
    "CarrierGatewayId",
    "CoreNetworkArn",
)
INTERNET = "0.0.0.0/0"
PLANNED_IGW = "(the internet gateway check mode would create)"


# EC2 is eventually consistent: for a few seconds after a creation, AWS may answer a write or read
# that names a new internet gateway, route table or endpoint (attaching it, a route through it, a
# subnet's association, reading the endpoint by id) with a NotFound error. Those answers are
# retried with backoff, as the amazon.aws modules do (they wait or retry on the same codes).
RETRY_CODES = [
    "InvalidInternetGatewayID.NotFound",
    "InvalidGatewayID.NotFound",
    "InvalidRouteTableID.NotFound",
    "InvalidVpcEndpointId.NotFound",
]


def pages(client: Any, operation: str, key: str, **request: Any) -> list[dict[str, Any]]:
    return [item for page in client.get_paginator(operation).paginate(**request) for item in page.get(key, [])]


def read(client: Any, vpc_id: str, service: str) -> tuple[list, list, list]:
    """The VPC's internet gateways, route tables and endpoints of the service: three requests in flight at once."""
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    with ThreadPoolExecutor(max_workers=3) as pool:
        gateways = pool.submit(
            pages,
            client,
            "describe_internet_gateways",
            "InternetGateways",
            Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}],
        )
        tables = pool.submit(pages, client, "describe_route_tables", "RouteTables", Filters=in_vpc)
        endpoints = pool.submit(
            pages,
            client,
            "describe_vpc_endpoints",
            "VpcEndpoints",
            Filters=[*in_vpc, {"Name": "service-name", "Values": [service]}],
        )
        return gateways.result(), tables.result(), endpoints.result()


def routes_of(table: dict[str, Any]) -> dict[str, str]:
    """destination -> target of the routes the task manages: not the local route (CreateRouteTable),
    not a gateway endpoint's (vpce-) nor a propagated one."""
    routes = {}
    for route in table.get("Routes") or []:
        if route.get("Origin") in ("CreateRouteTable", "EnableVgwRoutePropagation"):
            continue
        if str(route.get("GatewayId", "")).startswith("vpce-") or route.get("GatewayId") == "local":
            continue
        destination = next((route[key] for key in DESTINATIONS if route.get(key)), None)
        target = next((route[key] for key in TARGETS if route.get(key)), "")
        if destination:
            routes[destination] = target
    return routes


def subnets_of(table: dict[str, Any]) -> dict[str, str]:
    """subnet id -> association id of the table's explicit subnet associations."""
    return {
        item["SubnetId"]: item["RouteTableAssociationId"]
        for item in table.get("Associations") or []
        if item.get("SubnetId")
        and not item.get("Main")
        and (item.get("AssociationState") or {}).get("State", "associated") == "associated"
    }


def strings(tags: dict[str, Any] | None) -> dict[str, str]:
    return {str(key): str(value) for key, value in (tags or {}).items()}


class Routing:
    def __init__(self, module: Any, client: Any) -> None:
        self.module, self.client = module, client
        self.vpc_id = module.params["vpc_id"]
        self.write = not module.check_mode
        self.results: list[dict[str, Any]] = []
        self.moved: set[str] = set()  # association ids this run replaced or removed

    def entry(self, resource: str, kind: str, diff: dict[str, Any], existed: bool, name: str) -> dict[str, Any]:
        return result_entry(self.results, resource, kind, diff, existed, name)

    def internet_gateway(self, gateways: list[dict[str, Any]]) -> str:
        if len(gateways) > 1:
            self.module.fail_json(msg=f"{self.vpc_id} has {len(gateways)} internet gateways attached; AWS allows one")
        declared = {"tags": strings(self.module.params["internet_gateway_tags"])}
        found = gateways[0] if gateways else None
        diff = differences(declared, {"tags": ec2_tags(found)} if found else None)
        entry = self.entry("internet_gateway", "ec2_vpc_igw", diff, found is not None, declared["tags"].get("Name", ""))
        gateway_id = found["InternetGatewayId"] if found else ""
        if diff and self.write:
            if found:
                write_ec2_tags(self.client, gateway_id, declared["tags"], ec2_tags(found))
            else:
                created = self.client.create_internet_gateway(
                    aws_retry=True, TagSpecifications=tag_specifications("internet-gateway", declared["tags"])
                )["InternetGateway"]
                gateway_id = created["InternetGatewayId"]
                self.client.attach_internet_gateway(aws_retry=True, InternetGatewayId=gateway_id, VpcId=self.vpc_id)
        entry.update(
            gateway_id=gateway_id,
            vpc_id=self.vpc_id,
            tags=declared["tags"] if diff and self.write else (ec2_tags(found) if found else declared["tags"]),
        )
        return gateway_id

    def route_table(self, spec: dict[str, Any], tables: list[dict[str, Any]], gateway_id: str) -> str:
        tags = strings(spec["tags"])
        name = tags["Name"]
        named = [table for table in tables if ec2_tags(table).get("Name") == name]
        if len(named) > 1:
            self.module.fail_json(msg=f"{len(named)} route tables of {self.vpc_id} are named {name}")
        found = named[0] if named else None
        routes = {INTERNET: gateway_id or PLANNED_IGW} if spec["internet_route"] else {}
        declared = {"routes": routes, "subnets": sorted(spec["subnets"]), "tags": tags}
        actual = (
            {"routes": routes_of(found), "subnets": sorted(subnets_of(found)), "tags": ec2_tags(found)}
            if found
            else None
        )
        diff = differences(declared, actual)
        entry = self.entry("route_table", "ec2_vpc_route_table", diff, found is not None, name)
        table_id = found["RouteTableId"] if found else ""
        if diff and self.write:
            if not found:
                table_id = self.client.create_route_table(
                    aws_retry=True, VpcId=self.vpc_id, TagSpecifications=tag_specifications("route-table", tags)
                )["RouteTable"]["RouteTableId"]
                actual = {"routes": {}, "subnets": [], "tags": tags}
            self.converge_table(table_id, declared, actual, tables, found)
        entry["route_table"] = {"id": table_id, "route_table_id": table_id, "vpc_id": self.vpc_id}
        entry["route_table"]["tags"] = tags if (diff and self.write) or not found else ec2_tags(found)
        return table_id

    def converge_table(
        self, table_id: str, declared: dict, actual: dict, tables: list[dict], found: dict | None
    ) -> None:
        client = self.client
        kinds = {
            route[key]: key for route in (found or {}).get("Routes") or [] for key in DESTINATIONS if route.get(key)
        }
        for destination in sorted(set(actual["routes"]) - set(declared["routes"])):
            client.delete_route(aws_retry=True, RouteTableId=table_id, **{kinds[destination]: destination})
        for destination, target in sorted(declared["routes"].items()):
            if actual["routes"].get(destination) == target:
                continue
            call = client.replace_route if destination in actual["routes"] else client.create_route
            call(aws_retry=True, RouteTableId=table_id, DestinationCidrBlock=destination, GatewayId=target)
        have = subnets_of(found) if found else {}
        elsewhere = {
            subnet: association
            for table in tables
            if table["RouteTableId"] != table_id
            for subnet, association in subnets_of(table).items()
            if association not in self.moved
        }
        for subnet in sorted(set(declared["subnets"]) - set(have)):
            if subnet in elsewhere:
                client.replace_route_table_association(
                    aws_retry=True, AssociationId=elsewhere[subnet], RouteTableId=table_id
                )
                self.moved.add(elsewhere[subnet])
            else:
                client.associate_route_table(aws_retry=True, RouteTableId=table_id, SubnetId=subnet)
        for subnet in sorted(set(have) - set(declared["subnets"])):
            if have[subnet] in self.moved:  # an earlier table of this run took the subnet over
                continue
            client.disassociate_route_table(aws_retry=True, AssociationId=have[subnet])
            self.moved.add(have[subnet])
        write_ec2_tags(client, table_id, declared["tags"], actual["tags"])

    def endpoint(self, endpoints: list[dict[str, Any]], table_ids: list[str]) -> None:
        spec = self.module.params["endpoint"]
        live = [
            e
            for e in endpoints
            if e.get("VpcEndpointType", "Gateway") == "Gateway" and str(e.get("State", "")).lower() not in GONE
        ]
        found = live[0] if live else None
        # A route table check mode would create has no id yet: named by its place in the list.
        planned = sorted(table_id or f"(route table {number + 1})" for number, table_id in enumerate(table_ids))
        declared = {"route_table_ids": planned, "tags": strings(spec["tags"])}
        actual = (
            {"route_table_ids": sorted(found.get("RouteTableIds") or []), "tags": ec2_tags(found)} if found else None
        )
        diff = differences(declared, actual)
        entry = self.entry("endpoint", "ec2_vpc_endpoint", diff, found is not None, spec["service"])
        endpoint_id = found["VpcEndpointId"] if found else ""
        if diff and self.write:
            if found:
                added = sorted(set(declared["route_table_ids"]) - set(actual["route_table_ids"]))
                removed = sorted(set(actual["route_table_ids"]) - set(declared["route_table_ids"]))
                if added or removed:
                    self.client.modify_vpc_endpoint(
                        aws_retry=True, VpcEndpointId=endpoint_id, AddRouteTableIds=added, RemoveRouteTableIds=removed
                    )
                write_ec2_tags(self.client, endpoint_id, declared["tags"], actual["tags"])
            else:
                endpoint_id = self.client.create_vpc_endpoint(
                    aws_retry=True,
                    VpcEndpointType="Gateway",
                    VpcId=self.vpc_id,
                    ServiceName=spec["service"],
                    RouteTableIds=declared["route_table_ids"],
                    TagSpecifications=tag_specifications("vpc-endpoint", declared["tags"]),
                )["VpcEndpoint"]["VpcEndpointId"]
                self.await_endpoint(endpoint_id)
        tags = declared["tags"] if (diff and self.write) or not found else ec2_tags(found)
        entry["result"] = {"vpc_endpoint_id": endpoint_id, "service_name": spec["service"], "tags": tags}

    def await_endpoint(self, endpoint_id: str) -> None:
        deadline = time.monotonic() + self.module.params["wait_timeout"]
        while True:
            found = self.client.describe_vpc_endpoints(aws_retry=True, VpcEndpointIds=[endpoint_id])["VpcEndpoints"]
            if found and str(found[0].get("State", "")).lower() == "available":
                return
            if time.monotonic() > deadline:
                self.module.fail_json(msg=f"the endpoint {endpoint_id} is not available after the wait_timeout")
            time.sleep(5)


def converge(module: Any, client: Any) -> dict[str, Any]:
    """Read once (three requests side by side), then write only what differs; the module's result."""
    routing = Routing(module, client)
    names = [strings(spec["tags"]).get("Name") for spec in module.params["route_tables"]]
    if not all(names) or len(set(names)) != len(names):
        module.fail_json(msg=f"route_tables: each table needs a Name tag of its own (it identifies it): {names}")
    try:
        gateways, tables, endpoints = read(client, routing.vpc_id, module.params["endpoint"]["service"])
        gateway_id = routing.internet_gateway(gateways)
        table_ids = [routing.route_table(spec, tables, gateway_id) for spec in module.params["route_tables"]]
        routing.endpoint(endpoints, table_ids)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to converge the routing of {routing.vpc_id}")
    changed = [entry for entry in routing.results if entry["changed"]]
    return {
        "changed": bool(changed),
        "internet_gateway_id": gateway_id,
        "route_table_ids": table_ids,
        "results": routing.results,
        "diff": {
            "before": {
                f"{entry['resource']} {number}": entry["diff"]["before"] for number, entry in enumerate(changed)
            },
            "after": {f"{entry['resource']} {number}": entry["diff"]["after"] for number, entry in enumerate(changed)},
        },
    }


def main() -> None:
    table_options = dict(
        tags=dict(type="dict", required=True),
        subnets=dict(type="list", elements="str", default=[]),
        internet_route=dict(type="bool", default=False),
    )
    endpoint_options = dict(service=dict(type="str", required=True), tags=dict(type="dict", default={}))
    argument_spec = dict(
        vpc_id=dict(type="str", required=True),
        internet_gateway_tags=dict(type="dict", required=True),
        route_tables=dict(type="list", elements="dict", required=True, options=table_options),
        endpoint=dict(type="dict", required=True, options=endpoint_options),
        wait_timeout=dict(type="int", default=320),
    )
    module = AWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff(catch_extra_error_codes=RETRY_CODES))
    module.exit_json(**converge(module, client))


if __name__ == "__main__":
    main()
