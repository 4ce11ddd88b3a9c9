"""A customer managed key for one stack's log groups, and the log groups made with it.

The key admits CloudWatch Logs of this account and region, for log groups only (the encryption context
names the log group); nothing else but the account's own IAM policies. It follows the stage's removal
policy with its log groups: a retained log group must keep the key that can read it.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config import StageConfig

# What CloudWatch Logs does with the key of an encrypted log group (CloudWatch Logs user guide).
LOGS_KEY_ACTIONS = ("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*")


class LogKey(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self._retention = retention
        self._removal_policy = removal_policy
        stack = cdk.Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            description=description,
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccountAndRegion",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=list(LOGS_KEY_ACTIONS),
                resources=["*"],  # in a key policy, "*" is this key
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                        )
                    }
                },
            )
        )

    @classmethod
    def of_stage(cls, stack: Construct, config: StageConfig, *, encrypts: str) -> LogKey:
        """The log key of one stack of the stage, with the stage's retention and removal policy."""
        return cls(
            stack,
            "LogKey",
            description=f"Encrypts the chatbot's {config.name} {encrypts}",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
        )

    def log_group(self, scope: Construct, construct_id: str, *, name: str | None = None) -> logs.LogGroup:
        """A log group encrypted with this key, with the stage's retention and removal policy."""
        return logs.LogGroup(
            scope,
            construct_id,
            log_group_name=name,
            encryption_key=self.key,
            retention=self._retention,
            removal_policy=self._removal_policy,
        )
