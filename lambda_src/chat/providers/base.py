"""What every LLM provider adapter shares: the call contract, the result and the failure types.

Every failure becomes an ``LlmError`` that says whether a retry can help; the provider's own error
text is never carried into it, so it cannot reach a caller or a log line by accident.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from lambda_src.chat.models import Message, Usage

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


class ChatModel(Protocol):
    """One provider and model. ``deadline`` is a ``time.monotonic()`` instant for the whole call."""

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> str: ...

    def complete(self, messages: Sequence[Message], *, deadline: float) -> Completion: ...


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
