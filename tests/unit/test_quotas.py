"""Token budgets and session caps: checked before the model is asked, atomic under concurrency."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lambda_src.chat.quotas import QuotaExceeded, Quotas, Tier
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


class AtomicItemWrites:
    """DynamoDB applies each conditional write atomically; moto, in-process, does not under threads.
    This proxy restores that one guarantee (each call is atomic) and nothing more: the threads still
    interleave freely between the calls that admission makes."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._lock = threading.Lock()

    def update_item(self, **kwargs: Any) -> Any:
        with self._lock:
            return self._table.update_item(**kwargs)

    def get_item(self, **kwargs: Any) -> Any:
        with self._lock:
            return self._table.get_item(**kwargs)


def test_concurrent_turns_never_commit_more_than_the_budget(chat_env: ChatEnv) -> None:
    """Reservations are conditional ADDs: however the threads interleave, the sum stays in budget."""
    quotas = Quotas(AtomicItemWrites(chat_env.table), clock=lambda: 1_800_000_000.0)
    tier = Tier(name="free", daily_tokens=1_000, session_requests=1_000)
    admitted: list[int] = []
    lock = threading.Lock()

    def one_turn(n: int) -> None:
        try:
            admission = quotas.admit("client-a", f"session-{n:04d}", tier, tokens=90)
        except QuotaExceeded:
            return
        with lock:
            admitted.append(n)
        quotas.settle(admission, 90, daily_tokens=tier.daily_tokens)

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
    quotas = Quotas(AtomicItemWrites(chat_env.table), clock=lambda: 1_800_000_000.0)
    tier = Tier(name="free", daily_tokens=1_000, session_requests=1_000)
    admissions = [quotas.admit("client-a", f"session-{n}", tier, tokens=450) for n in range(2)]

    for admission in admissions:
        quotas.settle(admission, 900, daily_tokens=tier.daily_tokens)

    tokens = next(i for i in chat_env.all_items() if i["sk"] == "TOKENS")
    assert int(tokens["used"]) == 1_000


def test_a_provider_that_reports_no_usage_is_charged_the_reservation(
    chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat_env.fake_llm.answer(mode="no_usage")
    answer = chat(SESSION, "hello")
    assert answer.status == 200
    tokens = next(i for i in chat_env.all_items() if i["sk"] == "TOKENS")
    assert int(tokens["used"]) > 256  # the reservation: prompt estimate + the output cap


def test_a_store_failure_after_admission_gives_the_reservation_back(
    chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambda_src.chat.history import ConversationHistory, StoreUnavailable

    def failing_append(*args: Any, **kwargs: Any) -> None:
        raise StoreUnavailable("put failed")

    monkeypatch.setattr(ConversationHistory, "append", failing_append)

    assert chat(SESSION, "hello").status == 503

    counters = {i["sk"]: i for i in chat_env.all_items() if i["pk"].startswith("QUOTA#")}
    assert int(counters["TOKENS"]["used"]) == 0
    assert int(counters[f"SESSION#{SESSION}"]["requests"]) == 0
