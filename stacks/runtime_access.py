"""What the chat and worker Lambdas may do, granted once for both: the table, the data key (only via the
services that use it), the LLM secret, the runtime controls and the configured Bedrock models."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager

from lambda_src.chat import keys
from stacks.config import StageConfig
from stacks.constructs.chat_function import ChatFunction
from stacks.constructs.runtime_controls import RuntimeControls
from stacks.nag import acknowledge

# What the handlers do with the table: read a session's state, quotas and cache in one BatchGetItem,
# admit and finish a turn in one TransactWriteItems each (its Put, Update, Delete and ConditionCheck
# entries need those actions), list sessions (Query on the sessions index), erase a session
# (BatchWriteItem), update jobs, keep idempotency records.
CHAT_TABLE_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)
# CDK's encrypt/decrypt set for a customer-managed key, as DynamoDB and Secrets Manager use it.
DATA_KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*")
# Cross-region inference profiles ("us.amazon.nova-lite-v1:0") route to the model in several regions.
INFERENCE_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "global.")


@dataclass(frozen=True)
class RuntimeAccess:
    config: StageConfig
    table: dynamodb.ITableV2
    data_key: kms.IKey
    llm_secret: secretsmanager.ISecret
    runtime_controls: RuntimeControls

    def grant(self, target: ChatFunction, *, streams: bool = False) -> None:
        """``streams``: the function also asks Bedrock for streamed replies (ConverseStream)."""
        function = target.function
        region = cdk.Stack.of(function).region
        # The table and its sessions index by name: table.grant() would allow every index (/index/*).
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=list(CHAT_TABLE_ACTIONS),
                resources=[self.table.table_arn, f"{self.table.table_arn}/index/{keys.SESSIONS_INDEX}"],
            )
        )
        # Hand-written where the grants fall short: the data key only through the services that use it
        # (grant_encrypt_decrypt has no conditions; the job queues have a key of their own), and the
        # secret without llm_secret.grant_read(), which would write this role into the data stack's key
        # policy and make the stateful stack depend on this one.
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=list(DATA_KEY_ACTIONS),
                resources=[self.data_key.key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": [
                            f"dynamodb.{region}.amazonaws.com",
                            f"secretsmanager.{region}.amazonaws.com",
                        ]
                    }
                },
            )
        )
        for finding in ("Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"):
            acknowledge(
                target.policy,
                f"AwsSolutions-IAM5[{finding}]",
                "Named keys only: the stage data key through DynamoDB and Secrets Manager (kms:ViaService), "
                "and the chat-jobs queues' own key (CDK's SQS grants); these services need data-key "
                "generation and re-encryption.",
            )
        self.runtime_controls.grant_read(function)
        if self.config.llm.needs_secret:
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["secretsmanager:GetSecretValue"], resources=[self.llm_secret.secret_arn]
                )
            )
        models = [p.model for p in self.config.llm.providers if p.kind == "bedrock"]
        if models:
            stack = cdk.Stack.of(function)
            function.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["bedrock:InvokeModel"]
                    + (["bedrock:InvokeModelWithResponseStream"] if streams else []),
                    resources=[arn for model in models for arn in bedrock_arns(stack, model)],
                )
            )


def bedrock_arns(stack: cdk.Stack, model: str) -> list[str]:
    partition = cdk.Aws.PARTITION
    if model.startswith(INFERENCE_PROFILE_PREFIXES):
        base_model = model.split(".", 1)[1]
        return [
            f"arn:{partition}:bedrock:{stack.region}:{stack.account}:inference-profile/{model}",
            # the profile may serve the request from any region of its geography
            f"arn:{partition}:bedrock:*::foundation-model/{base_model}",
        ]
    return [f"arn:{partition}:bedrock:{stack.region}::foundation-model/{model}"]
