"""Per-client daily token budgets and per-session daily request caps, as atomic DynamoDB counters.

Admission reserves the most a turn can cost (an upper estimate of the prompt plus the output cap)
with a conditional update inside the turn's first transaction, so concurrent requests can never commit
more than the budget. After the call the reservation is settled to the real usage, or released if the
model gave no answer (lambda_src/chat/session_store.py).

Items (all expire two days after their day):
    pk = QUOTA#<client>#<yyyy-mm-dd>, sk = TOKENS          used tokens
    pk = QUOTA#<client>#<yyyy-mm-dd>, sk = SESSION#<id>    requests of one session
    pk = CLIENT#<client>, sk = PROFILE                     the client's tier (scripts/issue_api_key.py)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from lambda_src.chat.models import Message

SECONDS_PER_DAY = 86_400
# Roughly 4 characters per token in English; 2 keeps the estimate above the real count for most text.
CHARS_PER_TOKEN_ESTIMATE = 2
TOKENS_PER_MESSAGE_OVERHEAD = 8


@dataclass(frozen=True)
class Tier:
    name: str
    daily_tokens: int
    session_requests: int


class QuotaExceeded(Exception):
    def __init__(self, limit: str, *, retry_after: int, remaining: dict[str, int]) -> None:
        super().__init__(limit)
        self.limit = limit
        self.retry_after = retry_after
        self.remaining = remaining


@dataclass(frozen=True)
class Admission:
    client: str
    day: str
    session_id: str
    reserved_tokens: int
    tokens_remaining: int
    session_requests_remaining: int

    def headers(self) -> dict[str, str]:
        return {
            "X-Quota-Tokens-Remaining": str(max(self.tokens_remaining, 0)),
            "X-Quota-Session-Requests-Remaining": str(max(self.session_requests_remaining, 0)),
        }


def estimate_tokens(messages: Sequence[Message], max_output_tokens: int) -> int:
    """An upper estimate: ASCII text runs near 4 characters per token, other scripts (CJK, emoji)
    can take a token or more per character, so those count 2 each."""
    prompt = 0
    for message in messages:
        ascii_chars = sum(1 for ch in message.content if ord(ch) < 128)
        other_chars = len(message.content) - ascii_chars
        prompt += ascii_chars // CHARS_PER_TOKEN_ESTIMATE + 2 * other_chars + TOKENS_PER_MESSAGE_OVERHEAD
    return prompt + max_output_tokens


def quota_day(now: float) -> tuple[str, int, int]:
    """(the UTC day, seconds until it resets, when its counters expire: two days after it began)."""
    day_start = int(now) - int(now) % SECONDS_PER_DAY
    day = dt.datetime.fromtimestamp(day_start, tz=dt.UTC).date().isoformat()
    return day, day_start + SECONDS_PER_DAY - int(now), day_start + 2 * SECONDS_PER_DAY
