"""PII canaries: with transcripts stored redacted, an e-mail address and a card number that a user sends, and
that a model repeats, reach no table item (transcript, session state, cache, idempotency record, job
record), no log line and no model; on every route that answers a turn."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from stacks.config_guardrail import GuardrailConfig
from tests.unit.conftest import ChatEnv, StreamApi, chat, invoke, rest_event, work_queued_jobs

EMAIL = "canary.pii.7d3e@example.com"
CARD = "4111 1111 1111 1111"
MESSAGE = f"Please write to {EMAIL} and charge my card {CARD} today."
# A model that repeats them (it is asked the masked text, so only a careless model could).
REPLY = f"Done. I will write to {EMAIL}. The card {CARD} is charged."
CANARIES = (EMAIL, CARD, CARD.replace(" ", ""))


def _leaks(text: str) -> list[str]:
    return [canary for canary in CANARIES if canary in text]


@pytest.fixture
def redacting(
    chat_env: ChatEnv, guardrail: Callable[..., GuardrailConfig], monkeypatch: pytest.MonkeyPatch
) -> ChatEnv:
    monkeypatch.setenv("CACHE_TTL_SECONDS", "3600")  # first answers are cached: the cache is checked too
    guardrail(redact_transcripts=True)
    chat_env.fake_llm.answer(reply=REPLY)
    return chat_env


def _assert_nothing_kept(env: ChatEnv, logged: str) -> None:
    items = env.all_items()
    assert any(i["pk"].startswith("CACHE#") for i in items) or any(i["pk"].startswith("JOB#") for i in items)
    assert _leaks(json.dumps(items, default=str)) == []
    assert _leaks(logged) == []
    asked = json.dumps([request.body for request in env.fake_llm.requests])
    assert _leaks(asked) == []
    assert "{EMAIL}" in asked
    assert "{CREDIT_DEBIT_CARD_NUMBER}" in asked


def test_a_chat_turn_keeps_no_canary(
    redacting: ChatEnv,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    log_lines: Callable[[], list[dict[str, Any]]],
) -> None:
    answer = chat("pii-session-1", MESSAGE, remaining_ms=28_000)
    replayed = invoke(
        rest_event(
            "POST",
            "/chat",
            body={"sessionId": "pii-session-1", "message": MESSAGE},
            headers={"Idempotency-Key": "pii-key-1"},
        )
    )

    assert answer.status == replayed.status == 200
    assert _leaks(json.dumps([answer.body, replayed.body])) == []
    assert (
        answer.body["reply"]
        == "Done. I will write to {EMAIL}. The card {CREDIT_DEBIT_CARD_NUMBER} is charged."
    )
    history = invoke(rest_event("GET", "/conversations/pii-session-1"))
    assert _leaks(json.dumps(history.body)) == []
    captured = capsys.readouterr()
    _assert_nothing_kept(redacting, captured.out + captured.err + caplog.text + json.dumps(log_lines()))


def test_a_streamed_turn_keeps_no_canary(
    redacting: ChatEnv,
    stream_api: StreamApi,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    answer = stream_api.post("/chat/stream", {"sessionId": "pii-session-2", "message": MESSAGE})
    events = answer.all_events()

    assert events[-1].name == "done"
    assert _leaks(answer.raw.decode()) == []
    captured = capsys.readouterr()
    _assert_nothing_kept(redacting, captured.out + captured.err + caplog.text)


def test_a_queued_turn_keeps_no_canary_once_answered(
    redacting: ChatEnv, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    queued = invoke(rest_event("POST", "/chat/jobs", body={"sessionId": "pii-session-3", "message": MESSAGE}))
    assert queued.status == 202
    work_queued_jobs()

    job = invoke(rest_event("GET", f"/chat/jobs/{queued.body['jobId']}"))
    assert job.body["status"] == "done"
    assert _leaks(json.dumps(job.body)) == []
    captured = capsys.readouterr()
    _assert_nothing_kept(redacting, captured.out + captured.err + caplog.text)
