"""What a chat turn knows about its session: the snapshot read before the model is asked, the turn as
admitted, and the ways admitting or finishing it can end."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lambda_src.chat import keys
from lambda_src.chat.models import Message
from lambda_src.chat.providers.base import Completion
from lambda_src.chat.quotas import Admission, Tier


class TurnInProgress(Exception):
    """The same message is being answered in this session right now; it should be answered by
    ``answer_by`` (its own deadline), so Retry-After says until then."""

    def __init__(self, *, answer_by: float, now: float) -> None:
        super().__init__("turn in progress")
        self.retry_after = max(1, int(answer_by - now + 0.999))


class SessionErased(Exception):
    """The session was erased while this turn ran; nothing of the turn was kept."""


class StateChanged(Exception):
    """Another write reached the session between read() and admit(): read again."""


@dataclass(frozen=True)
class Snapshot:
    owner: str
    session_id: str
    message: str
    recent: list[dict[str, Any]]  # unexpired, oldest first: {"role", "content", "at"}
    retried: bool  # the last stored message is this one, never answered: answer it, store it once
    state: tuple[int, int] | None  # (generation, version) of the state item, None if there is none
    tier_name: str | None
    cached: Completion | None
    tokens_used: int
    session_requests: int
    running: dict[str, Any] | None  # a turn answering the same message, if its lease still holds

    @property
    def history(self) -> list[Message]:
        """What was said before this message, oldest first."""
        past = self.recent[:-1] if self.retried else self.recent
        return [Message(role=m["role"], content=m["content"]) for m in past]


@dataclass(frozen=True)
class Turn:
    snapshot: Snapshot
    turn_id: str
    created_ms: int
    tier: Tier
    admission: Admission
    generation: int
    version: int  # of the state item after admit()
    recent: list[dict[str, Any]] = field(default_factory=list)  # as stored by admit()
    cache_key: str | None = None

    @property
    def partition(self) -> str:
        return keys.session_partition(self.snapshot.owner, self.snapshot.session_id)
