"""Traffic shifting for the chat Lambda: API Gateway calls the `live` alias, and CodeDeploy moves the alias
to each new version per the stage's strategy, rolling back by itself when the alias's own alarms fire."""

from __future__ import annotations

from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.nag import acknowledge

Strategy = Literal["canary", "linear", "all_at_once"]
DEPLOYMENT_CONFIGS = {
    "canary": codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
    "linear": codedeploy.LambdaDeploymentConfig.LINEAR_10_PERCENT_EVERY_1_MINUTE,
    "all_at_once": codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE,
}
ONE_MINUTE = cdk.Duration.minutes(1)


class SafeDeployment(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.Function,
        strategy: Strategy,
        timeout_seconds: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.alias = lambda_.Alias(self, "Live", alias_name="live", version=function.current_version)
        new_version = {
            "FunctionName": function.function_name,
            "Resource": f"{function.function_name}:live",
            "ExecutedVersion": function.current_version.version,
        }

        def of_new_version(metric_name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/Lambda",
                metric_name=metric_name,
                dimensions_map=new_version,
                statistic=statistic,
                period=ONE_MINUTE,
            )

        # Judged on the version being deployed only (ExecutedVersion): the old one's errors during the
        # shift must not roll the new one back, nor its latency dilute the new one's.
        # Its own alarms, on the alias being deployed; add_rollback_alarm() may add others.
        self.alias_alarms: list[cloudwatch.Alarm] = [
            cloudwatch.Alarm(
                self,
                "AliasErrors",
                metric=of_new_version("Errors", "Sum"),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="The live alias failed during a deployment: CodeDeploy rolls back.",
            ),
            cloudwatch.Alarm(
                self,
                "AliasDurationP99",
                metric=of_new_version("Duration", "p99"),
                threshold=timeout_seconds * 1000 * 0.8,
                evaluation_periods=2,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="The live alias ran near its timeout during a deployment: CodeDeploy "
                "rolls back.",
            ),
        ]
        self.rollback_alarms: list[cloudwatch.Alarm] = list(self.alias_alarms)
        self.group = codedeploy.LambdaDeploymentGroup(
            self,
            "Group",
            alias=self.alias,
            deployment_config=DEPLOYMENT_CONFIGS[strategy],
            alarms=list(self.alias_alarms),
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, stopped_deployment=True, deployment_in_alarm=True
            ),
        )
        acknowledge(
            self.group.role.node.default_child or self.group.role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSCodeDeployRoleForLambdaLimited]",
            "CodeDeploy's own service-role policy for Lambda traffic shifting, maintained by AWS; this role "
            "is assumed only by CodeDeploy for this deployment group.",
        )

    def add_rollback_alarm(self, alarm: cloudwatch.Alarm) -> None:
        """One more alarm that rolls a deployment back while it fires (for example time to first token)."""
        self.group.add_alarm(alarm)
        self.rollback_alarms.append(alarm)
