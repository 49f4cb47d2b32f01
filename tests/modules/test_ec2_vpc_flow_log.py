"""library/ec2_vpc_flow_log.py against the moto server, run as a playbook's task runs it
(tests/support/module.py; the re-run once through a real playbook).

The amazon.aws rhythm: check mode (changed, nothing created), real run, re-run (unchanged and
not one mutating request), a tag change, a change of what a flow log cannot change (replaced), a
flow log deleted out of band (made again), delete (check mode first). About 10 s.
"""

from __future__ import annotations

from tests.support import module
from tests.support.requests import writes

GROUP = "/mensetsu/test/vpc-flow-logs"
ROLE_ARN = "arn:aws:iam::123456789012:role/mensetsu-test-flow-logs"


def run_module(vpc_id: str, check: bool = False, playbook: bool = False, **args: object) -> dict:
    """The task's result for the module's options `args` on the VPC; `playbook`: through ansible-playbook."""
    args = {"vpc_id": vpc_id, "log_group_name": GROUP, "deliver_logs_permission_arn": ROLE_ARN, **args}
    return (module.play_module if playbook else module.run_module)("ec2_vpc_flow_log", args, check=check)


def flow_logs(ec2, vpc_id: str) -> list[dict]:
    return ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]


def test_flow_log_lifecycle(aws, boto) -> None:
    ec2 = boto("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]

    planned = run_module(vpc_id, check=True, tags={"Env": "test"})
    assert planned["changed"] is True
    assert planned["diff"]["before"] == {} and planned["diff"]["after"]["traffic_type"] == "ALL"
    assert flow_logs(ec2, vpc_id) == [], "check mode created a flow log"

    created = run_module(vpc_id, tags={"Env": "test"})
    assert created["changed"] is True
    (flow_log,) = flow_logs(ec2, vpc_id)
    assert flow_log["FlowLogId"] == created["flow_log"]["flow_log_id"]
    assert (flow_log["LogDestinationType"], flow_log["LogGroupName"], flow_log["TrafficType"]) == (
        "cloud-watch-logs",
        GROUP,
        "ALL",
    )
    assert flow_log["DeliverLogsPermissionArn"] == ROLE_ARN
    assert {tag["Key"]: tag["Value"] for tag in flow_log["Tags"]} == {"Env": "test"}

    with aws.recording_requests() as requests:
        again = run_module(vpc_id, playbook=True, tags={"Env": "test"})
        planned_again = run_module(vpc_id, check=True, tags={"Env": "test"})
    assert again["changed"] is False and planned_again["changed"] is False
    assert writes(requests) == [], [str(request) for request in writes(requests)]

    retagged = run_module(vpc_id, tags={"Env": "prod"})
    assert retagged["changed"] is True
    (flow_log,) = flow_logs(ec2, vpc_id)
    assert flow_log["FlowLogId"] == created["flow_log"]["flow_log_id"], "a tag change replaced the flow log"
    assert {tag["Key"]: tag["Value"] for tag in flow_log["Tags"]} == {"Env": "prod"}

    # A flow log cannot be modified: another traffic type replaces it (check mode first).
    assert run_module(vpc_id, check=True, traffic_type="REJECT")["changed"] is True
    assert flow_logs(ec2, vpc_id)[0]["TrafficType"] == "ALL", "check mode replaced the flow log"
    replaced = run_module(vpc_id, traffic_type="REJECT")
    assert replaced["changed"] is True and replaced["flow_log_ids"] == [created["flow_log"]["flow_log_id"]]
    assert replaced["diff"]["before"]["traffic_type"] == "ALL" and replaced["diff"]["after"]["traffic_type"] == "REJECT"
    (flow_log,) = flow_logs(ec2, vpc_id)
    assert flow_log["TrafficType"] == "REJECT" and flow_log["FlowLogId"] != created["flow_log"]["flow_log_id"]

    # Deleted out of band (what drift sees): the check run reports it, the converge makes it again.
    ec2.delete_flow_logs(FlowLogIds=[flow_log["FlowLogId"]])
    assert run_module(vpc_id, check=True, traffic_type="REJECT")["changed"] is True
    assert run_module(vpc_id, traffic_type="REJECT")["changed"] is True
    assert [item["TrafficType"] for item in flow_logs(ec2, vpc_id)] == ["REJECT"]

    assert run_module(vpc_id, check=True, state="absent")["changed"] is True
    assert len(flow_logs(ec2, vpc_id)) == 1, "check mode deleted the flow log"
    assert run_module(vpc_id, state="absent")["changed"] is True
    assert flow_logs(ec2, vpc_id) == []
    assert run_module(vpc_id, state="absent")["changed"] is False
