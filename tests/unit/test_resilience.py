"""FailoverChat: retries only what can be cured, within the cap and the deadline; breakers and failover."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

import pytest

from lambda_src.chat.models import Message, Usage
from lambda_src.chat.providers.base import Completion, LlmBadResponse, LlmError, LlmUnavailable
from lambda_src.chat.resilience import (
    AllProvidersFailed,
    BreakerState,
    CircuitBreaker,
    FailoverChat,
    RetryPolicy,
)

PROMPT = [Message(role="user", content="hi")]


class ScriptedProvider:
    """Fails with the scripted errors in order, then answers."""

    def __init__(self, name: str, *failures: LlmError) -> None:
        self.name = name
        self.model = f"{name}-model"
        self.failures = list(failures)
        self.calls = 0

    def complete(self, messages: Sequence[Message], *, deadline: float) -> Completion:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return Completion(text=f"from {self.name}", usage=Usage(), model=self.model, provider=self.name)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


Harness = tuple[FailoverChat, list[tuple[str, dict]], list[float], dict[str, CircuitBreaker]]


def _chat(
    *providers: ScriptedProvider, max_attempts: int = 3, threshold: int = 5, clock: FakeClock | None = None
) -> Harness:
    events: list[tuple[str, dict]] = []
    sleeps: list[float] = []
    breakers = {
        p.name: CircuitBreaker(failure_threshold=threshold, cooldown_seconds=30, clock=clock or FakeClock())
        for p in providers
    }
    chat = FailoverChat(
        providers=list(providers),
        breakers=breakers,
        retry=RetryPolicy(max_attempts=max_attempts, base_delay_seconds=0.01, max_delay_seconds=0.05),
        sleep=sleeps.append,
        rng=random.Random(7),
        on_event=lambda event, **fields: events.append((event, fields)),
    )
    return chat, events, sleeps, breakers


def _deadline(seconds: float = 20) -> float:
    return time.monotonic() + seconds


def test_a_retryable_failure_is_retried_and_then_answers() -> None:
    primary = ScriptedProvider("primary", LlmUnavailable("server_error", status=500))
    chat, _, sleeps, _ = _chat(primary)
    assert chat.complete(PROMPT, deadline=_deadline()).provider == "primary"
    assert primary.calls == 2
    assert len(sleeps) == 1


def test_retries_stop_at_the_cap() -> None:
    primary = ScriptedProvider("primary", *[LlmUnavailable("server_error") for _ in range(10)])
    chat, _, sleeps, _ = _chat(primary, max_attempts=3)
    with pytest.raises(AllProvidersFailed):
        chat.complete(PROMPT, deadline=_deadline())
    assert primary.calls == 3
    assert len(sleeps) == 2


def test_a_refusal_is_not_retried() -> None:
    primary = ScriptedProvider("primary", LlmBadResponse("rejected", status=400))
    chat, _, sleeps, _ = _chat(primary)
    with pytest.raises(LlmBadResponse):
        chat.complete(PROMPT, deadline=_deadline())
    assert primary.calls == 1
    assert sleeps == []


def test_backoff_is_full_jitter_below_the_exponential_cap() -> None:
    policy = RetryPolicy(base_delay_seconds=0.5, max_delay_seconds=4)
    rng = random.Random(1)
    for retry_number in range(6):
        delays = [policy.backoff(retry_number, rng) for _ in range(200)]
        cap = min(4, 0.5 * 2**retry_number)
        assert all(0 <= d <= cap for d in delays)
        assert max(delays) > cap * 0.8  # spread over the whole range, not a fixed delay


def test_retry_after_from_the_provider_is_honoured() -> None:
    primary = ScriptedProvider("primary", LlmUnavailable("rate_limited", status=429, retry_after=3))
    chat, _, sleeps, _ = _chat(primary)
    chat.complete(PROMPT, deadline=_deadline())
    assert sleeps == [3.0]


def test_a_retry_after_beyond_the_deadline_moves_on_instead_of_waiting() -> None:
    primary = ScriptedProvider("primary", LlmUnavailable("rate_limited", retry_after=60))
    secondary = ScriptedProvider("secondary")
    chat, events, sleeps, _ = _chat(primary, secondary)
    assert chat.complete(PROMPT, deadline=_deadline(10)).provider == "secondary"
    assert sleeps == []
    assert ("fallback_used", {"provider": "secondary"}) in events


def test_no_attempt_starts_without_time_left() -> None:
    primary = ScriptedProvider("primary")
    chat, _, _, _ = _chat(primary)
    with pytest.raises(AllProvidersFailed):
        chat.complete(PROMPT, deadline=_deadline(0.5))
    assert primary.calls == 0


def test_the_breaker_opens_fails_over_half_opens_and_closes() -> None:
    clock = FakeClock()
    failures = [LlmUnavailable("server_error") for _ in range(3)]
    primary = ScriptedProvider("primary", *failures)
    secondary = ScriptedProvider("secondary")
    chat, events, _, breakers = _chat(primary, secondary, max_attempts=1, threshold=3, clock=clock)

    for _ in range(3):  # three consecutive failures, each answered by the fallback
        assert chat.complete(PROMPT, deadline=_deadline()).provider == "secondary"
    assert breakers["primary"].state is BreakerState.OPEN
    assert ("circuit_opened", {"provider": "primary"}) in events

    calls_when_opened = primary.calls
    assert chat.complete(PROMPT, deadline=_deadline()).provider == "secondary"
    assert primary.calls == calls_when_opened  # open: not even tried
    assert ("circuit_open", {"provider": "primary"}) in events

    clock.now += 31  # cool-down over: one trial call, which succeeds
    assert chat.complete(PROMPT, deadline=_deadline()).provider == "primary"
    assert breakers["primary"].state is BreakerState.CLOSED


def test_a_failed_trial_call_opens_the_breaker_again() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=30, clock=clock)
    breaker.record_failure()
    clock.now += 30
    assert breaker.allow()
    assert breaker.state is BreakerState.HALF_OPEN
    assert not breaker.allow()  # only one trial at a time
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert breaker.seconds_until_trial() == 30


def test_when_every_breaker_is_open_the_answer_says_when_to_retry() -> None:
    clock = FakeClock()
    primary = ScriptedProvider("primary", LlmUnavailable("server_error"))
    chat, _, _, _ = _chat(primary, max_attempts=1, threshold=1, clock=clock)
    with pytest.raises(AllProvidersFailed):
        chat.complete(PROMPT, deadline=_deadline())
    clock.now += 10
    with pytest.raises(AllProvidersFailed) as raised:
        chat.complete(PROMPT, deadline=_deadline())
    assert raised.value.retry_after == 20
    assert primary.calls == 1


def test_a_refusal_does_not_count_towards_opening_the_circuit() -> None:
    refusals = [LlmBadResponse("rejected", status=400) for _ in range(5)]
    primary = ScriptedProvider("primary", *refusals)
    chat, _, _, breakers = _chat(primary, threshold=2)
    for _ in range(5):
        with pytest.raises(LlmBadResponse):
            chat.complete(PROMPT, deadline=_deadline())
    assert breakers["primary"].state is BreakerState.CLOSED


def test_a_trial_call_is_not_claimed_without_time_for_it() -> None:
    clock = FakeClock()
    primary = ScriptedProvider("primary", LlmUnavailable("server_error"))
    chat, _, _, breakers = _chat(primary, max_attempts=1, threshold=1, clock=clock)
    with pytest.raises(AllProvidersFailed):
        chat.complete(PROMPT, deadline=_deadline())
    clock.now += 31

    with pytest.raises(AllProvidersFailed):
        chat.complete(PROMPT, deadline=_deadline(0.5))  # too little time left to try

    assert breakers["primary"].state is BreakerState.OPEN
    assert chat.complete(PROMPT, deadline=_deadline()).provider == "primary"  # the trial still happens


class BrokenProvider(ScriptedProvider):
    def complete(self, messages: Sequence[Message], *, deadline: float) -> Completion:
        self.calls += 1
        raise RuntimeError("adapter bug")


def test_a_trial_that_crashes_reopens_the_circuit_instead_of_hanging_half_open() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=30, clock=clock)
    breaker.record_failure()
    clock.now += 31
    chat = FailoverChat(providers=[BrokenProvider("primary")], breakers={"primary": breaker})

    with pytest.raises(RuntimeError):
        chat.complete(PROMPT, deadline=_deadline())

    assert breaker.state is BreakerState.OPEN
    assert breaker.seconds_until_trial() >= 1


def test_a_half_open_trial_that_never_reports_back_is_retried_after_the_cool_down() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=30, clock=clock)
    breaker.record_failure()
    clock.now += 31
    assert breaker.allow()  # the trial's caller then vanishes
    assert not breaker.allow()
    assert breaker.seconds_until_trial() >= 1  # never a Retry-After of 0
    clock.now += 31
    assert breaker.allow()


def test_retry_after_is_the_time_until_the_opened_breaker_lets_a_trial_through() -> None:
    """The breaker opens for 30 s: telling the client 5 s would send it into the open circuit."""
    failures = [LlmUnavailable("server_error", status=500) for _ in range(5)]
    primary = ScriptedProvider("primary", *failures)
    chat, _, _, breakers = _chat(primary, max_attempts=5, threshold=5)

    with pytest.raises(AllProvidersFailed) as failed:
        chat.complete(PROMPT, deadline=_deadline(60))

    assert breakers["primary"].state is BreakerState.OPEN
    assert failed.value.retry_after == 30


def test_a_429_whose_retry_after_fits_the_deadline_is_waited_out_and_does_not_count_toward_the_breaker() -> (
    None
):
    rate_limited = [LlmUnavailable("rate_limited", status=429, retry_after=2) for _ in range(2)]
    primary = ScriptedProvider("primary", *rate_limited)
    chat, _, sleeps, breakers = _chat(primary, max_attempts=3, threshold=2)

    completion = chat.complete(PROMPT, deadline=_deadline(20))

    assert completion.provider == "primary"
    assert sleeps == [2.0, 2.0]
    assert breakers["primary"].state is BreakerState.CLOSED
    assert breakers["primary"].failures == 0


def test_a_429_asking_for_longer_than_the_deadline_allows_counts_as_a_failure() -> None:
    primary = ScriptedProvider("primary", LlmUnavailable("rate_limited", status=429, retry_after=60))
    chat, _, sleeps, breakers = _chat(primary, max_attempts=3, threshold=5)

    with pytest.raises(AllProvidersFailed) as failed:
        chat.complete(PROMPT, deadline=_deadline(10))

    assert sleeps == []
    assert breakers["primary"].failures == 1
    assert failed.value.retry_after == 60


def test_a_provider_turned_off_does_not_turn_the_others_refusal_into_a_retryable_503() -> None:
    primary = ScriptedProvider("primary")
    backup = ScriptedProvider("backup", LlmBadResponse("rejected", status=400))
    chat, events, _, _ = _chat(primary, backup)
    chat.disabled = lambda: {"primary"}

    with pytest.raises(LlmBadResponse):
        chat.complete(PROMPT, deadline=_deadline())

    assert primary.calls == 0
    assert ("provider_disabled", {"provider": "primary"}) in events
