"""The stage's runtime controls: one SSM parameter holding the JSON that lambda_src/chat/controls.py
reads (the kill switch, disabled providers, lowered tier budgets) and scripts/controls.py writes.

Its template value never changes ("{}", no controls): CloudFormation writes the value only when the
resource changes, so no deploy, rollback included, can undo what an operator set during an incident.
It lives in the stateful stack, whose logical IDs are pinned, for the same reason: a replaced parameter
would come back empty."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct

EMPTY_CONTROLS = "{}"


class RuntimeControls(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, removal_policy: cdk.RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        self.parameter = ssm.StringParameter(
            self,
            "Parameter",
            string_value=EMPTY_CONTROLS,
            description="Chatbot runtime controls: kill switch, providers, tier budgets (scripts.controls)",
            tier=ssm.ParameterTier.STANDARD,
        )
        self.parameter.apply_removal_policy(removal_policy)

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """ssm:GetParameter on this parameter only (the parameter's own grant_read adds history and
        listing, which the functions have no use for)."""
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["ssm:GetParameter"], resource_arns=[self.parameter.parameter_arn]
        )

    def grant_write(self, grantee: iam.IGrantable) -> None:
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["ssm:GetParameter", "ssm:PutParameter"],
            resource_arns=[self.parameter.parameter_arn],
        )
