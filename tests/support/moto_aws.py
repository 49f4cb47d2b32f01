"""moto's server, answering where moto 5.2.5 and AWS differ the way AWS does (docs/emulator.md).

Run as `python -m tests.support.moto_aws -H 127.0.0.1 -p PORT` (moto_server's arguments): every
emulator of the project starts this way (tests/support/moto.py, scripts/moto.sh; the controlled
server of tests/support/moto_control.py imports it), so the roles meet AWS's answers, and no role or
inventory works around the emulator for these:

- A new Application Load Balancer's attributes include `access_logs.s3.enabled` = "false", as AWS
  answers DescribeLoadBalancerAttributes; moto leaves the key out ("for Terraform compatibility"),
  and amazon.aws.elb_application_lb then fails (KeyError) on the first run that sets access logs.
"""

from __future__ import annotations

from typing import Any

from moto.elbv2.models import FakeLoadBalancer

# What AWS answers for a new ALB and moto omits: key -> AWS's value.
AWS_ALB_DEFAULTS = {"access_logs.s3.enabled": "false"}

_moto_init = FakeLoadBalancer.__init__


def _init_like_aws(self: FakeLoadBalancer, *args: Any, **kwargs: Any) -> None:
    _moto_init(self, *args, **kwargs)
    for key, value in AWS_ALB_DEFAULTS.items():
        self.attrs.setdefault(key, value)


FakeLoadBalancer.__init__ = _init_like_aws  # type: ignore[method-assign]


def main() -> None:
    from moto.server import main as moto_main

    moto_main()


if __name__ == "__main__":
    main()
