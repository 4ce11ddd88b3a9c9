"""Per-client daily token budgets and per-session daily request caps, as atomic DynamoDB counters.

Admission reserves the most a turn can cost (an upper estimate of the prompt plus the output cap)
with a conditional update, so concurrent requests can never commit more than the budget. After the
call the reservation is settled to the real usage, or released if the model gave no answer.

Items (all expire two days after their day):
    pk = QUOTA#<client>#<yyyy-mm-dd>, sk = TOKENS          used tokens
    pk = QUOTA#<client>#<yyyy-mm-dd>, sk = SESSION#<id>    requests of one session
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambda_src.chat.history import StoreUnavailable
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


class Quotas:
    def __init__(self, table: Any, *, clock: Callable[[], float]) -> None:
        self._table = table
        self._clock = clock

    def _day(self) -> tuple[str, int, int]:
        now = self._clock()
        day_start = int(now) - int(now) % SECONDS_PER_DAY
        day = dt.datetime.fromtimestamp(day_start, tz=dt.UTC).date().isoformat()
        return day, day_start + SECONDS_PER_DAY - int(now), day_start + 2 * SECONDS_PER_DAY

    def admit(self, client: str, session_id: str, tier: Tier, *, tokens: int) -> Admission:
        """Count one request of the session and reserve ``tokens``; QuotaExceeded if either is over."""
        day, until_reset, expires_at = self._day()
        partition = f"QUOTA#{client}#{day}"
        requests = self._add(
            partition,
            f"SESSION#{session_id}",
            "requests",
            1,
            limit=tier.session_requests,
            expires_at=expires_at,
        )
        if requests is None:
            raise QuotaExceeded(
                "session_requests", retry_after=until_reset, remaining=self._remaining(partition, tier, 0)
            )
        used = 0
        if tokens:
            added = self._add(
                partition, "TOKENS", "used", tokens, limit=tier.daily_tokens, expires_at=expires_at
            )
            if added is None:
                self._add(partition, f"SESSION#{session_id}", "requests", -1)
                raise QuotaExceeded(
                    "daily_tokens",
                    retry_after=until_reset,
                    remaining=self._remaining(partition, tier, tier.session_requests - requests + 1),
                )
            used = added
        else:
            used = self._read(partition, "TOKENS", "used")
        return Admission(
            client=client,
            day=day,
            session_id=session_id,
            reserved_tokens=tokens,
            tokens_remaining=tier.daily_tokens - used,
            session_requests_remaining=tier.session_requests - requests,
        )

    def settle(self, admission: Admission, used_tokens: int, *, daily_tokens: int) -> Admission:
        """Replace the reservation with what the turn really cost, never taking the day past its budget.

        A turn that cost more than its (upper-estimate) reservation is charged the overage only as far
        as the budget allows; what is left over is forgiven rather than over-committed.
        """
        partition = f"QUOTA#{admission.client}#{admission.day}"
        delta = used_tokens - admission.reserved_tokens
        if delta < 0:
            self._add(partition, "TOKENS", "used", delta)
        elif delta > 0 and self._add(partition, "TOKENS", "used", delta, limit=daily_tokens) is None:
            self._fill_to(partition, "TOKENS", "used", daily_tokens)
        return Admission(
            client=admission.client,
            day=admission.day,
            session_id=admission.session_id,
            reserved_tokens=used_tokens,
            tokens_remaining=admission.tokens_remaining - delta,
            session_requests_remaining=admission.session_requests_remaining,
        )

    def release(self, admission: Admission) -> None:
        """The model gave no answer: the request and its reservation do not count."""
        partition = f"QUOTA#{admission.client}#{admission.day}"
        if admission.reserved_tokens:
            self._add(partition, "TOKENS", "used", -admission.reserved_tokens)
        self._add(partition, f"SESSION#{admission.session_id}", "requests", -1)

    def _add(
        self,
        partition: str,
        sort_key: str,
        attribute: str,
        amount: int,
        *,
        limit: int | None = None,
        expires_at: int | None = None,
    ) -> int | None:
        """Atomically add ``amount``; None if that would take the counter past ``limit``."""
        if limit is not None and amount > limit:
            return None  # more than the whole allowance: no state of the counter could admit it
        update: dict[str, Any] = {
            "Key": {"pk": partition, "sk": sort_key},
            "UpdateExpression": "ADD #a :n",
            "ExpressionAttributeNames": {"#a": attribute},
            "ExpressionAttributeValues": {":n": amount},
            "ReturnValues": "UPDATED_NEW",
        }
        if expires_at is not None:
            update["UpdateExpression"] += " SET expiresAt = if_not_exists(expiresAt, :exp)"
            update["ExpressionAttributeValues"][":exp"] = expires_at
        if limit is not None:
            update["ConditionExpression"] = "attribute_not_exists(#a) OR #a <= :room"
            update["ExpressionAttributeValues"][":room"] = limit - amount
        try:
            response = self._table.update_item(**update)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise StoreUnavailable("quota update failed") from error
        except BotoCoreError as error:
            raise StoreUnavailable("quota update failed") from error
        return int(response["Attributes"][attribute])

    def _fill_to(self, partition: str, sort_key: str, attribute: str, limit: int) -> None:
        try:
            self._table.update_item(
                Key={"pk": partition, "sk": sort_key},
                UpdateExpression="SET #a = :limit",
                ConditionExpression="#a < :limit",
                ExpressionAttributeNames={"#a": attribute},
                ExpressionAttributeValues={":limit": limit},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise StoreUnavailable("quota update failed") from error
        except BotoCoreError as error:
            raise StoreUnavailable("quota update failed") from error

    def _read(self, partition: str, sort_key: str, attribute: str) -> int:
        try:
            item = self._table.get_item(Key={"pk": partition, "sk": sort_key}, ConsistentRead=True).get(
                "Item"
            )
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable("quota read failed") from error
        return int(item[attribute]) if item and attribute in item else 0

    def _remaining(self, partition: str, tier: Tier, session_requests_left: int) -> dict[str, int]:
        return {
            "tokens": max(tier.daily_tokens - self._read(partition, "TOKENS", "used"), 0),
            "session_requests": max(session_requests_left, 0),
        }


class TierDirectory:
    """Which quota tier a client is on: item pk = CLIENT#<api key id>, sk = PROFILE, attribute tier.

    Written when a key is issued; read at most every ``max_age`` seconds per client and container.
    A client without a profile, or a table that cannot be read, gets the default tier.
    """

    def __init__(self, table: Any, *, clock: Callable[[], float], max_age: float = 300.0) -> None:
        self._table = table
        self._clock = clock
        self._max_age = max_age
        self._cache: dict[str, tuple[float, str | None]] = {}

    def tier_of(self, client: str) -> str | None:
        now = self._clock()
        cached = self._cache.get(client)
        if cached and now - cached[0] < self._max_age:
            return cached[1]
        try:
            item = self._table.get_item(Key={"pk": f"CLIENT#{client}", "sk": "PROFILE"}).get("Item")
        except (ClientError, BotoCoreError):
            return None
        tier = str(item["tier"]) if item and "tier" in item else None
        self._cache[client] = (now, tier)
        return tier
