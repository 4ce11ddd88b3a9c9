"""What every LLM provider adapter shares: the call contract, the result and the failure types.

Every failure becomes an ``LlmError`` that says whether a retry can help; the provider's own error
text is never carried into it, so it cannot reach a caller or a log line by accident.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from lambda_src.chat.models import Intervention, Message, Usage

DEFAULT_RETRY_AFTER_SECONDS = 5
MAX_RETRY_AFTER_SECONDS = 120


class LlmError(Exception):
    """The model did not produce a usable reply. ``kind`` is a short label for metrics."""

    retryable = True

    def __init__(self, kind: str, *, status: int | None = None, retry_after: int | None = None) -> None:
        super().__init__(kind if status is None else f"{kind} (HTTP {status})")
        self.kind = kind
        self.status = status
        self.retry_after = retry_after


class LlmUnavailable(LlmError):
    """Rate limited, timed out, unreachable or failing on the provider's side: worth a retry later."""


class LlmBadResponse(LlmError):
    """The provider refused the request or answered something we cannot use: a retry will not help."""

    retryable = False


@dataclass(frozen=True)
class Completion:
    text: str
    usage: Usage
    model: str
    latency_ms: float = 0.0
    provider: str = ""
    # What the stage's guardrail did to the message and to this reply (lambda_src/chat/guardrail.py).
    interventions: tuple[Intervention, ...] = ()

    @property
    def blocked(self) -> bool:
        """The text is the guardrail's message, not an answer: never cached."""
        return any(i.action == "blocked" for i in self.interventions)


class ChatModel(Protocol):
    """One provider and model. ``deadline`` is a ``time.monotonic()`` instant for the whole call."""

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> str: ...

    def complete(self, messages: Sequence[Message], *, deadline: float) -> Completion: ...


@dataclass(frozen=True)
class StreamLimits:
    """When a streamed reply must start and end, as ``time.monotonic()`` instants, and the longest
    silence allowed between two pieces of it."""

    first_token_by: float
    deadline: float
    idle_seconds: float


class ReplyStream(Protocol):
    """A reply as the provider generates it. Iterating yields pieces of text; it raises an LlmError if
    the provider fails, times out or goes silent, and never ends quietly before the reply is complete:
    when iteration stops, ``usage`` holds what the provider reported (None if it reported nothing)."""

    @property
    def usage(self) -> Usage | None: ...

    def __iter__(self) -> Iterator[str]: ...

    def close(self) -> None:
        """Stop the model call now (the caller went away); safe from another thread, and twice."""


class StreamingChatModel(ChatModel, Protocol):
    def stream(self, messages: Sequence[Message], *, limits: StreamLimits) -> ReplyStream: ...


def remaining_before(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise LlmUnavailable("timeout")
    return remaining


def parse_retry_after(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        seconds = int(float(value))
    except (ValueError, OverflowError):
        return None  # an HTTP date: rare from LLM providers, and the default wait is safe
    return max(1, min(seconds, MAX_RETRY_AFTER_SECONDS))
