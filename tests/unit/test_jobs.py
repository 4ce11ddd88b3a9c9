"""Async chat jobs: 202 and a job id, the worker answers once, failures come back or reach the DLQ."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from scripts.local_aws import sqs_event
from tests.unit.conftest import REGION, ChatEnv, LambdaContext, invoke, rest_event

BODY = {"sessionId": "session-0001", "message": "Summarise the French revolution."}


def _sqs() -> Any:
    return boto3.client("sqs", region_name=REGION)


def _queue(name: str = "chat-jobs") -> str:
    return str(_sqs().get_queue_url(QueueName=name)["QueueUrl"])


def _receive(name: str = "chat-jobs") -> list[dict[str, Any]]:
    response = _sqs().receive_message(
        QueueUrl=_queue(name), MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
    )
    return list(response.get("Messages", []))


def _sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return sqs_event(messages, queue_arn="arn:aws:sqs:us-east-1:123456789012:chat-jobs", region=REGION)


def _work(messages: list[dict[str, Any]]) -> dict[str, Any]:
    from lambda_src.handlers import worker

    result: dict[str, Any] = worker.handler(_sqs_event(messages), LambdaContext())
    return result


def _status(job_id: str) -> Any:
    return invoke(rest_event("GET", f"/chat/jobs/{job_id}"))


def _enqueue() -> str:
    answer = invoke(rest_event("POST", "/chat/jobs", body=BODY))
    assert answer.status == 202
    assert answer.headers["Location"].endswith(answer.body["jobId"])
    return str(answer.body["jobId"])


def test_a_job_is_queued_then_answered_by_the_worker(chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(reply="It began in 1789.")
    job_id = _enqueue()
    assert _status(job_id).body["status"] == "queued"
    assert chat_env.fake_llm.requests == []

    assert _work(_receive()) == {"batchItemFailures": []}

    answer = _status(job_id)
    assert answer.body["status"] == "done"
    assert answer.body["reply"] == "It began in 1789."
    assert [i["role"] for i in chat_env.items()] == ["user", "assistant"]


def test_the_same_job_delivered_twice_is_answered_once(chat_env: ChatEnv) -> None:
    _enqueue()
    messages = _receive()
    _work(messages)
    _work(messages)  # SQS at-least-once: the same message again
    assert len(chat_env.fake_llm.requests) == 1


def test_only_the_bad_record_of_a_batch_is_reported(chat_env: ChatEnv) -> None:
    _enqueue()
    _sqs().send_message(QueueUrl=_queue(), MessageBody="not a job")
    messages = _receive()
    bad = next(m for m in messages if m["Body"] == "not a job")

    result = _work(messages)

    assert result == {"batchItemFailures": [{"itemIdentifier": bad["MessageId"]}]}
    assert len(chat_env.fake_llm.requests) == 1


def test_a_retryable_failure_puts_the_job_back_for_the_next_delivery(chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(mode="status", status=503)
    job_id = _enqueue()
    messages = _receive()

    assert len(_work(messages)["batchItemFailures"]) == 1
    assert _status(job_id).body["status"] == "queued"

    chat_env.fake_llm.answer(reply="Now it works.")
    _work(messages)
    assert _status(job_id).body == {
        "jobId": job_id,
        "status": "done",
        "sessionId": "session-0001",
        "reply": "Now it works.",
        "usage": _status(job_id).body["usage"],
        "messageId": _status(job_id).body["messageId"],  # the reply's, for feedback on it
    }


def test_a_refused_job_fails_for_good_with_a_reason(chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(mode="status", status=400)
    job_id = _enqueue()
    assert _work(_receive()) == {"batchItemFailures": []}
    assert _status(job_id).body["status"] == "failed"
    assert _status(job_id).body["error"] == "the assistant could not produce a reply"


def test_a_poison_message_ends_in_the_dlq_after_the_configured_receives(chat_env: ChatEnv) -> None:
    _sqs().send_message(QueueUrl=_queue(), MessageBody='{"jobId": 1}')  # no owner: can never succeed
    for _ in range(3):  # maxReceiveCount
        messages = _receive()
        assert len(_work(messages)["batchItemFailures"]) == 1
    assert _receive() == []
    (dead,) = _receive("chat-jobs-dlq")
    assert json.loads(dead["Body"]) == {"jobId": 1}


def test_other_clients_cannot_see_a_job(chat_env: ChatEnv) -> None:
    job_id = _enqueue()
    answer = invoke(rest_event("GET", f"/chat/jobs/{job_id}", api_key_id="another-client"))
    assert answer.status == 404


@pytest.mark.parametrize("job_id", ["nope", "x.y", "A" * 32])
def test_a_malformed_job_id_is_a_400(chat_env: ChatEnv, job_id: str) -> None:
    assert _status(job_id).status == 400


def test_a_job_on_its_last_delivery_says_it_failed_and_a_redrive_can_still_answer_it(
    chat_env: ChatEnv,
) -> None:
    chat_env.fake_llm.answer(mode="status", status=503)
    job_id = _enqueue()
    for _ in range(3):
        _work(_receive())
    failed = _status(job_id).body
    assert failed["status"] == "failed"
    assert "may be retried" in failed["error"]

    assert _receive() == []  # moved to the dead-letter queue
    (dead,) = _receive("chat-jobs-dlq")  # the operator redrives it once the provider is back
    chat_env.fake_llm.answer(reply="Better late.")
    _work([dead])
    assert _status(job_id).body["reply"] == "Better late."


def test_queued_turns_count_in_the_token_metrics(
    chat_env: ChatEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    _enqueue()
    _work(_receive())
    out = capsys.readouterr().out
    assert '"InputTokens"' in out
    assert '"ChatTurns"' in out


def test_a_finished_job_reports_usage_as_integers(chat_env: ChatEnv) -> None:
    job_id = _enqueue()
    _work(_receive())
    usage = _status(job_id).body["usage"]
    assert set(usage) == {"inputTokens", "outputTokens", "totalTokens"}
    assert all(type(value) is int for value in usage.values()), usage


def _enqueue_with_key(key: str, body: dict[str, Any] = BODY) -> Any:
    return invoke(rest_event("POST", "/chat/jobs", body=body, headers={"Idempotency-Key": key}))


def test_the_same_idempotency_key_gives_the_same_job_and_one_model_call(chat_env: ChatEnv) -> None:
    first = _enqueue_with_key("job-key-1")
    again = _enqueue_with_key("job-key-1")

    assert first.status == again.status == 202
    assert again.body == first.body
    assert len(_receive()) == 1  # one message, so one model call
    _work(_receive())
    assert len(chat_env.fake_llm.requests) == 1


def test_a_job_idempotency_key_is_validated_and_bound_to_its_body(chat_env: ChatEnv) -> None:
    assert _enqueue_with_key("has spaces").status == 400
    assert _enqueue_with_key("job-key-2").status == 202
    other = {**BODY, "message": "Something else entirely."}
    assert _enqueue_with_key("job-key-2", other).status == 422


def test_a_failed_enqueue_says_the_queue_is_unavailable(
    chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBS_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/no-such-queue")
    from lambda_src.chat.dependencies import dependencies

    dependencies.cache_clear()
    answer = invoke(rest_event("POST", "/chat/jobs", body=BODY))
    assert answer.status == 503
    assert "queue" in answer.body["message"].lower()
    assert "storage" not in answer.body["message"].lower()
    assert answer.headers["Retry-After"]


def test_the_worker_names_the_job_in_its_logs_and_warns_of_a_failed_one(
    chat_env: ChatEnv, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    chat_env.fake_llm.answer(mode="status", status=400)
    job_id = _enqueue()
    _work(_receive())
    lines = log_lines()
    (failed,) = [x for x in lines if x["message"] == "job failed"]
    assert failed["level"] == "WARNING"
    assert failed["job_id"] == job_id
    assert failed["reason"] == "the assistant could not produce a reply"
