"""A failing LLM provider gives the client a clear 502/503 and never loses the user's message."""

from __future__ import annotations

import json
import socket
import time

import pytest

from lambda_src.chat.settings import Settings
from scripts.fake_llm_server import PROVIDER_ERROR_TEXT
from tests.unit.conftest import ChatEnv, chat

SESSION = "session-0001"
DEGRADED_REPLY = Settings.model_fields["degraded_reply"].default
MESSAGE = "What is the capital of France?"


def _assert_message_kept(chat_env: ChatEnv) -> None:
    assert [(i["role"], i["content"]) for i in chat_env.items()] == [("user", MESSAGE)]


def test_provider_rate_limit_answers_503_with_the_providers_retry_after(chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(mode="status", status=429, retry_after="7")

    answer = chat(SESSION, MESSAGE)

    assert answer.status == 503
    assert answer.headers["Retry-After"] == "7"
    assert answer.body["message"] == DEGRADED_REPLY
    _assert_message_kept(chat_env)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_provider_server_error_answers_503_with_a_default_retry_after(chat_env: ChatEnv, status: int) -> None:
    chat_env.fake_llm.answer(mode="status", status=status)

    answer = chat(SESSION, MESSAGE)

    assert answer.status == 503
    assert int(answer.headers["Retry-After"]) > 0
    _assert_message_kept(chat_env)


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_provider_refusal_answers_502(chat_env: ChatEnv, status: int) -> None:
    chat_env.fake_llm.answer(mode="status", status=status)

    answer = chat(SESSION, MESSAGE)

    assert answer.status == 502
    assert "Retry-After" not in answer.headers
    _assert_message_kept(chat_env)


@pytest.mark.parametrize("mode", ["malformed", "empty"])
def test_unusable_provider_answer_is_a_502(chat_env: ChatEnv, mode: str) -> None:
    chat_env.fake_llm.answer(mode=mode)

    assert chat(SESSION, MESSAGE).status == 502
    _assert_message_kept(chat_env)


def test_a_provider_that_hangs_is_cut_off_by_the_timeout(
    chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_TIMEOUT_SECONDS", "0.3")
    chat_env.fake_llm.answer(mode="hang", delay=3)

    started = time.monotonic()
    answer = chat(SESSION, MESSAGE)

    assert answer.status == 503
    assert time.monotonic() - started < 1.5
    _assert_message_kept(chat_env)


def test_a_provider_that_trickles_its_answer_is_cut_off_at_the_deadline(
    chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every single read is quick, so only a wall-clock deadline stops this."""
    monkeypatch.setenv("LLM_TIMEOUT_SECONDS", "0.5")
    chat_env.fake_llm.answer(mode="trickle", delay=4)

    started = time.monotonic()
    answer = chat(SESSION, MESSAGE)

    assert answer.status == 503
    assert time.monotonic() - started < 2.0
    _assert_message_kept(chat_env)


def test_the_llm_call_never_outlives_the_lambda(chat_env: ChatEnv) -> None:
    """With 2.5 s left, the 2 s margin for storing and answering leaves too little for the LLM."""
    answer = chat(SESSION, MESSAGE, remaining_ms=2_500)

    assert answer.status == 503
    assert chat_env.fake_llm.requests == []
    _assert_message_kept(chat_env)


def test_an_unreachable_provider_answers_503(chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    provider = {"name": "primary", "kind": "openai", "model": "m", "timeout_seconds": 1}
    monkeypatch.setenv(
        "LLM_PROVIDERS", json.dumps([{**provider, "base_url": f"http://127.0.0.1:{closed_port}/v1"}])
    )

    assert chat(SESSION, MESSAGE).status == 503
    _assert_message_kept(chat_env)


def test_a_retry_after_a_failed_turn_does_not_store_the_message_twice(chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(mode="status", status=503)
    chat(SESSION, MESSAGE)
    chat_env.fake_llm.answer(reply="Paris.")

    assert chat(SESSION, MESSAGE).status == 200

    assert [(i["role"], i["content"]) for i in chat_env.items()] == [
        ("user", MESSAGE),
        ("assistant", "Paris."),
    ]
    prompt = chat_env.fake_llm.requests[-1].body["messages"]
    assert [m["content"] for m in prompt if m["role"] == "user"] == [MESSAGE]


@pytest.mark.parametrize("retry_after", ["inf", "1e400", "nan", "-5", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_odd_retry_after_values_still_answer_503(chat_env: ChatEnv, retry_after: str) -> None:
    chat_env.fake_llm.answer(mode="status", status=429, retry_after=retry_after)

    answer = chat(SESSION, MESSAGE)

    assert answer.status == 503
    assert 1 <= int(answer.headers["Retry-After"]) <= 120


@pytest.mark.parametrize(
    "behaviour",
    [
        {"mode": "status", "status": 429},
        {"mode": "status", "status": 500},
        {"mode": "status", "status": 401},
        {"mode": "malformed"},
    ],
)
def test_the_providers_error_text_never_reaches_the_client(chat_env: ChatEnv, behaviour: dict) -> None:
    chat_env.fake_llm.answer(**behaviour)

    answer = chat(SESSION, MESSAGE)

    assert PROVIDER_ERROR_TEXT not in json.dumps(answer.body)
    assert set(answer.body) == {"message", "requestId"}


def test_an_unreadable_secret_answers_503_and_keeps_the_message(
    chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_SECRET_ARN", chat_env.secret_arn.replace("llm-api-key", "missing-key"))

    assert chat(SESSION, MESSAGE).status == 503
    _assert_message_kept(chat_env)
    assert chat_env.fake_llm.requests == []


def test_an_unavailable_table_answers_503_without_calling_the_llm(
    chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TABLE_NAME", "no-such-table")

    answer = chat(SESSION, MESSAGE)

    assert answer.status == 503
    assert answer.headers["Retry-After"]
    assert chat_env.fake_llm.requests == []


def test_the_conversation_continues_after_a_failed_turn(chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(mode="status", status=503)
    chat(SESSION, MESSAGE)
    chat_env.fake_llm.answer(reply="Paris.")

    answer = chat(SESSION, "Please answer my earlier question.")

    assert answer.status == 200
    prompt = chat_env.fake_llm.requests[-1].body["messages"]
    assert [m["content"] for m in prompt if m["role"] == "user"] == [
        MESSAGE,
        "Please answer my earlier question.",
    ]
