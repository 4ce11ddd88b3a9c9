"""The product owner's part of the dashboard (issue 13, usage analytics): active clients, turns and
tokens by tier, and feedback, from the metrics and logs the handlers write; and the volume-guarded alarm
on a falling thumbs-up rate."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.config_model import AlarmThresholds
from stacks.constructs.product_insights import thumbs_up_percent
from tests.infra.conftest import SynthesizedStage


def _thumbs_alarm(stage: SynthesizedStage) -> dict[str, Any]:
    (alarm,) = [
        a["Properties"]
        for i, a in stage.service.find_resources("AWS::CloudWatch::Alarm").items()
        if i.startswith("ProductThumbsUpFalling")
    ]
    return alarm


def test_the_thumbs_up_alarm_speaks_only_with_enough_votes(stage: SynthesizedStage) -> None:
    thresholds = stage.config.alarm_thresholds
    alarm = _thumbs_alarm(stage)

    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert alarm["Threshold"] == thresholds.feedback_up_percent_below
    assert alarm["TreatMissingData"] == "notBreaching"
    (rate,) = [m for m in alarm["Metrics"] if "Expression" in m]
    assert rate["Expression"] == thumbs_up_percent("up", "down", min_votes=thresholds.feedback_min_votes)
    assert f">= {thresholds.feedback_min_votes}" in rate["Expression"]
    votes = {m["Id"]: m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert {k: v["Metric"]["MetricName"] for k, v in votes.items()} == {
        "up": "FeedbackUp",
        "down": "FeedbackDown",
    }
    assert {v["Period"] for v in votes.values()} == {thresholds.feedback_window_hours * 3600}
    assert {v["Metric"]["Namespace"] for v in votes.values()} == {f"Chatbot/{stage.config.name}"}
    assert "docs/runbooks/falling-thumbs-up.md" in alarm["AlarmDescription"]
    assert alarm["AlarmActions"] == alarm["OKActions"]


def test_the_dashboard_has_the_product_owners_section(stage: SynthesizedStage) -> None:
    (dashboard,) = stage.service.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])

    assert "Product: use and feedback" in body
    assert "count_distinct(client) as active by bin(1d) as day, caller" in body  # active clients a day
    for name in ("TurnsByTier", "TokensByTier"):
        assert f'{{Chatbot/{stage.config.name},service,tier}} MetricName=\\\\\\"{name}\\\\\\"' in body, name
    assert 'MetricName=\\\\\\"Feedback\\\\\\"' in body  # votes by kind, model and provider
    assert "100 * FILL(given, 0) / turns" in body  # how many replies get feedback
    assert "ThumbsUpFalling" in body  # in the alarm status widget
    assert body.count('\\"start\\":\\"-P14D\\"') == 2  # daily sums over two weeks, whatever the range
    assert body.count('\\"start\\":\\"-P7D\\"') == 2


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"feedback_up_percent_below": 0}, "feedback_up_percent_below"),
        ({"feedback_min_votes": 0}, "feedback_min_votes"),
        ({"feedback_window_hours": 25}, "feedback_window_hours"),
    ],
)
def test_config_refuses_feedback_thresholds_no_alarm_could_use(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        AlarmThresholds(**change)
