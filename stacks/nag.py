"""cdk-nag wiring and the one helper every acknowledgement goes through."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import IConstruct

MIN_REASON_LENGTH = 20


def add_nag_checks(app: cdk.App) -> None:
    """Make every synth fail on an unacknowledged AwsSolutions or Serverless finding."""
    validations = cdk.Validations.of(app)
    validations.add_plugins(AwsSolutionsChecks(app))
    validations.add_plugins(ServerlessChecks(app))


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one finding on the narrowest construct, with a reason a reviewer can check."""
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(f"acknowledgement of {rule_id} needs a specific reason, got {reason!r}")
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))
