"""The writes of a chat turn, as TransactWriteItems entries: built here, run by the session store.

Every item a turn writes into the session's partition carries the session's generation (``gen``) at
the time the turn was admitted. Erasure bumps the generation first, so it knows exactly which items
were written before it: those with a smaller one.
"""

from __future__ import annotations

from typing import Any

from lambda_src.chat import keys
from lambda_src.chat.cache import cache_item
from lambda_src.chat.dynamo import Operation
from lambda_src.chat.providers.base import Completion

# A finished turn's answer stays this long for resends of the same message that were waiting on it.
ANSWER_KEPT_FOR_WAITERS_SECONDS = 120


def lease_held(item: dict[str, Any], now: float) -> bool:
    """Whether a running mark still holds at ``now``; in whole seconds, the same rule as running()'s
    condition, so a reader and a writer never disagree about a lease that has just run out."""
    return int(item["leaseUntil"]) > int(now)


class TurnWrites:
    def __init__(self, table_name: str, *, retention_seconds: int) -> None:
        self._name = table_name
        self._retention_seconds = retention_seconds

    def state(
        self,
        owner: str,
        session_id: str,
        recent: list[dict[str, Any]],
        *,
        expected: tuple[int, int] | None,
        now: float,
    ) -> Operation:
        """The session's state item with these recent messages, if it is still at ``expected``
        (generation, version); ``expected=None`` creates it, if there is none."""
        generation, version = expected or (0, 0)
        now_ms = int(now * 1000)
        values: dict[str, Any] = {
            ":recent": recent,
            ":next": version + 1,
            ":owner": owner,
            ":session": session_id,
            ":now": now_ms,
            ":exp": int(now) + self._retention_seconds,
            ":zero": 0,
        }
        if expected is None:
            condition = "attribute_not_exists(pk)"
        else:
            condition = "gen = :gen AND ver = :ver"
            values[":gen"], values[":ver"] = generation, version
        return (
            "state",
            {
                "Update": {
                    "TableName": self._name,
                    "Key": keys.state_key(owner, session_id),
                    "UpdateExpression": (
                        "SET recent = :recent, ver = :next, gen = if_not_exists(gen, :zero), "
                        "#owner = :owner, sessionId = :session, #active = :now, "
                        "createdAtMs = if_not_exists(createdAtMs, :now), expiresAt = :exp"
                    ),
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#owner": keys.SESSION_OWNER, "#active": keys.LAST_ACTIVE},
                    "ExpressionAttributeValues": values,
                }
            },
        )

    def message(
        self,
        partition: str,
        turn_id: str,
        created_ms: int,
        generation: int,
        text: str,
        *,
        reply: Completion | None = None,
    ) -> Operation:
        """The user's message (no ``reply``) or the assistant's reply as a transcript item."""
        item: dict[str, Any] = {
            "pk": partition,
            "sk": keys.turn_sort_key(created_ms, turn_id, 0 if reply is None else 1),
            "role": "user" if reply is None else "assistant",
            "content": text,
            "turnId": turn_id,
            "gen": generation,
            "createdAtMs": created_ms,
            "expiresAt": created_ms // 1000 + self._retention_seconds,
        }
        if reply is not None:
            item["inputTokens"], item["outputTokens"] = reply.usage.inputTokens, reply.usage.outputTokens
            if reply.model:
                item["model"] = reply.model
            if reply.provider:
                item["provider"] = reply.provider  # feedback is counted by model and provider
            if reply.interventions:
                item["guardrail"] = [i.model_dump(mode="json") for i in reply.interventions]
        name = "message" if reply is None else "reply"
        return name, {
            "Put": {"TableName": self._name, "Item": item, "ConditionExpression": "attribute_not_exists(sk)"}
        }

    def add(
        self,
        name: str,
        key: dict[str, str],
        attribute: str,
        amount: int,
        *,
        limit: int | None = None,
        expires_at: int | None = None,
    ) -> Operation:
        """Add to a counter; with ``limit``, only if the sum stays within it."""
        update: dict[str, Any] = {
            "TableName": self._name,
            "Key": key,
            "UpdateExpression": "ADD #a :n",
            "ExpressionAttributeNames": {"#a": attribute},
            "ExpressionAttributeValues": {":n": amount},
        }
        if expires_at is not None:
            update["UpdateExpression"] += " SET expiresAt = if_not_exists(expiresAt, :exp)"
            update["ExpressionAttributeValues"][":exp"] = expires_at
        if limit is not None:
            update["ConditionExpression"] = "attribute_not_exists(#a) OR #a <= :room"
            update["ExpressionAttributeValues"][":room"] = limit - amount
        return name, {"Update": update}

    def running(
        self,
        key: dict[str, str],
        *,
        turn_id: str,
        generation: int,
        now: float,
        lease_until: float,
        answer_by: float,
    ) -> Operation:
        """Mark the message as being answered, unless another turn's mark still holds."""
        return (
            "pending",
            {
                "Put": {
                    "TableName": self._name,
                    "Item": {
                        **key,
                        "status": "running",
                        "turnId": turn_id,
                        "gen": generation,
                        "startedAtMs": int(now * 1000),
                        "leaseUntil": int(lease_until) + 1,
                        "answerBy": int(answer_by) + 1,
                        "expiresAt": int(lease_until) + ANSWER_KEPT_FOR_WAITERS_SECONDS,
                    },
                    # The lease is over once the clock's whole second reaches it (as lease_held() reads it).
                    "ConditionExpression": "attribute_not_exists(sk) OR #s = :done OR leaseUntil <= :now",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":done": "done", ":now": int(now)},
                }
            },
        )

    def answered(self, key: dict[str, str], *, turn_id: str, body: str, now: float) -> Operation:
        """Our running mark becomes the answer, kept a while for resends waiting on it."""
        return (
            "pending",
            {
                "Update": {
                    "TableName": self._name,
                    "Key": key,
                    "UpdateExpression": "SET #s = :done, body = :body, expiresAt = :exp",
                    "ConditionExpression": "turnId = :me",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {
                        ":done": "done",
                        ":body": body,
                        ":exp": int(now) + ANSWER_KEPT_FOR_WAITERS_SECONDS,
                        ":me": turn_id,
                    },
                }
            },
        )

    def released(self, key: dict[str, str], *, turn_id: str) -> Operation:
        """Our running mark goes: the turn ended without an answer."""
        return (
            "pending",
            {
                "Delete": {
                    "TableName": self._name,
                    "Key": key,
                    "ConditionExpression": "turnId = :me",
                    "ExpressionAttributeValues": {":me": turn_id},
                }
            },
        )

    def cached(
        self, partition: str, cache_key: str, completion: Completion, *, expires_at: int
    ) -> list[Operation]:
        """A first answer in the cache, and a reference in the session: erasing the session erases it."""
        reference = {"pk": partition, "sk": keys.CACHE_REF_PREFIX + cache_key, "expiresAt": expires_at}
        return [
            (
                "cache",
                {"Put": {"TableName": self._name, "Item": cache_item(cache_key, completion, expires_at)}},
            ),
            ("cacheref", {"Put": {"TableName": self._name, "Item": reference}}),
        ]

    def exists(self, name: str, key: dict[str, str]) -> Operation:
        """Only if the item is there (a job erased with its session is not answered)."""
        return name, {
            "ConditionCheck": {
                "TableName": self._name,
                "Key": key,
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
