"""Alarms on the chat path, all sent to the stage's encrypted topic."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.conftest import CHAT_HANDLER, SynthesizedStage, function_with_handler, only_resource

EXPECTED_ALARMS = {
    "LambdaErrorRate",
    "LambdaThrottles",
    "LambdaDurationP99",
    "Api5xxRate",
    "Api4xxSpike",
    "ApiLatencyP99",
    "TableThrottledRequests",
    "TableSystemErrors",
    "RegionalWafBlockedSpike",
    "LlmProviderErrorRate",
    "LlmCircuitOpened",
    "TokenSpendPerHour",
    "JobDeadLetters",
    "JobOldestMessageAge",
    "WorkerErrors",
    "WorkerThrottles",
    "StreamTimeToFirstTokenP90",
    "StreamIncompleteRate",
}


def _alarms(stage: SynthesizedStage) -> dict[str, Any]:
    """Alarms by their construct id (the logical id minus CDK's hash)."""
    found = stage.service.find_resources("AWS::CloudWatch::Alarm")
    return {
        logical_id.removeprefix("Alarms")[:-8]: alarm
        for logical_id, alarm in found.items()
        if logical_id.startswith("Alarms")
    }


def _alarm_topic(stage: SynthesizedStage) -> tuple[str, Any]:
    """The on-call topic (the budget action, where there is one, has a topic of its own)."""
    (found,) = [
        (logical_id, topic)
        for logical_id, topic in stage.service.find_resources("AWS::SNS::Topic").items()
        if logical_id.startswith("OperationsAlarmTopic")
    ]
    return found


def _alarm_topic_policy(stage: SynthesizedStage) -> tuple[str, Any]:
    topic_id, _ = _alarm_topic(stage)
    (found,) = [
        (logical_id, policy)
        for logical_id, policy in stage.service.find_resources("AWS::SNS::TopicPolicy").items()
        if policy["Properties"]["Topics"] == [{"Ref": topic_id}]
    ]
    return found


def test_alarm_topic_is_kms_encrypted(stage: SynthesizedStage) -> None:
    _, topic = _alarm_topic(stage)
    assert "KmsMasterKeyId" in topic["Properties"]


def test_every_alarm_notifies_the_topic_on_alarm_and_recovery(stage: SynthesizedStage) -> None:
    topic_id, _ = _alarm_topic(stage)
    alarms = _alarms(stage)
    assert set(alarms) == EXPECTED_ALARMS
    composites = stage.service.find_resources("AWS::CloudWatch::CompositeAlarm")
    every_alarm = stage.service.find_resources("AWS::CloudWatch::Alarm")  # rollback alarms included
    for alarm in [*every_alarm.values(), *composites.values()]:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic_id}]


def test_chat_unhealthy_combines_the_alarms_users_feel(stage: SynthesizedStage) -> None:
    _, composite = only_resource(stage.service, "AWS::CloudWatch::CompositeAlarm")
    rule = json.dumps(composite["Properties"]["AlarmRule"])
    for name in ("LambdaErrorRate", "Api5xxRate", "ApiLatencyP99", "LlmProviderErrorRate"):
        assert f"Alarms{name}" in rule
    assert "TokenSpendPerHour" not in rule


def test_rates_are_computed_only_with_enough_traffic(stage: SynthesizedStage) -> None:
    alarms = _alarms(stage)
    for name in ("LambdaErrorRate", "Api5xxRate", "LlmProviderErrorRate", "StreamIncompleteRate"):
        expressions = [m["Expression"] for m in alarms[name]["Properties"]["Metrics"] if "Expression" in m]
        assert expressions
        assert expressions[0].startswith("IF(")


def test_llm_alarms_read_this_stages_namespace(stage: SynthesizedStage) -> None:
    spend = _alarms(stage)["TokenSpendPerHour"]["Properties"]
    namespaces = {m["MetricStat"]["Metric"]["Namespace"] for m in spend["Metrics"] if "MetricStat" in m}
    assert namespaces == {f"Chatbot/{stage.config.name}"}
    assert spend["Threshold"] == stage.config.alarm_thresholds.max_tokens_per_hour
    _, function = function_with_handler(stage.service, CHAT_HANDLER)
    assert (
        function["Properties"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
        == f"Chatbot/{stage.config.name}"
    )


def test_waf_alarm_reads_the_regional_acls_metrics_by_name(stage: SynthesizedStage) -> None:
    dimensions = {
        d["Name"]: d["Value"] for d in _alarms(stage)["RegionalWafBlockedSpike"]["Properties"]["Dimensions"]
    }
    _, acl = only_resource(stage.service, "AWS::WAFv2::WebACL")
    assert dimensions["Rule"] == "ALL"
    assert dimensions["WebACL"] == acl["Properties"]["Name"] == f"{stage.config.name}-ChatbotService-api"


def test_duration_alarm_fires_at_80_percent_of_the_timeout(stage: SynthesizedStage) -> None:
    alarm = _alarms(stage)["LambdaDurationP99"]
    assert alarm["Properties"]["ExtendedStatistic"] == "p99"
    assert alarm["Properties"]["Threshold"] == stage.config.lambda_timeout_seconds * 1000 * 0.8


def test_api_alarms_watch_this_stages_api_by_name(stage: SynthesizedStage) -> None:
    alarm = _alarms(stage)["Api4xxSpike"]
    _, api = only_resource(stage.service, "AWS::ApiGateway::RestApi")
    dimensions = {d["Name"]: d["Value"] for d in alarm["Properties"]["Dimensions"]}
    assert dimensions["ApiName"] == api["Properties"]["Name"] == f"{stage.config.name}-ChatbotService-api"


def test_alarm_emails_from_config_are_subscribed(stage: SynthesizedStage) -> None:
    subscriptions = stage.service.find_resources(
        "AWS::SNS::Subscription", {"Properties": {"Protocol": "email"}}
    )
    endpoints = sorted(s["Properties"]["Endpoint"] for s in subscriptions.values())
    assert endpoints == sorted(stage.config.alarm_emails)
    for subscription in subscriptions.values():
        assert subscription["Properties"]["Protocol"] == "email"
        assert "deadLetterTargetArn" in subscription["Properties"]["RedrivePolicy"]


def _topic_key(stage: SynthesizedStage) -> dict:
    _, topic = _alarm_topic(stage)
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    return stage.service.to_json()["Resources"][key_id]


@pytest.mark.parametrize("service", ["cloudwatch", "budgets"])
def test_cloudwatch_and_budgets_of_this_account_only_may_use_the_topic_key(
    stage: SynthesizedStage, service: str
) -> None:
    key = _topic_key(stage)
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    (statement,) = [s for s in statements if s.get("Principal") == {"Service": f"{service}.amazonaws.com"}]
    assert set(statement["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert statement["Effect"] == "Allow"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": stage.config.account}}
    assert key["Properties"]["EnableKeyRotation"] is True


def test_every_service_principal_on_the_topic_key_is_held_to_this_account(stage: SynthesizedStage) -> None:
    for statement in _topic_key(stage)["Properties"]["KeyPolicy"]["Statement"]:
        if "Service" in statement.get("Principal", {}):
            assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == stage.config.account


def test_cloudwatch_alarms_of_this_account_may_publish_to_the_topic(stage: SynthesizedStage) -> None:
    """The SSL-only topic policy replaces SNS's default one; publishing must be allowed explicitly."""
    topic_id, _ = _alarm_topic(stage)
    _, policy = _alarm_topic_policy(stage)
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (allow,) = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert allow["Action"] == "sns:Publish"
    assert allow["Resource"] == {"Ref": topic_id}
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": stage.config.account}
    assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s) for s in statements)


def test_a_monthly_budget_alerts_the_topic_and_oncall_at_80_and_100_percent(stage: SynthesizedStage) -> None:
    topic_id, _ = _alarm_topic(stage)
    _, budget = only_resource(stage.service, "AWS::Budgets::Budget")
    props = budget["Properties"]
    assert props["Budget"]["BudgetType"] == "COST"
    assert props["Budget"]["TimeUnit"] == "MONTHLY"
    assert props["Budget"]["BudgetLimit"] == {"Amount": stage.config.monthly_budget_usd, "Unit": "USD"}
    alerts = {
        (n["Notification"]["NotificationType"], n["Notification"]["Threshold"])
        for n in props["NotificationsWithSubscribers"]
    }
    assert alerts == {("FORECASTED", 80), ("FORECASTED", 100), ("ACTUAL", 80), ("ACTUAL", 100)}
    action_topics = [
        logical_id
        for logical_id in stage.service.find_resources("AWS::SNS::Topic")
        if logical_id.startswith("OperationsBudgetActionLimitReached")
    ]
    for notification in props["NotificationsWithSubscribers"]:
        subscribers = {(s["SubscriptionType"], json.dumps(s["Address"])) for s in notification["Subscribers"]}
        limit_reached = (
            notification["Notification"]["NotificationType"],
            notification["Notification"]["Threshold"],
        )
        # 100 % actually spent goes to the budget action, which tells on-call, where config asks for one
        target = (
            action_topics[0]
            if stage.config.budget_pauses_turns and limit_reached == ("ACTUAL", 100)
            else topic_id
        )
        assert [a for t, a in subscribers if t == "SNS"] == [json.dumps({"Ref": target})]
        assert {a for t, a in subscribers if t == "EMAIL"} == {
            json.dumps(e) for e in stage.config.alarm_emails
        }


def test_the_budget_waits_for_the_topic_policy_and_only_for_what_no_ref_orders(
    stage: SynthesizedStage,
) -> None:
    """cfn-lint W3005: a DependsOn that a Ref already enforces is noise; the policy is what Budgets checks."""
    policy_id, _ = _alarm_topic_policy(stage)
    topic_id, _ = _alarm_topic(stage)
    _, budget = only_resource(stage.service, "AWS::Budgets::Budget")
    assert policy_id in budget["DependsOn"]
    assert topic_id not in budget["DependsOn"]


def test_budgets_may_publish_to_the_encrypted_topic(stage: SynthesizedStage) -> None:
    _, policy = _alarm_topic_policy(stage)
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s.get("Principal") == {"Service": "budgets.amazonaws.com"} and s["Action"] == "sns:Publish"
        for s in statements
    )
    assert any(
        s.get("Principal") == {"Service": "budgets.amazonaws.com"}
        for s in _topic_key(stage)["Properties"]["KeyPolicy"]["Statement"]
    )


def test_the_dashboard_shows_what_on_call_needs(stage: SynthesizedStage) -> None:
    _, dashboard = only_resource(stage.service, "AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for figure in (
        "API latency (ms)",
        "p50",
        "p90",
        "p99",
        "Errors by kind",
        "LLM latency (ms)",
        "InputTokens",
        "OutputTokens",
        "Estimated LLM cost",
        "Cache hit ratio",
        "QuotaRejected",
        "ProviderErrors",
        f"Chatbot/{stage.config.name}",
    ):
        assert figure in body, figure
    assert str(stage.config.llm.usd_per_1k_output_tokens) in body
    assert "ChatUnhealthy" in body  # the alarm status widget
