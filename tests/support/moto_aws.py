"""moto's server, answering where moto 5.2.5 and AWS differ the way AWS does (docs/emulator.md).

Run as `python -m tests.support.moto_aws -H 127.0.0.1 -p PORT` (moto_server's arguments): every
emulator of the project starts this way (tests/support/moto.py, scripts/moto.sh; the controlled
server of tests/support/moto_control.py imports it), so the roles meet AWS's answers, and no role or
inventory works around the emulator for these:

- A new Application Load Balancer's attributes include `access_logs.s3.enabled` = "false", as AWS
  answers DescribeLoadBalancerAttributes; moto leaves the key out ("for Terraform compatibility"),
  and amazon.aws.elb_application_lb then fails (KeyError) on the first run that sets access logs.
- AWS Budgets' UpdateBudget, DescribeSubscribersForNotification, CreateSubscriber and
  DeleteSubscriber, which moto 5.2.5 lacks (HTTP 500) although it keeps each notification's
  subscribers; and NotFoundException, not HTTP 500, from DescribeNotificationsForBudget for a
  budget that does not exist. Answered on moto's own budget records, with the errors the Budgets
  API reference gives (NotFoundException, DuplicateRecordException), so roles/aws_budget compares
  and changes subscribers on the emulator as on AWS.
- S3's bucket owner condition: a bucket or object request with ExpectedBucketOwner (the
  x-amz-expected-bucket-owner header) on a bucket another account owns answers 403 AccessDenied, as
  AWS does; moto 5.2.5 ignores the header and answers from the other account's bucket, so
  library/s3_buckets and library/s3_static_sync could not tell a bucket name another account holds
  from this account's bucket.
"""

from __future__ import annotations

import json
from typing import Any

from moto.budgets.exceptions import DuplicateRecordException, NotFoundException
from moto.budgets.models import Budget, Notification
from moto.budgets.responses import BudgetsResponse
from moto.core.utils import unix_time
from moto.elbv2.models import FakeLoadBalancer
from moto.s3.exceptions import BucketAccessDeniedError
from moto.s3.models import s3_backends
from moto.s3.responses import S3Response

# What AWS answers for a new ALB and moto omits: key -> AWS's value.
AWS_ALB_DEFAULTS = {"access_logs.s3.enabled": "false"}

_moto_init = FakeLoadBalancer.__init__


def _init_like_aws(self: FakeLoadBalancer, *args: Any, **kwargs: Any) -> None:
    _moto_init(self, *args, **kwargs)
    for key, value in AWS_ALB_DEFAULTS.items():
        self.attrs.setdefault(key, value)


FakeLoadBalancer.__init__ = _init_like_aws  # type: ignore[method-assign]


def _budget(response: BudgetsResponse, action: str, name: str | None = None) -> Budget:
    name = name or response._get_param("BudgetName")
    budget = response.backend.budgets[response._get_param("AccountId")].get(name)
    if budget is None:
        raise NotFoundException(f"Unable to {action} - the budget {name} doesn't exist.")
    return budget


def _notification(response: BudgetsResponse, action: str) -> Notification:
    wanted = response._get_param("Notification")
    for notification in _budget(response, action).notifications:
        if notification.details == wanted:
            return notification
    raise NotFoundException(f"Unable to {action} - the notification doesn't exist.")


def _update_budget(self: BudgetsResponse) -> str:
    new = self._get_param("NewBudget")
    budget = _budget(self, "update budget", new["BudgetName"])
    kept = {key: budget.budget[key] for key in ("TimePeriod",) if key in budget.budget and key not in new}
    budget.budget = {**new, **kept, "LastUpdatedTime": unix_time()}
    return json.dumps({})


def _describe_notifications_for_budget(self: BudgetsResponse) -> str:
    notifications = [n.details for n in _budget(self, "get notifications").notifications]
    return json.dumps({"Notifications": notifications})


def _describe_subscribers_for_notification(self: BudgetsResponse) -> str:
    return json.dumps({"Subscribers": list(_notification(self, "describe subscribers").subscribers)})


def _create_subscriber(self: BudgetsResponse) -> str:
    notification = _notification(self, "create subscriber")
    subscriber = self._get_param("Subscriber")
    if subscriber in notification.subscribers:
        raise DuplicateRecordException(record_type="subscriber", record_name=subscriber["Address"])
    notification.subscribers = [*notification.subscribers, subscriber]
    return json.dumps({})


def _delete_subscriber(self: BudgetsResponse) -> str:
    notification = _notification(self, "delete subscriber")
    subscriber = self._get_param("Subscriber")
    if subscriber not in notification.subscribers:
        raise NotFoundException("Unable to delete subscriber - the subscriber doesn't exist.")
    notification.subscribers = [s for s in notification.subscribers if s != subscriber]
    if not notification.subscribers:  # AWS: "Deleting the last subscriber ... also deletes the notification"
        budget = _budget(self, "delete subscriber")
        budget.notifications = [n for n in budget.notifications if n is not notification]
    return json.dumps({})


BudgetsResponse.update_budget = _update_budget  # type: ignore[attr-defined]
BudgetsResponse.describe_notifications_for_budget = _describe_notifications_for_budget  # type: ignore[method-assign]
BudgetsResponse.describe_subscribers_for_notification = _describe_subscribers_for_notification  # type: ignore[attr-defined]
BudgetsResponse.create_subscriber = _create_subscriber  # type: ignore[attr-defined]
BudgetsResponse.delete_subscriber = _delete_subscriber  # type: ignore[attr-defined]


def _refuse_another_owner(response: S3Response, request: Any, full_url: str) -> None:
    """AWS: "If the bucket is owned by a different account, the request fails with the HTTP status code
    403 Forbidden (access denied)" (ExpectedBucketOwner, every bucket and object operation that takes it)."""
    expected = request.headers.get("x-amz-expected-bucket-owner")
    bucket_name = response.parse_bucket_name_from_url(request, full_url)
    owner = s3_backends.bucket_accounts.get(bucket_name) if bucket_name else None
    if expected and owner is not None and owner[1] != expected:
        raise BucketAccessDeniedError(bucket_name)


def _with_owner_condition(answer: Any) -> Any:
    def conditioned(self: S3Response, request: Any, full_url: str) -> Any:
        _refuse_another_owner(self, request, full_url)
        return answer(self, request, full_url)

    return conditioned


# Bucket requests (ListObjectsV2, DeleteObjects, GetBucket*...) and object requests (GetObject, PutObject,
# HeadObject...): both turn moto's S3ClientError into S3's error answer.
S3Response._bucket_response = _with_owner_condition(S3Response._bucket_response)  # type: ignore[method-assign]
S3Response._key_response = _with_owner_condition(S3Response._key_response)  # type: ignore[method-assign]


def main() -> None:
    from moto.server import main as moto_main

    moto_main()


if __name__ == "__main__":
    main()
