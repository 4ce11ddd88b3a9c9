"""scripts/redrive.py with moto: a dry run changes nothing, a real run moves the dead letters back."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.stub import Stubber

from scripts.redrive import COPY, MOVE_TASK, Queues, move_back, report
from tests.unit.conftest import REGION, ChatEnv


def _queues() -> Queues:
    sqs = boto3.client("sqs", region_name=REGION)
    urls = [sqs.get_queue_url(QueueName=n)["QueueUrl"] for n in ("chat-jobs", "chat-jobs-dlq")]
    arns = [
        sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for u in urls
    ]
    return Queues(urls[0], arns[0], urls[1], arns[1])


def _count(sqs: Any, url: str) -> int:
    return int(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
    )


def test_the_dry_run_reports_without_moving_anything(chat_env: ChatEnv, capsys: Any) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    queues = _queues()
    for n in range(3):
        sqs.send_message(QueueUrl=queues.dlq_url, MessageBody=f"secret user text {n}")

    found = report(sqs, queues.dlq_url)

    assert found.messages == 3
    assert found.oldest_age_seconds is not None
    assert found.oldest_age_seconds >= 0
    assert _count(sqs, queues.dlq_url) == 3
    assert _count(sqs, queues.queue_url) == 0
    assert "secret user text" not in capsys.readouterr().out


def test_a_real_run_moves_the_messages_back(chat_env: ChatEnv) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    queues = _queues()
    for n in range(12):
        sqs.send_message(QueueUrl=queues.dlq_url, MessageBody=f"job {n}")

    assert move_back(sqs, queues, method=COPY) == "12 messages copied back"

    assert _count(sqs, queues.dlq_url) == 0
    assert _count(sqs, queues.queue_url) == 12


def test_the_default_uses_the_sqs_message_move_task() -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    queues = Queues("q", "arn:aws:sqs:us-east-1:1:q", "d", "arn:aws:sqs:us-east-1:1:d")
    with Stubber(sqs) as stub:
        stub.add_response(
            "start_message_move_task",
            {"TaskHandle": "handle-1"},
            {"SourceArn": queues.dlq_arn, "DestinationArn": queues.queue_arn},
        )
        assert move_back(sqs, queues, method=MOVE_TASK) == "message-move task handle-1"
        stub.assert_no_pending_responses()
