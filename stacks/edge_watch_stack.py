"""The edge's alarms and dashboard, in us-east-1 where CloudFront and its web ACL publish their metrics:
CloudWatch alarms cannot read another region's metrics, so they have an on-call topic of their own here.

A stack apart from the edge stack: it watches the distribution, which the web stack creates from the edge
stack's web ACL, so the edge stack itself cannot name it."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from constructs import Construct

from stacks.config import StageConfig
from stacks.constructs.alarm_topic import OnCallTopic
from stacks.constructs.chat_alarms import threshold_alarm
from stacks.edge_stack import EDGE_REGION

FIVE_MINUTES = cdk.Duration.minutes(5)
WIDE, HALF = 24, 12


class EdgeWatchStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        distribution_id: str,
        web_acl_name: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope, construct_id, env=cdk.Environment(account=config.account, region=EDGE_REGION), **kwargs
        )
        thresholds = config.alarm_thresholds
        self.on_call = OnCallTopic(
            self, "Operations", stage_name=config.name, emails=config.alarm_emails, display_name="edge alarms"
        )

        def cloudfront(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/CloudFront",
                metric_name=name,
                dimensions_map={"DistributionId": distribution_id, "Region": "Global"},
                statistic=statistic,
                period=FIVE_MINUTES,
                label=name,
            )

        def waf(name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/WAFV2",
                metric_name=name,
                dimensions_map={"WebACL": web_acl_name, "Rule": "ALL"},
                statistic="Sum",
                period=FIVE_MINUTES,
                label=name,
            )

        requests = cloudfront("Requests", "Sum")
        self.alarms = [
            self._alarm(
                "CloudFront5xxRate",
                cloudwatch.MathExpression(
                    expression=f"IF(requests >= {thresholds.edge_min_requests}, rate, 0)",
                    using_metrics={"requests": requests, "rate": cloudfront("5xxErrorRate", "Average")},
                    label="5xx error rate (%)",
                    period=FIVE_MINUTES,
                ),
                threshold=thresholds.edge_5xx_percent,
                description=f"More than {thresholds.edge_5xx_percent} % of CloudFront's answers were 5xx "
                f"in 5 minutes ({thresholds.edge_min_requests}+ requests): the origin (API Gateway, the "
                "bucket) fails or cannot be reached (docs/runbooks/elevated-errors.md).",
            ),
            self._alarm(
                "EdgeWafBlockedSpike",
                waf("BlockedRequests"),
                threshold=thresholds.edge_blocked_per_5_minutes,
                description=f"The edge web ACL blocked {thresholds.edge_blocked_per_5_minutes}+ requests "
                "in 5 minutes: an attack or a scraper, or a rule that fires on real users "
                "(docs/runbooks/abuse-or-breach.md).",
            ),
        ]
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=cdk.Duration.hours(6))
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=f"**Chatbot {config.name}: the edge** (us-east-1)", width=WIDE, height=1
            ),
            cloudwatch.AlarmStatusWidget(alarms=list(self.alarms), width=WIDE, height=2, title="Edge alarms"),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="CloudFront requests", left=[requests], width=HALF),
            cloudwatch.GraphWidget(
                title="CloudFront error rates (%)",
                left=[cloudfront("5xxErrorRate", "Average"), cloudfront("4xxErrorRate", "Average")],
                width=HALF,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Edge web ACL", left=[waf("AllowedRequests"), waf("BlockedRequests")], width=HALF
            ),
            cloudwatch.GraphWidget(
                title="Bytes downloaded", left=[cloudfront("BytesDownloaded", "Sum")], width=HALF
            ),
        )
        cdk.CfnOutput(self, "EdgeAlarmTopicArn", value=self.on_call.topic.topic_arn)
        cdk.CfnOutput(self, "EdgeDashboardName", value=self.dashboard.dashboard_name)

    def _alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, *, threshold: float, description: str
    ) -> cloudwatch.Alarm:
        return threshold_alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            description=description,
            action=cw_actions.SnsAction(self.on_call.topic),
        )
