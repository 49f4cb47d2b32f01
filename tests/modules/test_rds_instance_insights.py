"""What amazon.aws.rds_instance compares for the database's Performance Insights and log exports,
fed the DescribeDBInstances record AWS gives (moto 5.2.5 drops Performance Insights, so only AWS's
answer shows the re-run's behaviour).

The role sends enable_performance_insights, performance_insights_retention_period 7 and
enable_cloudwatch_logs_exports (roles/aws_data/tasks/main.yml). On AWS's record of an instance
that holds them, the module finds nothing to modify: the second run is changed=0. On the record
moto keeps, Performance Insights would be modified on every run: why inventories/local lists it
in emulator_missing_features and the role neither sends nor compares it there.
"""

from __future__ import annotations

import copy

from ansible_collections.amazon.aws.plugins.modules import rds_instance

# What the role asks for, as the module turns it into ModifyDBInstance parameters.
WANTED = {
    "EnablePerformanceInsights": True,
    "PerformanceInsightsRetentionPeriod": 7,
    "CloudwatchLogsExportConfiguration": ["postgresql", "upgrade"],
}
# DescribeDBInstances on AWS for such an instance (the fields the comparison reads; shaped by the
# RDS service model: DBInstance).
AWS_RECORD = {
    "DBInstanceIdentifier": "mensetsu-prod-db",
    "Endpoint": {"Address": "mensetsu-prod-db.abc.ap-northeast-1.rds.amazonaws.com", "Port": 5432},
    "DBSubnetGroup": {"DBSubnetGroupName": "mensetsu-prod-db"},
    "OptionGroupMemberships": [{"OptionGroupName": "default:postgres-16", "Status": "in-sync"}],
    "DBSecurityGroups": [],
    "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-0123456789abcdef0", "Status": "active"}],
    "DBParameterGroups": [{"DBParameterGroupName": "mensetsu-prod-db", "ParameterApplyStatus": "in-sync"}],
    "IAMDatabaseAuthenticationEnabled": False,
    "PerformanceInsightsEnabled": True,
    "PerformanceInsightsRetentionPeriod": 7,
    "PerformanceInsightsKMSKeyId": "arn:aws:kms:ap-northeast-1:123456789012:key/0d2f5a1e-1111-2222-3333-444455556666",
    "EnabledCloudwatchLogsExports": ["postgresql", "upgrade"],
    "PendingModifiedValues": {},
}


def changes(record: dict) -> dict:
    wanted = copy.deepcopy(WANTED)
    found = rds_instance.get_changing_options_with_inconsistent_keys(wanted, record, True, True)
    return found | rds_instance.get_changing_options_with_consistent_keys(wanted, record)


def test_on_aws_a_converged_instance_needs_no_modification() -> None:
    assert changes(AWS_RECORD) == {}


def test_on_aws_a_turned_off_export_or_insight_is_seen() -> None:
    off = AWS_RECORD | {"PerformanceInsightsEnabled": False, "EnabledCloudwatchLogsExports": ["postgresql"]}
    assert changes(off) == {
        "EnablePerformanceInsights": True,
        "CloudwatchLogsExportConfiguration": {"EnableLogTypes": ["upgrade"], "DisableLogTypes": []},
    }


def test_moto_s_record_would_modify_performance_insights_on_every_run() -> None:
    moto = {key: value for key, value in AWS_RECORD.items() if not key.startswith("PerformanceInsights")}
    assert changes(moto) == {"EnablePerformanceInsights": True, "PerformanceInsightsRetentionPeriod": 7}
