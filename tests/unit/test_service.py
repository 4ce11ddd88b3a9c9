"""reply_to with the session store on moto and a fake model: the prompt, deadlines, retries of an
unanswered message, and what happens when the reply cannot be stored."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambda_src.chat.models import ChatRequest, Message, Usage
from lambda_src.chat.providers.base import Completion, LlmUnavailable
from lambda_src.chat.quotas import Tier
from lambda_src.chat.service import TurnContext, TurnOutcome, llm_budget, reply_to
from lambda_src.chat.session_store import SessionStore
from tests.unit.conftest import ChatEnv

REQUEST = ChatRequest(sessionId="session-0001", message="hello")
TIER = Tier(name="free", daily_tokens=100_000, session_requests=100)


def _context(
    turn_id: str = "turn-1", history_turns: int = 5, system_prompt: str = "Be brief."
) -> TurnContext:
    return TurnContext(
        owner="client-a",
        turn_id=turn_id,
        system_prompt=system_prompt,
        history_turns=history_turns,
        llm_timeout_seconds=20,
        tiers=lambda _: TIER,
    )


class FakeModel:
    name = "fake"
    model = "fake-model"

    def __init__(self, reply: str = "hi!", fail: bool = False) -> None:
        self.calls: list[tuple[list[Message], float]] = []
        self._reply = reply
        self._fail = fail

    def complete(self, messages: Sequence[Message], *, deadline: float) -> Completion:
        self.calls.append((list(messages), deadline - time.monotonic()))
        if self._fail:
            raise LlmUnavailable("server_error", status=500)
        return Completion(
            text=self._reply, usage=Usage(inputTokens=3, outputTokens=1, totalTokens=4), model="m"
        )


@pytest.fixture
def store(chat_env: ChatEnv) -> SessionStore:
    return SessionStore(chat_env.table, retention_days=30, history_turns=5, clock=time.time)


def _turn(
    store: SessionStore,
    model: FakeModel,
    *,
    remaining: float = 25.0,
    request: ChatRequest = REQUEST,
    context: TurnContext | None = None,
) -> TurnOutcome:
    return reply_to(
        request,
        context=context or _context(turn_id=f"turn-{time.monotonic_ns()}"),
        store=store,
        llm=model,
        clock=time.time,
        remaining_seconds=lambda: remaining,
    )


def test_the_prompt_is_system_then_history_then_the_new_message(store: SessionStore) -> None:
    _turn(store, FakeModel(reply="reply"), request=ChatRequest(sessionId="session-0001", message="earlier"))
    model = FakeModel()
    _turn(store, model)
    ((messages, _),) = model.calls
    assert [m.content for m in messages] == ["Be brief.", "earlier", "reply", "hello"]


@pytest.mark.parametrize(("remaining", "expected"), [(25.0, 20.0), (10.0, 7.0), (4.6, 1.6)])
def test_the_llm_gets_its_timeout_cut_to_the_time_left(
    store: SessionStore, remaining: float, expected: float
) -> None:
    model = FakeModel()
    _turn(store, model, remaining=remaining)
    assert model.calls[0][1] == pytest.approx(expected, abs=0.1)
    assert llm_budget(20, remaining) == pytest.approx(expected)


def test_too_little_time_left_fails_fast_after_storing_the_message(
    store: SessionStore, chat_env: ChatEnv
) -> None:
    model = FakeModel()
    with pytest.raises(LlmUnavailable):
        _turn(store, model, remaining=2.5)
    assert model.calls == []
    assert [(i["role"], i["content"]) for i in chat_env.items()] == [("user", "hello")]


def test_a_reply_that_cannot_be_stored_is_still_returned_and_flagged(
    store: SessionStore, chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = chat_env.table.meta.client
    real = client.transact_write_items
    calls: list[int] = []

    def second_fails(**request: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:  # admit succeeds, finish does not
            raise ClientError({"Error": {"Code": "InternalServerError"}}, "TransactWriteItems")
        return real(**request)

    monkeypatch.setattr(client, "transact_write_items", second_fails)
    outcome = _turn(store, FakeModel())
    assert outcome.reply.reply == "hi!"
    assert outcome.reply_stored is False


def test_a_stored_reply_is_flagged_as_stored(store: SessionStore, chat_env: ChatEnv) -> None:
    outcome = _turn(store, FakeModel())
    assert outcome.reply_stored is True
    assert [i["role"] for i in chat_env.items()] == ["user", "assistant"]


def test_a_retried_unanswered_message_is_answered_without_storing_it_twice(
    store: SessionStore, chat_env: ChatEnv
) -> None:
    with pytest.raises(LlmUnavailable):
        _turn(store, FakeModel(fail=True))
    model = FakeModel()
    _turn(store, model)
    ((messages, _),) = model.calls
    assert [m.content for m in messages] == ["Be brief.", "hello"]
    assert [(i["role"], i["content"]) for i in chat_env.items()] == [("user", "hello"), ("assistant", "hi!")]


def test_a_retry_is_recognised_even_when_no_history_is_sent(store: SessionStore, chat_env: ChatEnv) -> None:
    context = _context(history_turns=0, system_prompt="")
    with pytest.raises(LlmUnavailable):
        _turn(store, FakeModel(fail=True), context=context)
    model = FakeModel()
    _turn(store, model, context=_context(turn_id="turn-2", history_turns=0, system_prompt=""))
    assert [m.content for m in model.calls[0][0]] == ["hello"]
    assert [i["role"] for i in chat_env.items()] == ["user", "assistant"]


def test_a_failed_turn_gives_back_its_request_and_reservation(store: SessionStore, chat_env: ChatEnv) -> None:
    with pytest.raises(LlmUnavailable):
        _turn(store, FakeModel(fail=True))
    counters = {i["sk"]: i for i in chat_env.all_items() if i["pk"].startswith("QUOTA#")}
    assert int(counters["TOKENS"]["used"]) == 0
    assert int(counters["SESSION#session-0001"]["requests"]) == 0
