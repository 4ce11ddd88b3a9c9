"""The budget action where config asks for it (staging and prod): 100 % of the budget actually spent
reaches a function that may write the runtime controls and publish to on-call, and nothing more; a
failure of it alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.conftest import SynthesizedStage, function_with_handler, role_statements

HANDLER = "lambda_src.handlers.budget_action.handler"


def _by_prefix(stage: SynthesizedStage, resource_type: str, prefix: str) -> tuple[str, Any]:
    (found,) = [
        (i, r) for i, r in stage.service.find_resources(resource_type).items() if i.startswith(prefix)
    ]
    return found


def test_config_asks_for_the_action_in_staging_and_prod_only(
    synthesized: dict[str, SynthesizedStage],
) -> None:
    assert {name: s.config.budget_pauses_turns for name, s in synthesized.items()} == {
        "dev": False,
        "staging": True,
        "prod": True,
    }
    assert not [
        f
        for f in synthesized["dev"].service.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == HANDLER
    ]


@pytest.fixture(params=["staging", "prod"])
def acting(request: pytest.FixtureRequest, synthesized: dict[str, SynthesizedStage]) -> SynthesizedStage:
    return synthesized[request.param]


def test_the_limit_reached_topic_invokes_the_function_with_a_dead_letter_queue(
    acting: SynthesizedStage,
) -> None:
    topic_id, topic = _by_prefix(acting, "AWS::SNS::Topic", "OperationsBudgetActionLimitReached")
    function_id, function = function_with_handler(acting.service, HANDLER)
    (subscription,) = acting.service.find_resources(
        "AWS::SNS::Subscription", {"Properties": {"Protocol": "lambda", "TopicArn": {"Ref": topic_id}}}
    ).values()
    assert subscription["Properties"]["Endpoint"] == {"Fn::GetAtt": [function_id, "Arn"]}
    dlq_id, _ = _by_prefix(acting, "AWS::SQS::Queue", "OperationsBudgetActionFailed")
    assert subscription["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]}
    }
    assert function["Properties"]["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]}}
    assert function["Properties"]["ReservedConcurrentExecutions"] == 1
    assert "KmsMasterKeyId" in topic["Properties"]


def test_only_this_accounts_budgets_may_publish_to_the_limit_reached_topic(acting: SynthesizedStage) -> None:
    topic_id, _ = _by_prefix(acting, "AWS::SNS::Topic", "OperationsBudgetActionLimitReached")
    (policy,) = acting.service.find_resources(
        "AWS::SNS::TopicPolicy", {"Properties": {"Topics": [{"Ref": topic_id}]}}
    ).values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": acting.config.account}}


def test_the_function_may_write_the_controls_and_tell_on_call_and_nothing_else(
    acting: SynthesizedStage,
) -> None:
    statements = role_statements(acting.service, HANDLER)
    actions = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert actions - {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} == {
        "ssm:GetParameter",
        "ssm:PutParameter",
        "sns:Publish",
        "sqs:SendMessage",
        "kms:Decrypt",
        "kms:GenerateDataKey*",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    (ssm,) = [s for s in statements if "ssm:PutParameter" in s["Action"]]
    assert "RuntimeControlsParameter" in json.dumps(ssm["Resource"])
    (publish,) = [s for s in statements if s["Action"] == "sns:Publish"]
    alarm_topic, _ = _by_prefix(acting, "AWS::SNS::Topic", "OperationsAlarmTopic")
    assert publish["Resource"] == {"Ref": alarm_topic}
    _, function = function_with_handler(acting.service, HANDLER)
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["ALARM_TOPIC_ARN"] == {"Ref": alarm_topic}
    assert "RuntimeControlsParameter" in json.dumps(variables["RUNTIME_CONTROLS_PARAMETER"])


def test_a_failed_budget_action_alarms_on_call(acting: SynthesizedStage) -> None:
    alarm_topic, _ = _by_prefix(acting, "AWS::SNS::Topic", "OperationsAlarmTopic")
    function_id, _ = function_with_handler(acting.service, HANDLER)
    dlq_id, _ = _by_prefix(acting, "AWS::SQS::Queue", "OperationsBudgetActionFailed")
    _, errors = _by_prefix(acting, "AWS::CloudWatch::Alarm", "OperationsBudgetActionErrors")
    _, dead_letters = _by_prefix(acting, "AWS::CloudWatch::Alarm", "OperationsBudgetActionDeadLetters")
    assert errors["Properties"]["MetricName"] == "Errors"
    assert errors["Properties"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    assert dead_letters["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert dead_letters["Properties"]["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}
    ]
    for alarm in (errors, dead_letters):
        assert alarm["Properties"]["Threshold"] == 1
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": alarm_topic}]
