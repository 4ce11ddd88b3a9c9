"""Leak canaries: the LLM key, the system prompt and what users write never reach logs or error bodies."""

from __future__ import annotations

import json

import pytest

from tests.unit.conftest import LLM_API_KEY, SYSTEM_PROMPT, ChatEnv, chat

USER_CANARY = "my e-mail is canary.person@example.com and my card is 4111 1111 1111 1111"
REPLY_CANARY = "REPLY-CANARY-8c1d"
CANARIES = (
    USER_CANARY,
    "canary.person@example.com",
    REPLY_CANARY,
    LLM_API_KEY,
    SYSTEM_PROMPT,
    "PROMPT-CANARY",
)


@pytest.mark.parametrize(
    "behaviour",
    [
        {"reply": REPLY_CANARY},
        {"mode": "status", "status": 500},
        {"mode": "status", "status": 401},
        {"mode": "status", "status": 429, "retry_after": "2"},
        {"mode": "malformed"},
        {"mode": "hang", "delay": 3},
    ],
)
def test_logs_and_error_bodies_hold_no_message_reply_prompt_or_key(
    chat_env: ChatEnv,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    behaviour: dict,
) -> None:
    monkeypatch.setenv("LLM_TIMEOUT_SECONDS", "1.2")
    chat_env.fake_llm.answer(**behaviour)

    answer = chat("session-0001", USER_CANARY)

    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert "chat turn answered" in logged or "no provider answered" in logged or "llm call failed" in logged
    for canary in CANARIES:
        assert canary not in logged, canary
        if answer.status != 200:
            assert canary not in json.dumps(answer.body), canary


def test_the_key_and_prompt_do_reach_the_provider(chat_env: ChatEnv) -> None:
    """Guards the test above: the canaries are really in play on this path."""
    chat("session-0001", USER_CANARY)
    (request,) = chat_env.fake_llm.requests
    assert request.headers["Authorization"] == f"Bearer {LLM_API_KEY}"
    assert request.body["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}
