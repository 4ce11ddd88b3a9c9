"""Message text, replies and the LLM key never reach the logs."""

from __future__ import annotations

import pytest

from tests.unit.conftest import LLM_API_KEY, ChatEnv, chat

USER_CANARY = "my e-mail is canary.person@example.com and my card is 4111 1111 1111 1111"
REPLY_CANARY = "REPLY-CANARY-8c1d"


@pytest.mark.parametrize(
    "behaviour",
    [{"reply": REPLY_CANARY}, {"mode": "status", "status": 500}, {"mode": "malformed"}],
)
def test_logs_hold_no_message_text_reply_or_key(
    chat_env: ChatEnv, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, behaviour: dict
) -> None:
    chat_env.fake_llm.answer(**behaviour)

    chat("session-0001", USER_CANARY)

    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert logged, "the handler logs every turn"
    for canary in (USER_CANARY, "canary.person@example.com", REPLY_CANARY, LLM_API_KEY):
        assert canary not in logged
