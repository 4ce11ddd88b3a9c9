"""One CloudWatch dashboard per stage: traffic, latency, errors by kind, the LLM's latency, tokens and
estimated cost, cache hits, quota rejections, and the state of every alarm."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.release import Release

FIVE_MINUTES = cdk.Duration.minutes(5)
WIDE, HALF, THIRD = 24, 12, 8


class ChatDashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage_name: str,
        metrics_namespace: str,
        api_stage: apigw.Stage,
        function: lambda_.IFunction,
        usd_per_1k_input_tokens: float,
        usd_per_1k_output_tokens: float,
        alarms: list[cloudwatch.IAlarm],
        release: Release,
    ) -> None:
        super().__init__(scope, construct_id)
        self._namespace = metrics_namespace

        def app(name: str, statistic: str = "Sum") -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=metrics_namespace,
                metric_name=name,
                dimensions_map={"service": "chatbot"},
                statistic=statistic,
                period=FIVE_MINUTES,
                label=name,
            )

        tokens_in, tokens_out = app("InputTokens"), app("OutputTokens")
        hits, misses = app("CacheHit"), app("CacheMiss")
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=cdk.Duration.hours(6))
        # What is deployed: the release (also in /health and each function's description) and its commit.
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    f"**Chatbot {stage_name}**: release **{release.version}**, commit `{release.commit}`"
                ),
                width=WIDE,
                height=1,
            )
        )
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title=f"Chatbot {stage_name}: alarms", alarms=alarms, width=WIDE, height=3
            )
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Requests",
                left=[
                    api_stage.metric_count(period=FIVE_MINUTES, statistic="Sum", label="API requests"),
                    app("ChatTurns"),
                ],
                width=THIRD,
            ),
            cloudwatch.GraphWidget(
                title="API latency (ms)",
                left=[
                    api_stage.metric_latency(period=FIVE_MINUTES, statistic=p, label=p)
                    for p in ("p50", "p90", "p99")
                ],
                width=THIRD,
            ),
            cloudwatch.GraphWidget(
                title="Errors by kind",
                left=[
                    api_stage.metric_client_error(period=FIVE_MINUTES, statistic="Sum", label="API 4XX"),
                    api_stage.metric_server_error(period=FIVE_MINUTES, statistic="Sum", label="API 5XX"),
                    function.metric_errors(period=FIVE_MINUTES, statistic="Sum", label="Lambda errors"),
                    app("BadRequests"),
                    app("StoreErrors"),
                    app("DegradedReplies"),
                ],
                width=THIRD,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="LLM latency (ms)",
                left=[app("LlmLatency", p) for p in ("p50", "p90", "p99")],
                width=THIRD,
            ),
            cloudwatch.GraphWidget(
                title="LLM provider errors by provider and kind",
                left=[
                    cloudwatch.MathExpression(
                        expression=f"SEARCH('{{{metrics_namespace},kind,provider,service}} "
                        f"MetricName=\"ProviderErrors\"', 'Sum', 300)",
                        label="",
                        period=FIVE_MINUTES,
                    )
                ],
                width=THIRD,
            ),
            cloudwatch.GraphWidget(
                title="Fallbacks and open circuits by provider",
                left=[
                    cloudwatch.MathExpression(
                        expression=f"SEARCH('{{{metrics_namespace},provider,service}} "
                        f'MetricName="FallbackUsed" OR MetricName="CircuitOpenSkips"\', \'Sum\', 300)',
                        label="",
                        period=FIVE_MINUTES,
                    )
                ],
                width=THIRD,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Tokens", left=[tokens_in, tokens_out], width=THIRD),
            cloudwatch.GraphWidget(
                title="Estimated LLM cost (USD per 5 minutes)",
                left=[
                    cloudwatch.MathExpression(
                        expression=f"tokens_in / 1000 * {usd_per_1k_input_tokens} "
                        f"+ tokens_out / 1000 * {usd_per_1k_output_tokens}",
                        using_metrics={"tokens_in": tokens_in, "tokens_out": tokens_out},
                        label="estimated cost (config prices of the first provider)",
                        period=FIVE_MINUTES,
                    )
                ],
                width=THIRD,
            ),
            cloudwatch.GraphWidget(
                title="Cache hit ratio (%) and quota rejections",
                left=[
                    cloudwatch.MathExpression(
                        expression="IF(hits + misses > 0, 100 * hits / (hits + misses), 0)",
                        using_metrics={"hits": hits, "misses": misses},
                        label="cache hit ratio (%)",
                        period=FIVE_MINUTES,
                    )
                ],
                right=[app("QuotaRejected")],
                width=THIRD,
            ),
        )

    def add_queue_widgets(self, *widgets: cloudwatch.IWidget) -> None:
        """For the async path (queue and DLQ depth), added with it."""
        self.dashboard.add_widgets(*widgets)

    def add_canary_widgets(self, canary_name: str, every_minutes: int) -> None:
        """The stage seen from outside (the web stack's Synthetics canary, by its fixed name): the share
        of runs that passed, and how long a run took."""

        def canary(name: str, label: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="CloudWatchSynthetics",
                metric_name=name,
                dimensions_map={"CanaryName": canary_name},
                statistic="Average",
                period=cdk.Duration.minutes(every_minutes),
                label=label,
            )

        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title=f"Canary {canary_name}: runs passed (%)",
                left=[canary("SuccessPercent", "passed")],
                left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
                width=HALF,
            ),
            cloudwatch.GraphWidget(
                title=f"Canary {canary_name}: run duration (ms)",
                left=[canary("Duration", "duration")],
                width=HALF,
            ),
        )

    def add_guardrail_widgets(self) -> None:
        """The guardrail: interventions by policy, source and action (a search over the dimensions the
        handlers publish, so every policy shows without being listed here); checks, unavailability and
        latency."""
        interventions = cloudwatch.MathExpression(
            expression=(
                f"SEARCH('{{{self._namespace},action,policy,service,source}} "
                "MetricName=\"GuardrailInterventions\"', 'Sum', 300)"
            ),
            using_metrics={},
            label="",
            period=FIVE_MINUTES,
        )

        def app(name: str, statistic: str = "Sum") -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=self._namespace,
                metric_name=name,
                dimensions_map={"service": "chatbot"},
                statistic=statistic,
                period=FIVE_MINUTES,
                label=f"{name} {statistic}",
            )

        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Guardrail interventions by policy (source, action)", left=[interventions], width=HALF
            ),
            cloudwatch.GraphWidget(
                title="Guardrail checks, unavailable, latency (ms)",
                left=[app("GuardrailChecks"), app("GuardrailUnavailable")],
                right=[app("GuardrailLatency", "p90")],
                width=HALF,
            ),
        )

    def add_stream_widgets(self, providers: list[str]) -> None:
        """Streamed replies by provider: time to first token, tokens per second, incomplete streams."""

        def per_provider(name: str, statistic: str) -> list[cloudwatch.IMetric]:
            return [
                cloudwatch.Metric(
                    namespace=self._namespace,
                    metric_name=name,
                    dimensions_map={"provider": provider, "service": "chatbot"},
                    statistic=statistic,
                    period=FIVE_MINUTES,
                    label=f"{provider} {statistic}",
                )
                for provider in providers
            ]

        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Time to first token (ms)",
                left=per_provider("TimeToFirstToken", "p50") + per_provider("TimeToFirstToken", "p90"),
                width=THIRD,
            ),
            cloudwatch.GraphWidget(
                title="Tokens per second (streamed)", left=per_provider("TokensPerSecond", "p50"), width=THIRD
            ),
            cloudwatch.GraphWidget(
                title="Streams started and cut",
                left=per_provider("StreamsStarted", "Sum"),
                right=per_provider("IncompleteStreams", "Sum"),
                width=THIRD,
            ),
        )
