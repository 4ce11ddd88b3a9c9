"""The session store where requests race: a lease that has just run out, a double submit racing a used-up
quota, DynamoDB cancelling a transaction that conflicts with another, and a running mark taken over."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambda_src.chat.models import ChatRequest, Usage
from lambda_src.chat.providers.base import Completion
from lambda_src.chat.quotas import Tier
from lambda_src.chat.service import TurnContext, reply_to
from lambda_src.chat.session_store import SessionStore
from lambda_src.chat.turns import TurnInProgress
from tests.unit.conftest import ChatEnv

OWNER, SESSION = "client-a", "session-0001"
TIER = Tier(name="free", daily_tokens=100_000, session_requests=100)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Model:
    name, model = "fake", "fake-model"

    def __init__(self) -> None:
        self.calls = 0

    def complete(self, messages: Any, *, deadline: float) -> Completion:
        self.calls += 1
        return Completion(text="answer", usage=Usage(inputTokens=3, outputTokens=1, totalTokens=4), model="m")


def _store(env: ChatEnv, clock: Clock) -> SessionStore:
    return SessionStore(env.table, retention_days=30, history_turns=5, clock=clock)


def _turn(
    store: SessionStore, clock: Clock, model: Model, message: str = "hello", turn_id: str = "t-2"
) -> Any:
    return reply_to(
        ChatRequest(sessionId=SESSION, message=message),
        context=TurnContext(
            owner=OWNER,
            turn_id=turn_id,
            system_prompt="",
            history_turns=5,
            llm_timeout_seconds=10,
            tiers=lambda _: TIER,
        ),
        store=store,
        llm=model,
        clock=clock,
        remaining_seconds=lambda: 20.0,
    )


def _admit(store: SessionStore, message: str = "hello", turn_id: str = "t-1", tier: Tier = TIER) -> Any:
    snapshot = store.read(OWNER, SESSION, message, cache_key=None)
    return store.admit(snapshot, turn_id=turn_id, tier=tier, tokens=10, lease_seconds=30)


@pytest.mark.parametrize("past_the_lease", [0.0, 0.5])
def test_a_lease_that_has_just_run_out_is_taken_over_at_once(
    chat_env: ChatEnv, past_the_lease: float
) -> None:
    """Reading and the admitting condition agree on when a lease is over, to the second."""
    clock = Clock(1_800_000_000.0)
    store = _store(chat_env, clock)
    _admit(store)  # a turn whose Lambda died: its mark stays until the lease runs out
    (mark,) = [i for i in chat_env.all_items() if i["sk"].startswith("PENDING#")]

    clock.now = int(mark["leaseUntil"]) + past_the_lease
    model = Model()
    outcome = _turn(store, clock, model)

    assert outcome.reply.reply == "answer"
    assert model.calls == 1


def test_a_double_submit_that_races_a_used_up_quota_waits_for_the_first_answer(chat_env: ChatEnv) -> None:
    """Both copies read before either admits; the first takes the session's last request. The second
    must be told the turn is running (and wait for its answer), not that the quota is used up."""
    clock = Clock(time.time())
    store = _store(chat_env, clock)
    last_one = Tier(name="tight", daily_tokens=100_000, session_requests=1)
    first_read = store.read(OWNER, SESSION, "hello", cache_key=None)
    second_read = store.read(OWNER, SESSION, "hello", cache_key=None)
    store.admit(first_read, turn_id="t-1", tier=last_one, tokens=10, lease_seconds=30)
    with pytest.raises(TurnInProgress):
        store.admit(second_read, turn_id="t-2", tier=last_one, tokens=10, lease_seconds=30)


class Conflicting:
    """A DynamoDB client whose next ``times`` transactions are cancelled for conflicting with another
    transaction on the same item (DynamoDB's TransactionConflict), as parallel turns of one client do."""

    def __init__(self, client: Any, times: int) -> None:
        self._client, self.times = client, times

    def transact_write_items(self, **request: Any) -> Any:
        if self.times:
            self.times -= 1
            reasons = [{"Code": "None"}] * (len(request["TransactItems"]) - 1) + [
                {"Code": "TransactionConflict"}
            ]
            raise ClientError(
                {"Error": {"Code": "TransactionCanceledException"}, "CancellationReasons": reasons},
                "TransactWriteItems",
            )
        return self._client.transact_write_items(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.mark.parametrize("conflicts", [1, 2])
def test_a_transaction_conflict_is_retried_not_turned_into_an_error(
    chat_env: ChatEnv, conflicts: int
) -> None:
    clock = Clock(time.time())
    table = SimpleNamespace(
        name=chat_env.table.name,
        meta=SimpleNamespace(client=Conflicting(chat_env.table.meta.client, conflicts)),
        get_item=chat_env.table.get_item,
        update_item=chat_env.table.update_item,
    )
    store = SessionStore(table, retention_days=30, history_turns=5, clock=clock)
    outcome = _turn(store, clock, Model())
    assert outcome.reply_stored is True
    assert [(i["role"], i["content"]) for i in chat_env.items()] == [
        ("user", "hello"),
        ("assistant", "answer"),
    ]


def test_a_turn_whose_mark_was_taken_over_still_stores_its_reply(chat_env: ChatEnv) -> None:
    """A turn that outlived its lease (its mark taken over by a resend) still stores its reply, after the
    state as it is now."""
    clock = Clock(1_800_000_000.0)
    store = _store(chat_env, clock)
    slow = _admit(store, message="slow question", turn_id="t-slow")
    clock.now += 60  # past the lease
    _admit(store, message="slow question", turn_id="t-takeover")  # the resend takes the mark over
    completion = Completion(text="late answer", usage=Usage(totalTokens=4), model="m")
    _, stored = store.finish(slow, completion, body="{}", cached=False)
    assert stored is True
    assert "late answer" in [i["content"] for i in chat_env.items()]
    state = chat_env.table.get_item(Key={"pk": slow.partition, "sk": "STATE"})["Item"]
    assert [m["content"] for m in state["recent"]][-1] == "late answer"
