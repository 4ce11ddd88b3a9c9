"""Retries with full jitter, a circuit breaker per provider, and failover in the configured order."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar, cast

from lambda_src.chat.models import Message
from lambda_src.chat.providers.base import (
    DEFAULT_RETRY_AFTER_SECONDS,
    ChatModel,
    Completion,
    LlmBadResponse,
    LlmError,
    LlmUnavailable,
    ReplyStream,
    StreamingChatModel,
    StreamLimits,
)
from lambda_src.chat.started_stream import StartedStream, StreamStopped

# An attempt that cannot get at least this long before the deadline is not started.
MIN_ATTEMPT_SECONDS = 1.0

EventSink = Callable[..., None]
T = TypeVar("T")


def _ignore(event: str, **fields: object) -> None:
    return


def _none_disabled() -> Collection[str]:
    return ()


# Until a disabled provider is asked again, at the soonest: the runtime controls' cache time and more.
DISABLED_RETRY_AFTER_SECONDS = 60


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    base_delay_seconds: float = 0.25
    max_delay_seconds: float = 4.0

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """Full jitter: a delay drawn uniformly from [0, min(cap, base * 2^n)]."""
        return rng.uniform(0, min(self.max_delay_seconds, self.base_delay_seconds * 2**retry_number))


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    """Opens after ``failure_threshold`` consecutive failures; one trial call after ``cooldown``."""

    failure_threshold: int = 5
    cooldown_seconds: float = 30.0
    clock: Callable[[], float] = time.monotonic
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: float = field(default=0.0)

    def allow(self) -> bool:
        if self.state is BreakerState.CLOSED:
            return True
        # OPEN past its cool-down, or a HALF_OPEN trial that never reported back (its caller died or
        # ran out of time): this caller makes the one trial call.
        if self.clock() - self.opened_at >= self.cooldown_seconds:
            self.state = BreakerState.HALF_OPEN
            self.opened_at = self.clock()
            return True
        return False

    def record_success(self) -> None:
        self.state = BreakerState.CLOSED
        self.failures = 0

    def record_failure(self) -> None:
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN or self.failures >= self.failure_threshold:
            self.state = BreakerState.OPEN
            self.opened_at = self.clock()

    def seconds_until_trial(self) -> int:
        if self.state is BreakerState.CLOSED:
            return 0
        return max(1, int(self.cooldown_seconds - (self.clock() - self.opened_at) + 0.999))


class AllProvidersFailed(LlmUnavailable):
    """No provider answered in time; ``retry_after`` says when trying again makes sense."""

    def __init__(self, *, retry_after: int) -> None:
        super().__init__("all_providers_failed", retry_after=retry_after)


@dataclass
class FailoverChat:
    """Asks each provider in order, retrying the retryable failures, until one answers in time."""

    providers: Sequence[ChatModel]
    breakers: Mapping[str, CircuitBreaker]
    retry: RetryPolicy = RetryPolicy()
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    on_event: EventSink = _ignore
    # Providers an operator turned off (runtime controls): skipped, as an open circuit is.
    disabled: Callable[[], Collection[str]] = _none_disabled

    @property
    def name(self) -> str:
        return self.providers[0].name

    @property
    def model(self) -> str:
        return str(getattr(self.providers[0], "model", ""))

    def complete(self, messages: Sequence[Message], *, deadline: float) -> Completion:
        return self._failover(lambda provider: provider.complete(messages, deadline=deadline), deadline)

    def stream(
        self,
        messages: Sequence[Message],
        *,
        limits: StreamLimits,
        on_open: Callable[[ReplyStream], None] | None = None,
        stopped: Callable[[], bool] | None = None,
    ) -> StartedStream:
        """The first provider to start a reply in time, with its first piece. Before that piece a
        failing provider is retried and failed over exactly as complete() does; after it the stream
        belongs to that provider, and a failure ends it (StreamCut): a reply is never spliced from two
        providers.

        ``on_open`` is given each provider's stream as soon as it is open, so that the caller can close
        it from another thread (its client went away) while it waits for the first piece; ``stopped``
        says whether that happened: then StreamStopped, and no other attempt is made."""

        def start(provider: ChatModel) -> StartedStream:
            if stopped is not None and stopped():
                raise StreamStopped
            begun = time.monotonic()
            stream = cast(StreamingChatModel, provider).stream(messages, limits=limits)
            if on_open is not None:
                on_open(stream)
            pieces = iter(stream)
            try:
                first = next(pieces)
            except StopIteration:
                raise LlmBadResponse("malformed_response") from None  # finished without a word
            except BaseException as error:
                stream.close()
                if stopped is not None and stopped() and isinstance(error, LlmError):
                    raise StreamStopped from None  # closed by the caller, not the provider's failure
                raise
            return StartedStream(
                provider=provider.name,
                model=str(getattr(stream, "model", "") or getattr(provider, "model", "")),
                stream=stream,
                pieces=pieces,
                first=first,
                first_piece_ms=(time.monotonic() - begun) * 1000,
                breaker=self.breakers[provider.name],
                on_event=self.on_event,
            )

        # The provider's health is settled when its reply ends (StartedStream): a provider that starts
        # every reply and cuts each one must open its circuit.
        return self._failover(start, limits.first_token_by, success_when_returned=False)

    def _failover(
        self, call: Callable[[ChatModel], T], deadline: float, *, success_when_returned: bool = True
    ) -> T:
        waits: list[int] = []
        refused: LlmBadResponse | None = None
        disabled = self.disabled()
        skipped = 0  # turned off by an operator: not a failure of this request or of the provider
        for position, provider in enumerate(self.providers):
            breaker = self.breakers[provider.name]
            if provider.name in disabled:
                self.on_event("provider_disabled", provider=provider.name)
                skipped += 1
                continue
            if deadline - time.monotonic() < MIN_ATTEMPT_SECONDS:
                waits.append(DEFAULT_RETRY_AFTER_SECONDS)
                break  # checked before allow(): a trial that cannot be made must not be claimed
            if not breaker.allow():
                self.on_event("circuit_open", provider=provider.name)
                waits.append(breaker.seconds_until_trial())
                continue
            try:
                result = self._attempts(provider, breaker, call, deadline, success_when_returned)
            except LlmBadResponse as error:
                refused = error
                continue
            except LlmUnavailable as error:
                # An open breaker decides when this provider is tried again, whatever the error said.
                opened = breaker.state is BreakerState.OPEN
                waits.append(
                    breaker.seconds_until_trial()
                    if opened
                    else error.retry_after or DEFAULT_RETRY_AFTER_SECONDS
                )
                continue
            if position > 0:
                self.on_event("fallback_used", provider=provider.name)
            return result
        if refused is not None and not waits:
            raise refused
        if not waits and skipped:
            raise AllProvidersFailed(retry_after=DISABLED_RETRY_AFTER_SECONDS)
        raise AllProvidersFailed(retry_after=min(waits) if waits else DEFAULT_RETRY_AFTER_SECONDS)

    def _attempts(
        self,
        provider: ChatModel,
        breaker: CircuitBreaker,
        call: Callable[[ChatModel], T],
        deadline: float,
        success_when_returned: bool,
    ) -> T:
        for attempt in range(self.retry.max_attempts):
            if deadline - time.monotonic() < MIN_ATTEMPT_SECONDS:
                raise LlmUnavailable("no_time_left")
            try:
                result = call(provider)
            except LlmError as error:
                self.on_event("provider_error", provider=provider.name, kind=error.kind)
                if self._told_when_to_come_back(error, deadline):
                    # A 429 with a Retry-After that fits the deadline is the provider pacing us, not
                    # failing: wait it out, and keep it out of the breaker's count.
                    if attempt + 1 == self.retry.max_attempts:
                        raise
                    self.sleep(float(error.retry_after or 0))
                    continue
                if not error.retryable:
                    # A refusal says something about this request, not about the provider's health:
                    # the provider answered, so it must not open the circuit for every other caller.
                    breaker.record_success()
                    raise
                breaker.record_failure()
                if breaker.state is BreakerState.OPEN:
                    self.on_event("circuit_opened", provider=provider.name)
                    raise
                if attempt + 1 == self.retry.max_attempts:
                    raise
                delay = max(self.retry.backoff(attempt, self.rng), float(error.retry_after or 0))
                if time.monotonic() + delay > deadline - MIN_ATTEMPT_SECONDS:
                    raise  # the provider's Retry-After or our backoff would not leave time to try
                self.sleep(delay)
                continue
            except StreamStopped:
                raise  # the caller went away: says nothing about the provider
            except Exception:
                breaker.record_failure()  # an adapter bug must not leave a trial call unresolved
                raise
            if success_when_returned:
                breaker.record_success()
            return result
        raise LlmUnavailable("no_attempt_made")  # unreachable with max_attempts >= 1

    @staticmethod
    def _told_when_to_come_back(error: LlmError, deadline: float) -> bool:
        return (
            error.kind == "rate_limited"
            and error.retry_after is not None
            and time.monotonic() + error.retry_after <= deadline - MIN_ATTEMPT_SECONDS
        )
