"""POST /chat end to end through the Lambda handler, with moto and the fake LLM server."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from lambda_src.chat.dynamo import SECONDS_PER_DAY
from tests.unit.conftest import LLM_API_KEY, SYSTEM_PROMPT, ChatEnv, chat, invoke, rest_event

SESSION = "session-0001"


def test_a_turn_is_answered_and_both_messages_are_stored_with_ttl(chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(reply="Hello there!")
    before = int(time.time())

    answer = chat(SESSION, "Hi, who are you?")

    assert answer.status == 200
    assert answer.body["sessionId"] == SESSION
    assert answer.body["reply"] == "Hello there!"
    assert answer.body["usage"]["outputTokens"] == 2
    assert answer.body["usage"]["totalTokens"] == (
        answer.body["usage"]["inputTokens"] + answer.body["usage"]["outputTokens"]
    )
    items = chat_env.items()
    assert [(i["role"], i["content"]) for i in items] == [
        ("user", "Hi, who are you?"),
        ("assistant", "Hello there!"),
    ]
    retention = 30 * SECONDS_PER_DAY
    for item in items:
        assert before + retention <= item["expiresAt"] <= int(time.time()) + retention


def test_the_llm_key_from_secrets_manager_is_sent_as_a_bearer_token(chat_env: ChatEnv) -> None:
    chat(SESSION, "hello")
    (request,) = chat_env.fake_llm.requests
    assert request.headers["Authorization"] == f"Bearer {LLM_API_KEY}"
    assert request.body["model"] == "fake-model"
    assert request.body["max_tokens"] == 256


def test_history_is_sent_to_the_llm_in_order(chat_env: ChatEnv) -> None:
    for n in range(1, 4):
        chat_env.fake_llm.answer(reply=f"answer {n}")
        assert chat(SESSION, f"question {n}").status == 200

    last = chat_env.fake_llm.requests[-1].body["messages"]
    assert [(m["role"], m["content"]) for m in last] == [
        ("system", SYSTEM_PROMPT),
        ("user", "question 1"),
        ("assistant", "answer 1"),
        ("user", "question 2"),
        ("assistant", "answer 2"),
        ("user", "question 3"),
    ]


def test_history_sent_to_the_llm_is_bounded(chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HISTORY_TURNS", "1")
    for n in range(1, 4):
        chat_env.fake_llm.answer(reply=f"answer {n}")
        chat(SESSION, f"question {n}")

    last = chat_env.fake_llm.requests[-1].body["messages"]
    assert [m["content"] for m in last[1:]] == ["question 2", "answer 2", "question 3"]


def test_expired_turns_are_never_sent_to_the_llm(chat_env: ChatEnv) -> None:
    """DynamoDB's TTL deletes late; retention must hold anyway."""
    chat(SESSION, "old question")
    # The turn is older than the stage's retention (30 days) but TTL has not deleted it yet.
    state = next(i for i in chat_env.all_items() if i["sk"] == "STATE")
    too_old_ms = int((time.time() - 31 * SECONDS_PER_DAY) * 1000)
    chat_env.table.update_item(
        Key={"pk": state["pk"], "sk": "STATE"},
        UpdateExpression="SET recent = :recent",
        ExpressionAttributeValues={":recent": [{**m, "at": too_old_ms} for m in state["recent"]]},
    )

    chat(SESSION, "new question")

    prompt = chat_env.fake_llm.requests[-1].body["messages"]
    assert [m["content"] for m in prompt if m["role"] != "system"] == ["new question"]


def test_sessions_are_private_to_the_client_that_owns_them(chat_env: ChatEnv) -> None:
    chat(SESSION, "my secret plan")
    invoke(
        rest_event("POST", "/chat", body={"sessionId": SESSION, "message": "hi"}, api_key_id="other-client")
    )

    other_prompt = chat_env.fake_llm.requests[-1].body["messages"]
    assert [m["content"] for m in other_prompt if m["role"] != "system"] == ["hi"]


def test_the_key_is_read_once_and_cached_for_the_container(chat_env: ChatEnv) -> None:
    import boto3

    chat(SESSION, "first")
    boto3.client("secretsmanager").put_secret_value(SecretId=chat_env.secret_arn, SecretString="sk-rotated")
    chat(SESSION, "second")

    assert {r.headers["Authorization"] for r in chat_env.fake_llm.requests} == {f"Bearer {LLM_API_KEY}"}


def test_a_request_without_client_identity_is_refused(chat_env: ChatEnv) -> None:
    answer = invoke(
        rest_event("POST", "/chat", body={"sessionId": SESSION, "message": "hi"}, api_key_id=None)
    )
    assert answer.status == 403
    assert chat_env.fake_llm.requests == []


def test_health_reports_the_deployed_version(chat_env: ChatEnv) -> None:
    from lambda_src import __version__

    answer = invoke(rest_event("GET", "/health"))
    assert answer.status == 200
    assert answer.body == {"status": "ok", "version": f"{__version__}+unknown", "stage": "test"}


def test_unknown_routes_answer_404(chat_env: ChatEnv) -> None:
    assert invoke(rest_event("GET", "/nope")).status == 404


def test_health_reports_the_build_it_runs(chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUILD_ID", "0.1.0+3f2a9c1d0b7e")
    answer = invoke(rest_event("GET", "/health"))
    assert answer.body["version"] == "0.1.0+3f2a9c1d0b7e"


def test_the_turn_log_line_names_the_client_by_id(
    chat_env: ChatEnv, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    assert chat(SESSION, "hello").status == 200
    (line,) = [x for x in log_lines() if x["message"] == "chat turn answered"]
    assert line["client"] == "apikeyid-client-a"
