"""The alarms that page on the chat path, each to the stage's topic (on alarm and on recovery), and one
composite "chat unhealthy" alarm over the ones users feel. docs/operations.md says what each means."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

FIVE_MINUTES = cdk.Duration.minutes(5)
ONE_HOUR = cdk.Duration.hours(1)
DURATION_ALARM_FRACTION_OF_TIMEOUT = 0.8
GT_OR_EQUAL = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD


def threshold_alarm(
    scope: Construct,
    construct_id: str,
    *,
    metric: cloudwatch.IMetric,
    threshold: float,
    description: str,
    action: cloudwatch.IAlarmAction,
    datapoints: int = 1,
) -> cloudwatch.Alarm:
    """At or above ``threshold`` for ``datapoints`` periods in a row; no data is no alarm. Tells
    ``action`` on alarm and on recovery."""
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        metric=metric,
        threshold=threshold,
        evaluation_periods=datapoints,
        datapoints_to_alarm=datapoints,
        comparison_operator=GT_OR_EQUAL,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=description,
    )
    alarm.add_alarm_action(action)
    alarm.add_ok_action(action)
    return alarm


class ChatAlarms(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, action: cloudwatch.IAlarmAction, metrics_namespace: str
    ) -> None:
        super().__init__(scope, construct_id)
        self._action = action
        self._namespace = metrics_namespace
        self.user_facing: list[cloudwatch.IAlarm] = []
        self.all: list[cloudwatch.IAlarm] = []

    def _alarm(
        self,
        construct_id: str,
        *,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        datapoints: int = 1,
        user_facing: bool = False,
    ) -> cloudwatch.Alarm:
        alarm = threshold_alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            description=description,
            action=self._action,
            datapoints=datapoints,
        )
        if user_facing:
            self.user_facing.append(alarm)
        self.all.append(alarm)
        return alarm

    def _app_metric(self, name: str, *, period: cdk.Duration = FIVE_MINUTES) -> cloudwatch.Metric:
        """A metric the handler emits (Powertools EMF, dimension service=chatbot)."""
        return cloudwatch.Metric(
            namespace=self._namespace,
            metric_name=name,
            dimensions_map={"service": "chatbot"},
            statistic="Sum",
            period=period,
        )

    def watch_function(self, function: lambda_.Function, *, timeout_seconds: int) -> None:
        errors = function.metric_errors(period=FIVE_MINUTES, statistic="Sum")
        invocations = function.metric_invocations(period=FIVE_MINUTES, statistic="Sum")
        self._alarm(
            "LambdaErrorRate",
            metric=cloudwatch.MathExpression(
                expression="IF(invocations >= 10, 100 * errors / invocations, 0)",
                using_metrics={"errors": errors, "invocations": invocations},
                label="error rate (%)",
                period=FIVE_MINUTES,
            ),
            threshold=5,
            description="More than 5 % of chat Lambda invocations failed in 5 minutes "
            "(unhandled errors, timeouts).",
            user_facing=True,
        )
        self._alarm(
            "LambdaThrottles",
            metric=function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
            threshold=1,
            description="The chat Lambda was throttled: reserved concurrency is exhausted.",
        )
        limit_ms = timeout_seconds * 1000 * DURATION_ALARM_FRACTION_OF_TIMEOUT
        self._alarm(
            "LambdaDurationP99",
            metric=function.metric_duration(period=FIVE_MINUTES, statistic="p99"),
            threshold=limit_ms,
            datapoints=3,
            description=f"p99 duration of the chat Lambda above {limit_ms:.0f} ms "
            f"(80 % of its timeout) for 15 minutes: requests are about to time out.",
        )

    def watch_api(
        self, stage: apigw.Stage, *, p99_latency_ms: float, client_errors_per_5_minutes: int
    ) -> None:
        requests = stage.metric_count(period=FIVE_MINUTES, statistic="Sum")
        self._alarm(
            "Api5xxRate",
            metric=cloudwatch.MathExpression(
                expression="IF(requests >= 10, 100 * errors / requests, 0)",
                using_metrics={
                    "errors": stage.metric_server_error(period=FIVE_MINUTES, statistic="Sum"),
                    "requests": requests,
                },
                label="5XX rate (%)",
                period=FIVE_MINUTES,
            ),
            threshold=5,
            description="More than 5 % of API requests answered 5XX in 5 minutes.",
            user_facing=True,
        )
        self._alarm(
            "Api4xxSpike",
            metric=stage.metric_client_error(period=FIVE_MINUTES, statistic="Sum"),
            threshold=client_errors_per_5_minutes,
            description=f"{client_errors_per_5_minutes}+ 4XX answers in 5 minutes: a broken client, a "
            "leaked or revoked key being retried, quota exhaustion or probing.",
        )
        self._alarm(
            "ApiLatencyP99",
            metric=stage.metric_latency(period=FIVE_MINUTES, statistic="p99"),
            threshold=p99_latency_ms,
            datapoints=3,
            description=f"p99 API latency above {p99_latency_ms:.0f} ms for 15 minutes.",
            user_facing=True,
        )

    def watch_table(self, table: dynamodb.ITableV2) -> None:
        for metric_name, what in (
            ("ThrottledRequests", "throttled"),
            ("SystemErrors", "failed with a system error"),
        ):
            self._alarm(
                f"Table{metric_name}",
                metric=cloudwatch.Metric(
                    namespace="AWS/DynamoDB",
                    metric_name=metric_name,
                    dimensions_map={"TableName": table.table_name},
                    statistic="Sum",
                    period=FIVE_MINUTES,
                ),
                threshold=1,
                description=f"Requests to the conversation table {what} in the last 5 minutes.",
            )

    def watch_waf(
        self, web_acl: wafv2.CfnWebACL, *, web_acl_name: str, region: str, blocked_per_5_minutes: int
    ) -> None:
        self._alarm(
            "RegionalWafBlockedSpike",
            metric=cloudwatch.Metric(
                namespace="AWS/WAFV2",
                metric_name="BlockedRequests",
                dimensions_map={"WebACL": web_acl_name, "Rule": "ALL", "Region": region},
                statistic="Sum",
                period=FIVE_MINUTES,
            ),
            threshold=blocked_per_5_minutes,
            description=f"The API's regional WAF blocked {blocked_per_5_minutes}+ requests in 5 minutes: "
            "someone calls API Gateway directly, bypassing CloudFront, or a managed rule fires on real "
            "traffic.",
        )

    def watch_llm(self, *, max_tokens_per_hour: int) -> None:
        turns = self._app_metric("ChatTurns")
        errors = self._app_metric("LlmProviderErrors")
        self._alarm(
            "LlmProviderErrorRate",
            metric=cloudwatch.MathExpression(
                # FILL: in a total outage no turn succeeds and ChatTurns has no data at all.
                expression="IF(FILL(turns, 0) + FILL(errors, 0) >= 10, "
                "100 * FILL(errors, 0) / (FILL(turns, 0) + FILL(errors, 0)), 0)",
                using_metrics={"errors": errors, "turns": turns},
                label="provider error rate (%)",
                period=FIVE_MINUTES,
            ),
            threshold=20,
            description="More than 20 % of LLM attempts failed in 5 minutes (ProviderErrors by provider "
            "and kind on the dashboard).",
            user_facing=True,
        )
        self._alarm(
            "LlmCircuitOpened",
            metric=self._app_metric("CircuitOpened"),
            threshold=1,
            description="A provider's circuit breaker opened: it failed repeatedly and traffic fails over.",
        )
        self._alarm(
            "TokenSpendPerHour",
            metric=cloudwatch.MathExpression(
                expression="tokens_in + tokens_out",
                using_metrics={
                    "tokens_in": self._app_metric("InputTokens", period=ONE_HOUR),
                    "tokens_out": self._app_metric("OutputTokens", period=ONE_HOUR),
                },
                label="tokens per hour",
                period=ONE_HOUR,
            ),
            threshold=max_tokens_per_hour,
            description=f"More than {max_tokens_per_hour:,} LLM tokens in an hour: a cost spike.",
        )

    def watch_streams(self, *, ttft_p90_ms: float, incomplete_percent: float, min_streams: int) -> None:
        """Streamed replies, all versions: time to first token p90, and the share of started streams a
        provider cut. (The stream function's deployments roll back on its new version's own figures:
        chat_streaming.py.)"""
        ttft = cloudwatch.Metric(
            namespace=self._namespace,
            metric_name="TimeToFirstToken",
            dimensions_map={"service": "chatbot"},
            statistic="p90",
            period=cdk.Duration.minutes(1),
        )
        self._alarm(
            "StreamTimeToFirstTokenP90",
            metric=ttft,
            threshold=ttft_p90_ms,
            datapoints=3,
            description=f"p90 time to first token of streamed replies above {ttft_p90_ms:.0f} ms for 3 "
            "minutes (TimeToFirstToken by provider on the dashboard).",
            user_facing=True,
        )
        started = self._app_metric("StreamsStarted")
        cut = self._app_metric("IncompleteStreams")
        self._alarm(
            "StreamIncompleteRate",
            metric=cloudwatch.MathExpression(
                expression=f"IF(FILL(started, 0) >= {min_streams}, 100 * FILL(cut, 0) / started, 0)",
                using_metrics={"started": started, "cut": cut},
                label="incomplete streams (%)",
                period=FIVE_MINUTES,
            ),
            threshold=incomplete_percent,
            description=f"More than {incomplete_percent:g} % of streamed replies were cut by the provider "
            f"in 5 minutes (at least {min_streams} streams); IncompleteStreams by provider on the dashboard.",
            user_facing=True,
        )

    def watch_jobs(self, *, queue: sqs.IQueue, dlq: sqs.IQueue, max_age_seconds: int) -> None:
        self._alarm(
            "JobDeadLetters",
            metric=dlq.metric_approximate_number_of_messages_visible(
                period=FIVE_MINUTES, statistic="Maximum"
            ),
            threshold=1,
            description="A chat job failed maxReceiveCount times and sits in the dead-letter queue: fix the "
            "cause, then scripts/redrive.py.",
        )
        self._alarm(
            "JobOldestMessageAge",
            metric=queue.metric_approximate_age_of_oldest_message(period=FIVE_MINUTES, statistic="Maximum"),
            threshold=max_age_seconds,
            description=f"A queued chat job has waited {max_age_seconds} s or more: the worker is failing, "
            "throttled or too slow.",
        )

    def watch_worker(self, function: lambda_.Function) -> None:
        """The worker reports a failed job back to SQS without failing the invocation: an error here is a
        crash or a timeout, and a throttle means the event source's maximum concurrency and the
        function's reserved concurrency disagree."""
        self._alarm(
            "WorkerErrors",
            metric=function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
            threshold=1,
            description="The job worker crashed or timed out: its batch comes back after the visibility "
            "timeout, and repeated failures dead-letter the jobs.",
        )
        self._alarm(
            "WorkerThrottles",
            metric=function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
            threshold=1,
            description="The job worker was throttled: jobs wait in the queue (reserved concurrency is "
            "exhausted or lower than the event source's maximum concurrency).",
        )

    def chat_unhealthy(self) -> cloudwatch.CompositeAlarm:
        composite = cloudwatch.CompositeAlarm(
            self,
            "ChatUnhealthy",
            alarm_rule=cloudwatch.AlarmRule.any_of(*self.user_facing),
            alarm_description="Users are affected: Lambda errors, API 5XX, API latency, LLM provider "
            "errors, slow first tokens or cut streams.",
        )
        composite.add_alarm_action(self._action)
        composite.add_ok_action(self._action)
        return composite
