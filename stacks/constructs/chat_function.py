"""The chat Lambda: its role, log group, Powertools layer and configuration."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config import StageConfig
from stacks.nag import acknowledge

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
POWERTOOLS_ACCOUNT = "017000801446"  # AWS's account that publishes the public Powertools layers

# Only the importable runtime package goes into the asset; boto3 comes with the Lambda runtime and
# Powertools (with pydantic and the X-Ray SDK) with its layer.
ASSET_EXCLUDES = ["*", ".*", "!lambda_src", "!lambda_src/**", "**/__pycache__", "**/*.pyc"]


def powertools_layer_arn(region: str, version: int) -> str:
    runtime = RUNTIME.name.replace(".", "")  # python3.14 -> python314
    return (
        f"arn:aws:lambda:{region}:{POWERTOOLS_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{runtime}-{ARCHITECTURE.name}:{version}"
    )


class ChatFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        handler: str,
        description: str,
        environment: Mapping[str, str],
        timeout_seconds: int | None = None,
        reserved_concurrency: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)

        self.log_group = logs.LogGroup(
            self, "Logs", retention=config.log_retention, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        # An explicit role without AWSLambdaBasicExecutionRole: it may write to its own log group only.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{description} ({config.name})",
        )
        self.log_group.grant_write(self.role)

        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=lambda_.Code.from_asset(str(REPO_ROOT), exclude=ASSET_EXCLUDES),
            layers=[
                lambda_.LayerVersion.from_layer_version_arn(
                    self, "Powertools", powertools_layer_arn(stack.region, config.powertools_layer_version)
                )
            ],
            memory_size=config.lambda_memory_mb,
            timeout=cdk.Duration.seconds(timeout_seconds or config.lambda_timeout_seconds),
            reserved_concurrent_executions=reserved_concurrency or config.reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            environment=dict(environment),
        )
        self.policy = self.role.node.find_child("DefaultPolicy")
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "xray:PutTraceSegments and xray:PutTelemetryRecords (added by active tracing) support no "
            "resource-level permissions; every other statement of this role names its resource ARN.",
        )
        acknowledge(
            self.function,
            "Serverless-LambdaDLQ",
            "Invoked only synchronously by API Gateway, which returns any failure to the caller; a "
            "dead-letter queue receives events of asynchronous invocations only and would stay empty.",
        )
