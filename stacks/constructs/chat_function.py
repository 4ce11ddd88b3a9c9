"""The chat Lambda: its role, log group, Powertools layer and configuration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from lambda_src import __version__
from stacks.config import StageConfig
from stacks.constructs.log_encryption import LogKey
from stacks.fingerprint import tree_fingerprint
from stacks.nag import HIPAA, NIST, PCI, acknowledge, acknowledge_rules, skip_checkov

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
# Only the importable runtime package goes into the asset; boto3 comes with the Lambda runtime and
# Powertools (with pydantic and the X-Ray SDK) with its layer.
ASSET_EXCLUDES = ["*", ".*", "!lambda_src", "!lambda_src/**", "**/__pycache__", "**/*.pyc"]


def code_fingerprint(root: Path = REPO_ROOT / "lambda_src") -> str:
    """A hash of the function code (what the asset holds): /health reports it as part of the build id."""
    return tree_fingerprint(root)


def build_id() -> str:
    """The release and the code it runs: changes with every change to the deployed code, and only then."""
    return f"{__version__}+{code_fingerprint()[:12]}"


def powertools_layer_parameter(version: str) -> str:
    """The public SSM parameter that AWS publishes for each Powertools release, naming the layer version
    that holds exactly that release for this runtime and architecture."""
    return f"/aws/service/powertools/python/{ARCHITECTURE.name}/{RUNTIME.name}/{version}"


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
        log_key: LogKey,
        timeout_seconds: int | None = None,
        reserved_concurrency: int | None = None,
        extra_layers: Sequence[lambda_.ILayerVersion] = (),
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)

        self.log_group = log_key.log_group(self, "Logs")
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
            # The release, not the commit: a description that changed with every commit would publish a
            # new version, and start a canary deployment, on every deploy (stacks/release.py).
            description=f"{description}, release {__version__}",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=lambda_.Code.from_asset(str(REPO_ROOT), exclude=ASSET_EXCLUDES),
            layers=[
                # Resolved by CloudFormation at deploy time (a parameter of type
                # AWS::SSM::Parameter::Value<String>), so synth stays offline and the layer is the release
                # the tests run against (config.powertools_version, pinned in lambda_src/requirements.txt).
                lambda_.LayerVersion.from_layer_version_arn(
                    self,
                    "Powertools",
                    ssm.StringParameter.value_for_string_parameter(
                        stack, powertools_layer_parameter(config.powertools_version)
                    ),
                ),
                *extra_layers,
            ],
            memory_size=config.lambda_memory_mb,
            timeout=cdk.Duration.seconds(timeout_seconds or config.lambda_timeout_seconds),
            reserved_concurrent_executions=reserved_concurrency or config.reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            environment=dict(environment),
            dead_letter_queue=dead_letter_queue,
        )
        self.policy = self.role.node.find_child("DefaultPolicy")
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "xray:PutTraceSegments and xray:PutTelemetryRecords (added by active tracing) support no "
            "resource-level permissions; every other statement of this role names its resource ARN.",
        )
        acknowledge_rules(
            self.policy,
            "IAMNoInlinePolicy",
            (NIST, HIPAA, PCI),
            "CDK writes this function's grants into its own role's policy; the role and the policy belong "
            "to this one function (no managed policy is attached), so nothing else can ever inherit them.",
        )
        outside_a_vpc = (
            "It reaches only public endpoints: the configured LLM providers on the internet and AWS APIs "
            "(DynamoDB, Secrets Manager, SQS, Bedrock, CloudWatch). With no private resource to reach, a "
            "VPC would only add a NAT gateway as its egress path, and cost, without reducing exposure."
        )
        acknowledge_rules(
            self.function, "LambdaInsideVPC", (NIST, HIPAA, PCI), outside_a_vpc, checkov="CKV_AWS_117"
        )
        skip_checkov(
            self.function,
            "CKV_AWS_173",
            "The environment holds table and queue names, ARNs and limits only (no secret: "
            "tests/infra/test_no_secrets_in_templates.py), encrypted at rest by Lambda; the LLM key is "
            "read from Secrets Manager at run time.",
        )
