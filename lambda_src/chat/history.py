"""Reading and erasing a client's conversations: one session's transcript, the list of its sessions
(GET /conversations, from the sessions index), and the erasure of a session with everything it left.

The turn itself reads and writes through lambda_src/chat/session_store.py; where everything lives is
in lambda_src/chat/keys.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import BotoCoreError, ClientError

from lambda_src.chat import keys
from lambda_src.chat.dynamo import SECONDS_PER_DAY, StoreUnavailable
from lambda_src.chat.feedback import FEEDBACK_PREFIX, message_id

# An erased session keeps an empty state item this long: the bumped generation that stops a turn still
# running from writing back. Turns last minutes at most.
TOMBSTONE_SECONDS = SECONDS_PER_DAY


class ConversationHistory:
    def __init__(self, table: Any, *, clock: Callable[[], float]) -> None:
        self._table = table
        self._clock = clock

    def transcript(self, owner: str, session_id: str, *, limit: int) -> tuple[list[dict], bool]:
        """The session's unexpired messages, oldest first, at most ``limit``; True if more exist. A reply
        carries the feedback given on it."""
        try:
            items = self._live(owner, session_id, keys.TURN_PREFIX, enough=limit + 1)
            feedback = {
                str(item["messageId"]): _feedback(item)
                for item in self._live(owner, session_id, FEEDBACK_PREFIX)
            }
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable("query failed") from error
        truncated = len(items) > limit
        messages = [_message(item) for item in reversed(items[:limit])]
        for message in messages:
            if message.get("messageId") in feedback:
                message["feedback"] = feedback[message["messageId"]]
        return messages, truncated

    def _live(
        self, owner: str, session_id: str, prefix: str, *, enough: int | None = None
    ) -> list[dict[str, Any]]:
        """The session's unexpired items under ``prefix``, newest first; stops once ``enough`` are read."""
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(keys.session_partition(owner, session_id))
            & Key("sk").begins_with(prefix),
            "FilterExpression": Attr("expiresAt").gt(int(self._clock())),
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        while enough is None or len(items) < enough:
            response = self._table.query(**query)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return items

    def sessions(
        self, owner: str, *, limit: int, after: dict[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The client's live sessions, most recently active first, and where the next page starts.
        The index is eventually consistent: a session started a moment ago may show a moment later."""
        query: dict[str, Any] = {
            "IndexName": keys.SESSIONS_INDEX,
            "KeyConditionExpression": Key(keys.SESSION_OWNER).eq(owner),
            "FilterExpression": Attr("expiresAt").gt(int(self._clock())),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if after:
            query["ExclusiveStartKey"] = after
        try:
            response = self._table.query(**query)
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable("query failed") from error
        sessions = [
            {
                "sessionId": str(item["sessionId"]),
                "createdAtMs": int(item["createdAtMs"]),
                "lastActiveAtMs": int(item[keys.LAST_ACTIVE]),
            }
            for item in response.get("Items", [])
        ]
        return sessions, response.get("LastEvaluatedKey")

    def erase(self, owner: str, session_id: str) -> int:
        """Erase the session (GDPR): its messages, running and answered turns, jobs and their replies,
        idempotency records and the answers it cached. Returns how many messages were deleted.

        In this order, so that nothing of the session is written back afterwards:
        1. the session's jobs go: a worker that has not yet started a job's turn will not start it
           (admitting a job's turn checks that the job is still there);
        2. the session's generation goes up: a turn already started writes nothing more (its writes
           are conditional on the generation it started with);
        3. every item written before step 2 goes: all those of a smaller generation, and the jobs,
           cached answers and idempotency records the session points at.
        A turn started after step 2 belongs to the session as it is used again, and stays; a job queued
        or an idempotency record written while this runs is erased with the rest (it carries no
        generation)."""
        partition = keys.session_partition(owner, session_id)
        try:
            self._delete(
                [keys.job_key(owner, job_id) for job_id in self._job_ids(self._partition(partition))]
            )
            generation = self._next_generation(owner, session_id)
            doomed = [
                key
                for item in self._partition(partition)
                if item["sk"] != keys.STATE and self._older(item, generation)
                for key in self._and_what_it_points_at(owner, item)
            ]
            self._delete(doomed)
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailable("erase failed") from error
        return sum(1 for key in doomed if key["sk"].startswith(keys.TURN_PREFIX))

    def _next_generation(self, owner: str, session_id: str) -> int:
        """Empty the state item and bump its generation; the new generation."""
        response = self._table.update_item(
            Key=keys.state_key(owner, session_id),
            UpdateExpression=(
                "ADD gen :one, ver :one SET expiresAt = :tombstone "
                "REMOVE recent, #owner, #active, sessionId, createdAtMs"
            ),
            ExpressionAttributeNames={"#owner": keys.SESSION_OWNER, "#active": keys.LAST_ACTIVE},
            ExpressionAttributeValues={":one": 1, ":tombstone": int(self._clock()) + TOMBSTONE_SECONDS},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["gen"])

    def _partition(self, partition: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(partition),
            "ProjectionExpression": "pk, sk, gen",
            "ConsistentRead": True,
        }
        while True:
            response = self._table.query(**query)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _delete(self, doomed: list[dict[str, str]]) -> None:
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for key in doomed:
                batch.delete_item(Key=key)

    @staticmethod
    def _job_ids(items: list[dict[str, Any]]) -> list[str]:
        return [
            str(item["sk"])[len(keys.JOB_REF_PREFIX) :]
            for item in items
            if str(item["sk"]).startswith(keys.JOB_REF_PREFIX)
        ]

    @staticmethod
    def _older(item: dict[str, Any], generation: int) -> bool:
        """Whether the item was written before the erasure. Transcript items, running marks and feedback
        carry the generation their turn started with; every other item of the partition goes."""
        sort_key = str(item["sk"])
        if sort_key.startswith((keys.TURN_PREFIX, keys.PENDING_PREFIX, FEEDBACK_PREFIX)):
            return int(item.get("gen", 0)) < generation
        return True

    @staticmethod
    def _and_what_it_points_at(owner: str, item: dict[str, Any]) -> list[dict[str, str]]:
        key = {"pk": str(item["pk"]), "sk": str(item["sk"])}
        if key["sk"].startswith(keys.JOB_REF_PREFIX):
            return [key, keys.job_key(owner, key["sk"][len(keys.JOB_REF_PREFIX) :])]
        if key["sk"].startswith(keys.CACHE_REF_PREFIX):
            return [key, keys.cache_item_key(key["sk"][len(keys.CACHE_REF_PREFIX) :])]
        return [key]


def _message(item: dict[str, Any]) -> dict[str, Any]:
    message = {"role": item["role"], "content": item["content"], "createdAtMs": int(item["createdAtMs"])}
    if item["role"] == "assistant":
        message["messageId"] = message_id(int(item["createdAtMs"]), str(item["turnId"]))
    if item.get("guardrail"):
        message["guardrail"] = item["guardrail"]  # what the guardrail did in this turn (policy names)
    return message


def _feedback(item: dict[str, Any]) -> dict[str, Any]:
    """The caller's own feedback on a reply, as stored (the comment as the guardrail left it)."""
    given = {"rating": str(item["rating"]), "updatedAtMs": int(item["updatedAtMs"])}
    for optional in ("category", "comment"):
        if optional in item:
            given[optional] = str(item[optional])
    return given
