"""Round trips per turn: a turn without an Idempotency-Key makes at most 3 AWS calls, at most 2 of them
before the model is asked (each one adds to the time the user waits)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lambda_src.chat.dependencies import dependencies
from tests.unit.conftest import ChatEnv, chat


class CallLog:
    def __init__(self, env: ChatEnv) -> None:
        self._env = env
        self.calls: list[tuple[str, int]] = []  # (operation, model calls made so far)

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls.append((model.name, len(self._env.fake_llm.requests)))

    def turn(self) -> tuple[list[str], list[str]]:
        """(calls before the model, calls after it) of the calls logged so far."""
        before = [name for name, asked in self.calls if asked == 0]
        after = [name for name, asked in self.calls if asked > 0]
        return before, after


@pytest.fixture
def aws_calls(chat_env: ChatEnv) -> Iterator[CallLog]:
    """Every AWS API call the handler's clients make, in order."""
    chat("session-warmup", "warm the container up")  # reads the LLM key (cached for 5 minutes)
    log = CallLog(chat_env)
    deps = dependencies()
    clients = [deps.table.meta.client]
    for client in clients:
        client.meta.events.register("before-call", log)
    chat_env.fake_llm.requests.clear()
    yield log
    for client in clients:
        client.meta.events.unregister("before-call", log)


def test_a_first_turn_makes_three_calls_two_of_them_before_the_model(
    chat_env: ChatEnv, aws_calls: CallLog
) -> None:
    assert chat("session-0001", "hello").status == 200
    before, after = aws_calls.turn()
    assert len(before) + len(after) <= 3, aws_calls.calls
    assert len(before) <= 2, before


def test_a_follow_up_turn_makes_three_calls_two_of_them_before_the_model(
    chat_env: ChatEnv, aws_calls: CallLog
) -> None:
    assert chat("session-0001", "hello").status == 200
    aws_calls.calls.clear()
    chat_env.fake_llm.requests.clear()
    assert chat("session-0001", "and then?").status == 200
    before, after = aws_calls.turn()
    assert len(before) + len(after) <= 3, aws_calls.calls
    assert len(before) <= 2, before
