"""The stream function (POST /chat/stream): the chat code run as an ASGI app by uvicorn behind the AWS
Lambda Web Adapter, with its live alias and canary deployment like the chat function's.

Why the Web Adapter: Python managed runtimes cannot stream a response from a handler; the adapter (a
public layer by ARN, maintained by AWS Labs) turns InvokeWithResponseStream into an HTTP request to a
local server and streams its body back. The app is plain ASGI (Starlette), so `make dev` and the tests
run the very same app under uvicorn.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.config import StageConfig
from stacks.constructs.chat_function import ARCHITECTURE, RUNTIME, ChatFunction
from stacks.constructs.log_encryption import LogKey
from stacks.constructs.safe_deployment import SafeDeployment
from stacks.runtime_access import RuntimeAccess
from stacks.runtime_environment import metrics_namespace, stream_environment
from stacks.stream_layer import built_stream_layer

WEB_ADAPTER_ACCOUNT = "753240598075"  # AWS Labs' account that publishes the adapter's layers


def web_adapter_layer_arn(stack: cdk.Stack, version: int) -> str:
    layer = f"layer:LambdaAdapterLayerArm64:{version}"
    return f"arn:{stack.partition}:lambda:{stack.region}:{WEB_ADAPTER_ACCOUNT}:{layer}"


class ChatStreaming(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        environment: Mapping[str, str],
        log_key: LogKey,
        access: RuntimeAccess,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=lambda_.Code.from_asset(str(built_stream_layer())),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="starlette and uvicorn for the stream function (lambda_src/requirements-stream.txt)",
        )
        adapter = lambda_.LayerVersion.from_layer_version_arn(
            self, "WebAdapter", web_adapter_layer_arn(stack, config.stream.web_adapter_layer_version)
        )
        self.chat_function = ChatFunction(
            self,
            "Stream",
            config=config,
            handler="lambda_src/run.sh",
            description="Chatbot: streams POST /chat/stream replies (Lambda Web Adapter)",
            environment={**environment, **stream_environment(config)},
            log_key=log_key,
            timeout_seconds=config.stream.function_timeout_seconds,
            extra_layers=[adapter, dependencies],
        )
        self.function = self.chat_function.function
        access.grant(self.chat_function, streams=True)
        self.deployment = SafeDeployment(
            self,
            "Deployment",
            function=self.function,
            strategy=config.deployment_strategy,
            timeout_seconds=config.stream.function_timeout_seconds,
        )
        self.alias = self.deployment.alias
        self._version_rollback_alarms(config)

    def _version_rollback_alarms(self, config: StageConfig) -> None:
        """Judged on the version being deployed only: behind the Web Adapter an app error is still a
        successful invocation (the alias's Errors alarm cannot see it), so the app counts its own
        (StreamInternalErrors), and time to first token, by version (lambda_src/chat/telemetry.py)."""

        def of_new_version(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=metrics_namespace(config),
                metric_name=name,
                dimensions_map={"service": "chatbot", "version": self.function.current_version.version},
                statistic=statistic,
                period=cdk.Duration.minutes(1),
            )

        for construct_id, metric, threshold, periods, description in (
            (
                "VersionTimeToFirstTokenP90",
                of_new_version("TimeToFirstToken", "p90"),
                config.stream.ttft_p90_alarm_ms,
                2,
                "The new stream function version's p90 time to first token is above "
                f"{config.stream.ttft_p90_alarm_ms:.0f} ms during a deployment: CodeDeploy rolls back.",
            ),
            (
                "VersionInternalErrors",
                of_new_version("StreamInternalErrors", "Sum"),
                1,
                1,
                "The new stream function version answered an internal error during a deployment: "
                "CodeDeploy rolls back.",
            ),
        ):
            self.deployment.add_rollback_alarm(
                cloudwatch.Alarm(
                    self,
                    construct_id,
                    metric=metric,
                    threshold=threshold,
                    evaluation_periods=periods,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                    alarm_description=description,
                )
            )
