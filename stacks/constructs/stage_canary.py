"""The stage probed from outside: a CloudWatch Synthetics canary that calls the stage through CloudFront on
a schedule (canary/python/chat_canary.py: health, the deep probe, one chat turn, its erasure), and an alarm
that pages on-call when runs fail or stop.

It lives in the web stack, the one that knows the stage's public URL; the service stack's dashboard shows
its metrics by the canary's fixed name (stacks/config_canary.py canary_name).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_synthetics as synthetics
from constructs import Construct

from stacks.config import StageConfig
from stacks.config_canary import RUN_TIMEOUT_SECONDS, canary_name
from stacks.constructs.bucket_lifecycle import expire_after
from stacks.nag import HIPAA, NIST, PCI, acknowledge, acknowledge_rules

CANARY_CODE = Path(__file__).resolve().parents[2] / "canary"
CANARY_HANDLER = "chat_canary.handler"  # canary/python/chat_canary.py, Synthetics' layout
# Python with the standard library and boto3 is all the script needs; the newest Python runtime.
CANARY_RUNTIME = synthetics.Runtime.SYNTHETICS_PYTHON_SELENIUM_7_0


class StageCanary(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        site_url: str,
        api_key_id: str,
        alarm_topic: sns.ITopic,
        key: kms.IKey,
        access_logs: s3.IBucket,
    ) -> None:
        super().__init__(scope, construct_id)
        canary = config.canary
        keep = cdk.Duration.days(canary.keep_results_days)
        # Each run's result files (the script's log and a report); nothing in them is secret.
        self.results = s3.Bucket(
            self,
            "Results",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="s3/canary/",
            lifecycle_rules=expire_after("ExpireResults", canary.keep_results_days, noncurrent_days=1),
            # Non-empty buckets cannot be deleted with the stack; it stays behind and expires by lifecycle.
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        acknowledge_rules(
            self.results,
            "S3BucketReplicationEnabled",
            (NIST, HIPAA, PCI),
            "Canary results of one stage, kept keep_results_days: the next run writes new ones, and a "
            "replica in a second region would hold nothing worth restoring.",
        )
        name = canary_name(config.name)
        role = self._role(name, api_key_id, key)
        self.canary = synthetics.Canary(
            self,
            "Canary",
            canary_name=name,
            role=role,
            runtime=CANARY_RUNTIME,
            test=synthetics.Test.custom(
                code=synthetics.Code.from_asset(str(CANARY_CODE), exclude=["**/__pycache__", "**/*.pyc"]),
                handler=CANARY_HANDLER,
            ),
            schedule=synthetics.Schedule.rate(cdk.Duration.minutes(canary.every_minutes)),
            timeout=cdk.Duration.seconds(RUN_TIMEOUT_SECONDS),
            environment_variables={"SITE_URL": site_url, "API_KEY_ID": api_key_id},
            artifacts_bucket_location=synthetics.ArtifactsBucketLocation(bucket=self.results, prefix="runs"),
            success_retention_period=keep,
            failure_retention_period=keep,
            # Deleting the canary deletes the function and layer Synthetics made for it.
            provisioned_resource_cleanup=True,
            start_after_creation=True,
        )
        self.alarm = cloudwatch.Alarm(
            self,
            "Failing",
            metric=self.canary.metric_success_percent(
                period=cdk.Duration.minutes(canary.every_minutes), statistic="Average"
            ),
            threshold=100,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=canary.failed_runs_to_alarm,
            datapoints_to_alarm=canary.failed_runs_to_alarm,
            # A canary that stopped running watches nothing: that pages too.
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            alarm_description=f"The stage's canary failed {canary.failed_runs_to_alarm} runs in a row (or "
            "did not run): from outside, through CloudFront, health, the deep probe or a chat turn fails. "
            "A failed run's reason names the step (docs/runbooks/elevated-errors.md).",
        )
        action = cw_actions.SnsAction(alarm_topic)
        self.alarm.add_alarm_action(action)
        self.alarm.add_ok_action(action)

    def _role(self, name: str, api_key_id: str, key: kms.IKey) -> iam.Role:
        """What a Synthetics canary needs (the CloudWatch Synthetics user guide's canary role), for this
        canary's function, bucket and metrics only, and the value of its own API key; a managed policy,
        so that the grant is a reviewable resource of its own."""
        stack = cdk.Stack.of(self)
        role = iam.Role(
            self,
            "Role",
            description=f"The {name} Synthetics canary",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        policy = iam.ManagedPolicy(
            self,
            "Permissions",
            description=f"What the {name} canary may do",
            roles=[role],
            statements=[
                iam.PolicyStatement(actions=["s3:ListAllMyBuckets"], resources=["*"]),
                iam.PolicyStatement(actions=["s3:GetBucketLocation"], resources=[self.results.bucket_arn]),
                iam.PolicyStatement(
                    actions=["s3:PutObject"], resources=[self.results.arn_for_objects("runs/*")]
                ),
                # The bucket's default encryption names the stack's key, and writing under it needs a data
                # key. CDK offers Synthetics' own artifact-key setting to Node.js runtimes only; should the
                # Python runtime ask S3 for SSE-KMS itself, S3 uses the AWS managed key aws/s3 instead.
                # KMS-encrypted at rest either way; which key, check on the first deploy (README).
                iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[key.key_arn]),
                iam.PolicyStatement(
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringEquals": {"cloudwatch:namespace": "CloudWatchSynthetics"}},
                ),
                iam.PolicyStatement(
                    actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[
                        f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:"
                        f"/aws/lambda/cwsyn-{name}-*"
                    ],
                ),
                # Its own key's value, and no other key's: GetApiKey is a GET on /apikeys/<id>.
                iam.PolicyStatement(
                    actions=["apigateway:GET"],
                    resources=[f"arn:{stack.partition}:apigateway:{stack.region}::/apikeys/{api_key_id}"],
                ),
            ],
        )
        bucket_id = stack.get_logical_id(self.results.node.default_child)  # type: ignore[arg-type]
        wildcards = {
            "Resource::*": "s3:ListAllMyBuckets, which the Synthetics runtime calls, has no resource to "
            "name; cloudwatch:PutMetricData has none either and is held to the CloudWatchSynthetics "
            "namespace by a condition.",
            f"Resource::<{stack.resolve(bucket_id)}.Arn>/runs/*": "PutObject under the runs/ prefix of this "
            "canary's own results bucket: each run writes files of new names.",
            f"Resource::arn:aws:logs:{stack.region}:{stack.account}:log-group:/aws/lambda/cwsyn-{name}-*": (
                "The log group of the function Synthetics creates for this canary, named "
                f"cwsyn-{name}-<an id Synthetics makes up>; the id cannot be known here."
            ),
        }
        for finding, reason in wildcards.items():
            acknowledge(policy, f"AwsSolutions-IAM5[{finding}]", reason)
        return role
