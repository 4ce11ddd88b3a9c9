"""reply_to with fake collaborators: deadlines and what happens when the reply cannot be stored."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from lambda_src.chat.history import StoreUnavailable, TurnKey
from lambda_src.chat.models import ChatRequest, Message, Usage
from lambda_src.chat.providers.base import Completion, LlmUnavailable
from lambda_src.chat.quotas import Admission, Tier
from lambda_src.chat.service import TurnContext, TurnOutcome, llm_budget, reply_to

REQUEST = ChatRequest(sessionId="session-0001", message="hello")
CONTEXT = TurnContext(
    owner="client-a", turn_id="turn-1", system_prompt="Be brief.", history_turns=5, llm_timeout_seconds=20
)


class FakeHistory:
    def __init__(self, *, fail_on_index: int | None = None, past: list[Message] | None = None) -> None:
        self.appended: list[tuple[int, Message]] = []
        self._fail_on_index = fail_on_index
        self._past = (
            past
            if past is not None
            else [
                Message(role="user", content="earlier"),
                Message(role="assistant", content="reply"),
            ]
        )

    def recent(self, owner: str, session_id: str, *, turns: int, now: float) -> list[Message]:
        return list(self._past)

    def append(
        self,
        key: TurnKey,
        message: Message,
        *,
        index: int,
        usage: Usage | None = None,
        model: str | None = None,
    ) -> None:
        if index == self._fail_on_index:
            raise StoreUnavailable("put failed")
        self.appended.append((index, message))


class FakeModel:
    name = "fake"
    model = "fake-model"

    def __init__(self) -> None:
        self.calls: list[tuple[list[Message], float]] = []

    def complete(self, messages: Sequence[Message], *, deadline: float) -> Completion:
        self.calls.append((list(messages), deadline - time.monotonic()))
        return Completion(text="hi!", usage=Usage(inputTokens=3, outputTokens=1, totalTokens=4), model="m")


def _turn(history: FakeHistory, model: FakeModel, remaining: float = 25.0) -> TurnOutcome:
    return reply_to(
        REQUEST,
        context=CONTEXT,
        history=history,
        llm=model,
        clock=lambda: 1_700_000_000.0,
        remaining_seconds=lambda: remaining,
    )


def test_the_prompt_is_system_then_history_then_the_new_message() -> None:
    model = FakeModel()
    _turn(FakeHistory(), model)
    ((messages, _),) = model.calls
    assert [m.content for m in messages] == ["Be brief.", "earlier", "reply", "hello"]


@pytest.mark.parametrize(("remaining", "expected"), [(25.0, 20.0), (10.0, 7.0), (4.6, 1.6)])
def test_the_llm_gets_its_timeout_cut_to_the_time_left(remaining: float, expected: float) -> None:
    model = FakeModel()
    _turn(FakeHistory(), model, remaining=remaining)
    assert model.calls[0][1] == pytest.approx(expected, abs=0.05)
    assert llm_budget(20, remaining) == pytest.approx(expected)


def test_too_little_time_left_fails_fast_after_storing_the_message() -> None:
    history, model = FakeHistory(), FakeModel()
    with pytest.raises(LlmUnavailable):
        _turn(history, model, remaining=2.5)
    assert model.calls == []
    assert history.appended == [(0, Message(role="user", content="hello"))]


def test_a_reply_that_cannot_be_stored_is_still_returned_and_flagged() -> None:
    outcome = _turn(FakeHistory(fail_on_index=1), FakeModel())
    assert outcome.reply.reply == "hi!"
    assert outcome.reply_stored is False


def test_a_stored_reply_is_flagged_as_stored() -> None:
    history = FakeHistory()
    outcome = _turn(history, FakeModel())
    assert outcome.reply_stored is True
    assert [i for i, _ in history.appended] == [0, 1]


def test_a_retried_unanswered_message_is_answered_without_storing_it_twice() -> None:
    history = FakeHistory(past=[Message(role="user", content="hello")])
    model = FakeModel()
    _turn(history, model)
    ((messages, _),) = model.calls
    assert [m.content for m in messages] == ["Be brief.", "hello"]
    assert [i for i, _ in history.appended] == [1]


def test_a_retry_is_recognised_even_when_no_history_is_sent() -> None:
    history = FakeHistory(past=[Message(role="user", content="hello")])
    model = FakeModel()
    context = TurnContext(
        owner="client-a", turn_id="t", system_prompt="", history_turns=0, llm_timeout_seconds=20
    )
    reply_to(
        REQUEST,
        context=context,
        history=history,
        llm=model,
        clock=lambda: 1_700_000_000.0,
        remaining_seconds=lambda: 25.0,
    )
    assert [i for i, _ in history.appended] == [1]
    assert [m.content for m in model.calls[0][0]] == ["hello"]


class QuotasThatCannotSettle:
    def __init__(self) -> None:
        self.released = False

    def admit(self, client: str, session_id: str, tier: Tier, *, tokens: int) -> Admission:
        return Admission(client, "2026-01-01", session_id, tokens, 1000, 10)

    def settle(self, admission: Admission, used: int, *, daily_tokens: int) -> Admission:
        raise StoreUnavailable("quota update failed")

    def release(self, admission: Admission) -> None:
        self.released = True


def test_an_answer_is_delivered_and_stored_even_if_the_quota_cannot_be_settled() -> None:
    history, quotas = FakeHistory(), QuotasThatCannotSettle()
    context = TurnContext(
        owner="client-a",
        turn_id="t",
        system_prompt="",
        history_turns=5,
        llm_timeout_seconds=20,
        tier=Tier(name="free", daily_tokens=1000, session_requests=10),
    )
    outcome = reply_to(
        REQUEST,
        context=context,
        history=history,
        llm=FakeModel(),
        clock=lambda: 1_700_000_000.0,
        remaining_seconds=lambda: 25.0,
        quotas=quotas,  # type: ignore[arg-type]
    )
    assert outcome.reply.reply == "hi!"
    assert [i for i, _ in history.appended] == [0, 1]
    assert quotas.released is False
