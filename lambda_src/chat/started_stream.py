"""A streamed reply that has begun: its provider, its first piece and the rest as they come.

Once a provider has sent its first piece the reply is that provider's: a failure after it is not failed
over (the user has read part of one answer) but ends the stream with StreamCut, and counts against the
provider's circuit like any other failure. The circuit hears of the provider's success only when the
reply is complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lambda_src.chat.models import Usage
from lambda_src.chat.providers.base import LlmError, LlmUnavailable, ReplyStream

if TYPE_CHECKING:
    from lambda_src.chat.resilience import CircuitBreaker


class StreamStopped(Exception):
    """The stream was closed by its caller (the client went away): not the provider's failure."""


class StreamCut(LlmUnavailable):
    """The reply stopped after it had begun: what was sent so far is incomplete."""

    def __init__(self, kind: str, *, status: int | None = None) -> None:
        super().__init__(kind, status=status)


@dataclass
class StartedStream:
    provider: str
    model: str
    stream: ReplyStream
    pieces: Iterator[str]
    first: str
    first_piece_ms: float
    breaker: CircuitBreaker
    on_event: Callable[..., Any]
    started_at: float = field(default_factory=time.monotonic)
    finished_at: float | None = None
    stopped: bool = False

    @property
    def usage(self) -> Usage | None:
        return self.stream.usage

    def __iter__(self) -> Iterator[str]:
        yield self.first
        try:
            yield from self.pieces
        except LlmError as error:
            if self.stopped:
                raise StreamStopped from None
            self.breaker.record_failure()
            self.on_event("provider_error", provider=self.provider, kind=error.kind)
            if str(self.breaker.state) == "open":
                self.on_event("circuit_opened", provider=self.provider)
            raise StreamCut(error.kind, status=error.status) from None
        self.breaker.record_success()
        self.finished_at = time.monotonic()

    def close(self) -> None:
        """Stop the model call (safe from another thread); the iteration ends with StreamStopped."""
        self.stopped = True
        self.stream.close()
