"""Conversation turns in DynamoDB, one item per message, expiring after the retention period.

Keys: pk = CONV#<client>#<session>, sk = TURN#<epoch ms, 13 digits>#<turn id>#<0 user | 1 assistant>,
so a session's messages sort by time, a client can only ever reach its own sessions, and the user
message of a turn always precedes its reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import BotoCoreError, ClientError

from lambda_src.chat.models import Message, Usage

SECONDS_PER_DAY = 86_400


class StoreUnavailable(Exception):
    """DynamoDB could not be read or written; the caller may retry."""


@dataclass(frozen=True)
class TurnKey:
    owner: str
    session_id: str
    turn_id: str
    created_ms: int

    @property
    def partition(self) -> str:
        return session_partition(self.owner, self.session_id)

    def sort_key(self, index: int) -> str:
        return f"TURN#{self.created_ms:013d}#{self.turn_id}#{index}"


def session_partition(owner: str, session_id: str) -> str:
    return f"CONV#{owner}#{session_id}"


class ConversationHistory:
    def __init__(self, table: Any, *, retention_days: int) -> None:
        self._table = table
        self._retention_seconds = retention_days * SECONDS_PER_DAY

    def recent(self, owner: str, session_id: str, *, turns: int, now: float) -> list[Message]:
        """The last ``turns`` exchanges of a session, oldest first (bounded: at most 2 * turns items).

        TTL deletes expired items lazily (up to days late), so expired turns are filtered out here:
        retention means they are never sent to the model again.
        """
        if turns <= 0:
            return []
        try:
            response = self._table.query(
                KeyConditionExpression=Key("pk").eq(session_partition(owner, session_id))
                & Key("sk").begins_with("TURN#"),
                FilterExpression=Attr("expiresAt").gt(int(now)),
                ScanIndexForward=False,
                Limit=turns * 2,
                ConsistentRead=True,
                ProjectionExpression="#r, content",
                ExpressionAttributeNames={"#r": "role"},
            )
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable("query failed") from error
        items = reversed(response.get("Items", []))
        return [Message(role=item["role"], content=item["content"]) for item in items]

    def append(
        self,
        key: TurnKey,
        message: Message,
        *,
        index: int,
        usage: Usage | None = None,
        model: str | None = None,
    ) -> None:
        item: dict[str, Any] = {
            "pk": key.partition,
            "sk": key.sort_key(index),
            "role": message.role,
            "content": message.content,
            "turnId": key.turn_id,
            "createdAtMs": key.created_ms,
            "expiresAt": key.created_ms // 1000 + self._retention_seconds,
        }
        if usage is not None:
            item["inputTokens"] = usage.inputTokens
            item["outputTokens"] = usage.outputTokens
        if model is not None:
            item["model"] = model
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(sk)")
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable("put failed") from error

    def transcript(self, owner: str, session_id: str, *, now: float, limit: int) -> tuple[list[dict], bool]:
        """The session's unexpired messages, oldest first, at most ``limit``; True if more exist."""
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(session_partition(owner, session_id))
            & Key("sk").begins_with("TURN#"),
            "FilterExpression": Attr("expiresAt").gt(int(now)),
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        try:
            while len(items) <= limit:
                response = self._table.query(**query)
                items.extend(response.get("Items", []))
                if "LastEvaluatedKey" not in response:
                    break
                query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable("query failed") from error
        truncated = len(items) > limit
        newest = items[:limit]
        return [
            {"role": item["role"], "content": item["content"], "createdAtMs": int(item["createdAtMs"])}
            for item in reversed(newest)
        ], truncated

    def erase(self, owner: str, session_id: str) -> int:
        """Delete every message of the session (GDPR erasure); returns how many were deleted."""
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(session_partition(owner, session_id)),
            "ProjectionExpression": "pk, sk",
            "ConsistentRead": True,
        }
        deleted = 0
        try:
            with self._table.batch_writer() as batch:
                while True:
                    response = self._table.query(**query)
                    for item in response.get("Items", []):
                        batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
                        deleted += 1
                    if "LastEvaluatedKey" not in response:
                        break
                    query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable("erase failed") from error
        return deleted
