"""scripts/erase_conversation.py: an operator erases a conversation as the API does; a dry run counts
what is held and changes nothing; nothing it prints is text of the conversation."""

from __future__ import annotations

from typing import Any

import pytest

from scripts import erase_conversation
from tests.unit.conftest import DEFAULT_CLIENT, ChatEnv, chat

SECRET = "ask me about the canary 7f3e"


@pytest.fixture
def run(chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Any:
    monkeypatch.setattr(erase_conversation, "stage_table", lambda *_: chat_env.table)

    def run(*arguments: str) -> str:
        assert erase_conversation.main(["--stage", "dev", "--client", DEFAULT_CLIENT, *arguments]) == 0
        out: str = capsys.readouterr().out
        assert SECRET not in out
        return out

    return run


def test_a_dry_run_counts_what_is_held_and_erases_nothing(chat_env: ChatEnv, run: Any) -> None:
    chat("session-0001", SECRET)
    out = run("--session", "session-0001")
    assert "messages: 2" in out
    assert "dry run" in out
    assert len(chat_env.items()) == 2


def test_apply_erases_the_session_like_the_api(chat_env: ChatEnv, run: Any) -> None:
    chat("session-0001", SECRET)
    chat("session-0002", "another conversation")
    out = run("--session", "session-0001", "--apply")
    assert "erased: 2 messages" in out
    assert SECRET not in str(chat_env.all_items())
    assert [i["content"] for i in chat_env.items() if i["role"] == "user"] == ["another conversation"]


def test_list_names_the_clients_sessions(run: Any) -> None:
    chat("session-0001", SECRET)
    chat("session-0002", "another conversation")
    out = run("--list")
    assert "session-0001" in out
    assert "session-0002" in out
