"""Token budgets and session caps: checked before the model is asked, atomic under concurrency."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lambda_src.chat.models import Usage
from lambda_src.chat.providers.base import Completion
from lambda_src.chat.quotas import QuotaExceeded, Tier
from lambda_src.chat.session_store import SessionStore
from tests.unit.conftest import ChatEnv, chat

SESSION = "session-0001"


def _tiers(monkeypatch: pytest.MonkeyPatch, *, daily_tokens: int, session_requests: int) -> None:
    monkeypatch.setenv(
        "QUOTA_TIERS",
        json.dumps([{"name": "free", "daily_tokens": daily_tokens, "session_requests": session_requests}]),
    )


def test_answers_carry_the_remaining_quota(chat_env: ChatEnv) -> None:
    answer = chat(SESSION, "hello")
    assert answer.status == 200
    used = answer.body["usage"]["totalTokens"]
    assert int(answer.headers["X-Quota-Tokens-Remaining"]) == 100_000 - used
    assert answer.headers["X-Quota-Session-Requests-Remaining"] == "99"


def test_the_session_cap_answers_429_before_any_llm_call(
    chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tiers(monkeypatch, daily_tokens=100_000, session_requests=2)
    assert chat(SESSION, "one").status == 200
    assert chat(SESSION, "two").status == 200
    calls = len(chat_env.fake_llm.requests)

    answer = chat(SESSION, "three")

    assert answer.status == 429
    assert 0 < int(answer.headers["Retry-After"]) <= 86_400
    assert answer.headers["X-Quota-Session-Requests-Remaining"] == "0"
    assert "resets at 00:00 UTC" in answer.body["message"]
    assert len(chat_env.fake_llm.requests) == calls
    assert chat("session-0002", "a new session may still talk").status == 200


def test_the_daily_token_budget_answers_429_before_any_llm_call(
    chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One turn reserves ~ prompt/2 + 256 output tokens and settles to the fake's small real usage.
    _tiers(monkeypatch, daily_tokens=300, session_requests=100)
    assert chat(SESSION, "hi").status == 200
    calls = len(chat_env.fake_llm.requests)

    answer = chat(SESSION, "x" * 200)

    assert answer.status == 429
    assert answer.headers["Retry-After"]
    assert int(answer.headers["X-Quota-Tokens-Remaining"]) < 300
    assert len(chat_env.fake_llm.requests) == calls
    assert [i["content"] for i in chat_env.items() if i["role"] == "user"] == ["hi"]


def test_a_failed_turn_gives_its_reservation_back(chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    _tiers(monkeypatch, daily_tokens=100_000, session_requests=1)
    chat_env.fake_llm.answer(mode="status", status=500)
    assert chat(SESSION, "fails").status == 503
    chat_env.fake_llm.answer()

    answer = chat(SESSION, "fails")  # the retry of that turn is not refused by the cap

    assert answer.status == 200
    tokens = next(i for i in chat_env.all_items() if i["sk"] == "TOKENS")
    assert int(tokens["used"]) == answer.body["usage"]["totalTokens"]


def test_a_client_on_a_higher_tier_gets_its_allowance(
    chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "QUOTA_TIERS",
        json.dumps(
            [
                {"name": "free", "daily_tokens": 1_000, "session_requests": 1},
                {"name": "premium", "daily_tokens": 1_000_000, "session_requests": 50},
            ]
        ),
    )
    chat_env.table.put_item(Item={"pk": "CLIENT#apikeyid-client-a", "sk": "PROFILE", "tier": "premium"})

    answer = chat(SESSION, "hello")

    assert answer.headers["X-Quota-Session-Requests-Remaining"] == "49"


class AtomicCalls:
    """DynamoDB applies each call (a transaction included) atomically; moto, in-process, does not under
    threads. This proxy restores that one guarantee and nothing more: the threads still interleave
    freely between the calls a turn makes."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._client, name)

        def atomic(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return call(*args, **kwargs)

        return atomic


class Table:
    """The moto table with every call made atomic."""

    def __init__(self, table: Any) -> None:
        self.name = table.name
        self.meta = type("Meta", (), {"client": AtomicCalls(table.meta.client)})()
        self._atomic = AtomicCalls(table)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._atomic, name)


def _store(env: ChatEnv) -> SessionStore:
    return SessionStore(Table(env.table), retention_days=30, history_turns=10, clock=lambda: 1_800_000_000.0)


def _completion(tokens: int) -> Completion:
    return Completion(
        text="ok", usage=Usage(inputTokens=tokens, outputTokens=0, totalTokens=tokens), model="m"
    )


def test_concurrent_turns_never_commit_more_than_the_budget(chat_env: ChatEnv) -> None:
    """Reservations are conditional ADDs inside each turn's transaction: however the threads interleave,
    the sum stays in budget."""
    store = _store(chat_env)
    tier = Tier(name="free", daily_tokens=1_000, session_requests=1_000)
    admitted: list[int] = []
    lock = threading.Lock()

    def one_turn(n: int) -> None:
        snapshot = store.read("client-a", f"session-{n:04d}", "hello", cache_key=None)
        try:
            turn = store.admit(snapshot, turn_id=f"turn-{n}", tier=tier, tokens=90, lease_seconds=30)
        except QuotaExceeded:
            return
        with lock:
            admitted.append(n)
        store.finish(turn, _completion(90), body="{}", cached=False)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one_turn, range(40)))

    tokens = next(i for i in chat_env.all_items() if i["sk"] == "TOKENS")
    assert int(tokens["used"]) <= 1_000
    assert len(admitted) == 11  # 11 * 90 = 990; a twelfth would pass 1,000
    assert int(tokens["used"]) == 90 * len(admitted)


def test_a_turn_that_could_cost_more_than_the_whole_budget_is_refused_on_a_fresh_day(
    chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tiers(monkeypatch, daily_tokens=100, session_requests=100)  # below the 256-token output cap
    answer = chat(SESSION, "hello")
    assert answer.status == 429
    assert chat_env.fake_llm.requests == []


def test_a_turn_that_cost_more_than_its_reservation_never_takes_the_day_past_its_budget(
    chat_env: ChatEnv,
) -> None:
    store = _store(chat_env)
    tier = Tier(name="free", daily_tokens=1_000, session_requests=1_000)
    turns = [
        store.admit(
            store.read("client-a", f"session-{n}", "hello", cache_key=None),
            turn_id=f"turn-{n}",
            tier=tier,
            tokens=450,
            lease_seconds=30,
        )
        for n in range(2)
    ]

    stored = [store.finish(turn, _completion(900), body="{}", cached=False)[1] for turn in turns]

    tokens = next(i for i in chat_env.all_items() if i["sk"] == "TOKENS")
    assert int(tokens["used"]) == 1_000
    assert stored == [True, True]  # the answers were paid for: both are kept


def test_a_provider_that_reports_no_usage_is_charged_the_reservation(
    chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat_env.fake_llm.answer(mode="no_usage")
    answer = chat(SESSION, "hello")
    assert answer.status == 200
    tokens = next(i for i in chat_env.all_items() if i["sk"] == "TOKENS")
    assert int(tokens["used"]) > 256  # the reservation: prompt estimate + the output cap


def test_a_turn_that_could_not_be_recorded_reserves_nothing(
    chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Admission, the user's message and the session's state are one transaction: all or nothing."""
    from botocore.exceptions import ClientError

    from lambda_src.chat.dependencies import dependencies

    client = dependencies().table.meta.client

    def throttled(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "TransactWriteItems")

    monkeypatch.setattr(client, "transact_write_items", throttled)

    answer = chat(SESSION, "hello")

    assert answer.status == 503
    assert answer.headers["Retry-After"]
    assert chat_env.fake_llm.requests == []
    assert [i for i in chat_env.all_items() if i["pk"].startswith("QUOTA#")] == []
