"""The budget action with moto: 100 % of the budget spent turns the kill switch on and tells on-call; a
switch already on is left as it is; the chat then refuses new turns."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from lambda_src.chat import dependencies as deps_module
from lambda_src.handlers.budget_action import REASON, handler, pause_for_budget
from tests.unit.conftest import REGION, ChatEnv, LambdaContext, chat

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def on_call(chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The stage's controls parameter and alarm topic, with a queue that reads what on-call is sent."""
    ssm, sns, sqs = (boto3.client(s, region_name=REGION) for s in ("ssm", "sns", "sqs"))
    parameter = f"/test/controls-{uuid.uuid4().hex}"
    ssm.put_parameter(Name=parameter, Type="String", Value='{"disabled_providers": ["backup"]}')
    topic = sns.create_topic(Name=f"alarms-{uuid.uuid4().hex[:8]}")["TopicArn"]
    inbox = sqs.create_queue(QueueName=f"on-call-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    for name, value in {
        "RUNTIME_CONTROLS_PARAMETER": parameter,
        "ALARM_TOPIC_ARN": topic,
        "STAGE": "prod",
    }.items():
        monkeypatch.setenv(name, value)
    deps_module.dependencies.cache_clear()
    deps_module._ssm().clear_cache()
    return {"ssm": ssm, "sns": sns, "sqs": sqs, "parameter": parameter, "topic": topic, "inbox": inbox}


def _controls(on_call: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(on_call["ssm"].get_parameter(Name=on_call["parameter"])["Parameter"]["Value"]))


def _told(on_call: dict[str, Any]) -> list[dict[str, Any]]:
    messages = (
        on_call["sqs"].receive_message(QueueUrl=on_call["inbox"], MaxNumberOfMessages=10).get("Messages", [])
    )
    return [json.loads(m["Body"]) for m in messages]


def test_the_budget_notification_turns_the_kill_switch_on_and_tells_on_call(on_call: dict[str, Any]) -> None:
    budgets_event = {
        "Records": [{"EventSource": "aws:sns", "Sns": {"Message": "AWS Budget Notification ..."}}]
    }

    assert handler(budgets_event, LambdaContext()) == {"paused": True}  # type: ignore[arg-type]

    controls = _controls(on_call)
    assert controls["turns_paused"] is True
    assert controls["reason"] == REASON
    assert controls["changed_by"] == "budget-action"
    assert controls["disabled_providers"] == ["backup"]  # the rest of the controls stay as they were
    (message,) = _told(on_call)
    assert message["Subject"] == "Chatbot prod: kill switch ON, monthly budget reached"
    assert "kill-switch --off --apply" in message["Message"]
    deps_module._ssm().clear_cache()
    assert chat("session-0001", "hello").status == 503


def test_a_switch_already_on_is_left_with_its_reason_and_on_call_is_not_told_twice(
    on_call: dict[str, Any],
) -> None:
    on_call["ssm"].put_parameter(
        Name=on_call["parameter"],
        Type="String",
        Value='{"turns_paused": true, "reason": "provider outage"}',
        Overwrite=True,
    )

    changed = pause_for_budget(
        on_call["ssm"],
        on_call["sns"],
        parameter=on_call["parameter"],
        topic_arn=on_call["topic"],
        stage="prod",
        now=NOW,
    )

    assert changed is False
    assert _controls(on_call)["reason"] == "provider outage"
    assert _told(on_call) == []
