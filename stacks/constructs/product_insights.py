"""What the product owner reads on the stage's dashboard, from the metrics and logs the handlers already
write (no store of its own): who uses the chatbot each day, turns and tokens by usage tier, and what
people think of the replies (thumbs up and down, by model and provider, and how often they give any);
and the alarm on a falling thumbs-up rate, which speaks only once enough votes are in.

The figures: TurnsByTier and TokensByTier (dimension tier), Feedback (dimensions kind, model, provider),
FeedbackUp, FeedbackDown, FeedbackGiven and ChatTurns (lambda_src/chat/telemetry.py); daily active
clients are counted from the turn log lines by Logs Insights (count_distinct of client), as the saved
query chatbot/<stage>/daily-active-clients does."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config_model import AlarmThresholds

ONE_HOUR = cdk.Duration.hours(1)
ONE_DAY = cdk.Duration.days(1)
# The metric widgets show their own span, whatever the dashboard's range (6 hours by default): days of
# daily sums, a week of hourly votes. The Logs Insights widget follows the dashboard's range.
DAILY_SPAN, HOURLY_SPAN = "-P14D", "-P7D"
WIDE, HALF, THIRD = 24, 12, 8


def thumbs_up_percent(up: str, down: str, *, min_votes: int) -> str:
    """Metric math: the share of thumbs up among the period's votes, or 100 (nothing to say) while fewer
    than ``min_votes`` are in. FILL: a period with votes of one kind only has no datapoint of the other."""
    up, down = f"FILL({up}, 0)", f"FILL({down}, 0)"
    return f"IF({up} + {down} >= {min_votes}, 100 * {up} / ({up} + {down}), 100)"


class ProductInsights(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        metrics_namespace: str,
        thresholds: AlarmThresholds,
        action: cloudwatch.IAlarmAction,
    ) -> None:
        super().__init__(scope, construct_id)
        self._namespace = metrics_namespace
        window = cdk.Duration.hours(thresholds.feedback_window_hours)
        self.thumbs_up_rate = cloudwatch.MathExpression(
            expression=thumbs_up_percent("up", "down", min_votes=thresholds.feedback_min_votes),
            using_metrics={
                "up": self._metric("FeedbackUp", period=window),
                "down": self._metric("FeedbackDown", period=window),
            },
            label="thumbs up (%)",
            period=window,
        )
        self.falling_thumbs_up = cloudwatch.Alarm(
            self,
            "ThumbsUpFalling",
            metric=self.thumbs_up_rate,
            threshold=thresholds.feedback_up_percent_below,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=(
                f"Under {thresholds.feedback_up_percent_below:g}% of the replies' votes in "
                f"{thresholds.feedback_window_hours} h were thumbs up (counted once at least "
                f"{thresholds.feedback_min_votes} votes are in) (docs/runbooks/falling-thumbs-up.md)"
            ),
        )
        self.falling_thumbs_up.add_alarm_action(action)
        self.falling_thumbs_up.add_ok_action(action)

    def _metric(
        self,
        name: str,
        *,
        period: cdk.Duration = ONE_HOUR,
        dimensions: dict[str, str] | None = None,
        label: str | None = None,
    ) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=self._namespace,
            metric_name=name,
            dimensions_map={"service": "chatbot", **(dimensions or {})},
            statistic="Sum",
            period=period,
            label=label or name,
        )

    def _search(self, name: str, dimensions: Sequence[str], *, period: cdk.Duration) -> cloudwatch.IMetric:
        """Every series of ``name`` over ``dimensions`` (each tier, model...), without listing them here."""
        keys = ",".join(sorted([self._namespace, *dimensions, "service"]))
        return cloudwatch.MathExpression(
            expression=f"SEARCH('{{{keys}}} MetricName=\"{name}\"', 'Sum', {int(period.to_seconds())})",
            using_metrics={},
            label="",
            period=period,
        )

    def add_to(self, dashboard: cloudwatch.Dashboard, *, turn_logs: Sequence[logs.ILogGroup]) -> None:
        """The product owner's section, at the foot of the stage's dashboard."""
        daily_active = logs.QueryString(
            filter_statements=['message = "chat turn answered"'],
            stats_statements=["count_distinct(client) as active by bin(1d) as day, caller"],
            sort="day desc",
        )
        turns, given = self._metric("ChatTurns"), self._metric("FeedbackGiven")
        dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    "## Product: use and feedback\nActive clients (people signed in, programs by key), "
                    "turns and tokens by tier, and the replies' thumbs. Active clients follow the "
                    "dashboard's range (widen it to weeks for daily figures); the graphs show their own. "
                    "Saved queries with the same figures by day: `daily-active-clients`, "
                    "`turns-and-tokens-by-tier`, `feedback-by-day`, `thumbs-down-by-category`."
                ),
                width=WIDE,
                height=2,
            )
        )
        dashboard.add_widgets(
            cloudwatch.LogQueryWidget(
                title="Active clients a day (people, programs), in the dashboard's range",
                log_group_names=[group.log_group_name for group in turn_logs],
                query_string=daily_active.to_string(),
                view=cloudwatch.LogQueryVisualizationType.TABLE,
                width=THIRD,
            ),
            cloudwatch.GraphWidget(
                title="Turns a day by tier (14 days)",
                left=[self._search("TurnsByTier", ["tier"], period=ONE_DAY)],
                start=DAILY_SPAN,
                width=THIRD,
            ),
            cloudwatch.GraphWidget(
                title="Tokens a day by tier (14 days)",
                left=[self._search("TokensByTier", ["tier"], period=ONE_DAY)],
                start=DAILY_SPAN,
                width=THIRD,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Thumbs up and down an hour (votes), thumbs-up and feedback rates (%), 7 days",
                left=[
                    self._metric("FeedbackUp", label="thumbs up"),
                    self._metric("FeedbackDown", label="down"),
                ],
                right=[
                    self.thumbs_up_rate,
                    cloudwatch.MathExpression(
                        expression="IF(turns > 0, 100 * FILL(given, 0) / turns, 0)",
                        using_metrics={"turns": turns, "given": given},
                        label="replies given feedback (%)",
                        period=ONE_HOUR,
                    ),
                ],
                right_y_axis=cloudwatch.YAxisProps(min=0, max=100),
                start=HOURLY_SPAN,
                width=HALF,
            ),
            cloudwatch.GraphWidget(
                title="Votes an hour by kind, model and provider (7 days)",
                left=[self._search("Feedback", ["kind", "model", "provider"], period=ONE_HOUR)],
                start=HOURLY_SPAN,
                width=HALF,
            ),
        )
