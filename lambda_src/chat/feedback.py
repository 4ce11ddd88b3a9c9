"""Feedback on a reply: thumbs up or down, an optional category, an optional comment (README, "Feedback").

A reply's ``messageId`` is ``<13-digit creation ms>-<turn id>``, which names its transcript item, so
finding it is one read in the caller's own session partition: a message of another caller's session is
simply not there (404). The feedback item lives beside it (``FEEDBACK#<messageId>``) with the reply's
generation and expiry, so it expires with the transcript and goes when the conversation is erased;
writing it is conditional on the session's generation, so an erasure that has begun is never undone.
Giving feedback again replaces it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from lambda_src.chat import keys
from lambda_src.chat.dynamo import batch_get, transact
from lambda_src.chat.models import BadRequest, describe_validation_error, strip_unsafe_characters

MAX_COMMENT_CHARS = 500
CATEGORIES = ("incorrect", "unhelpful", "unsafe", "offensive", "too_long", "other")
FEEDBACK_PREFIX = "FEEDBACK#"
MESSAGE_ID_PATTERN = r"^\d{13}-[A-Za-z0-9-]{1,64}$"
_MESSAGE_ID = re.compile(MESSAGE_ID_PATTERN)
# What is kept of a comment the guardrail blocked (the text is not).
BLOCKED_COMMENT_STORED = "[withheld: the guardrail blocked this comment]"


class MessageNotFound(Exception):
    """No reply by that id in the caller's session (never there, expired, erased, or someone else's)."""


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rating: Literal["up", "down"]
    category: Literal["incorrect", "unhelpful", "unsafe", "offensive", "too_long", "other"] | None = None
    comment: str | None = None

    @field_validator("comment")
    @classmethod
    def _clean_comment(cls, value: str | None) -> str | None:
        if value is None:
            return None
        cleaned = strip_unsafe_characters(value).strip()
        if len(cleaned) > MAX_COMMENT_CHARS:
            raise ValueError(f"must be at most {MAX_COMMENT_CHARS} characters")
        return cleaned or None

    @classmethod
    def parse(cls, body: str | None) -> FeedbackRequest:
        if not body:
            raise BadRequest("Request body must be a JSON object with rating")
        try:
            return cls.model_validate_json(body)
        except ValidationError as error:
            described = describe_validation_error(error)
            for chat_words, feedback_words in (
                ("only sessionId and message", "only rating, category and comment"),
                ("with sessionId and message", "with rating"),
            ):
                described = described.replace(chat_words, feedback_words)
            raise BadRequest(described) from None


def message_id(created_ms: int, turn_id: str) -> str:
    return f"{created_ms:013d}-{turn_id}"


def parse_message_id(value: str) -> tuple[int, str]:
    if not _MESSAGE_ID.fullmatch(value):
        raise BadRequest("messageId: must be the messageId of a reply (<13 digits>-<id>)")
    created, turn_id = value.split("-", 1)
    return int(created), turn_id


def feedback_key(owner: str, session_id: str, message: str) -> dict[str, str]:
    return {"pk": keys.session_partition(owner, session_id), "sk": FEEDBACK_PREFIX + message}


@dataclass(frozen=True)
class Given:
    """Feedback as stored, with what it replaced (for the metrics) and the reply it is about."""

    item: dict[str, Any]
    previous_rating: str | None
    model: str
    provider: str


class FeedbackStore:
    def __init__(self, table: Any, *, clock: Callable[[], float]) -> None:
        self._table = table
        self._client = table.meta.client
        self._clock = clock

    def give(
        self, owner: str, session_id: str, message: str, feedback: FeedbackRequest, *, comment: str | None
    ) -> Given:
        """Store ``feedback`` on the reply ``message`` (with ``comment`` as the guardrail left it);
        MessageNotFound if the caller's session has no such live reply."""
        created_ms, turn_id = parse_message_id(message)
        partition = keys.session_partition(owner, session_id)
        reply_key = {"pk": partition, "sk": keys.turn_sort_key(created_ms, turn_id, 1)}
        wanted = [reply_key, feedback_key(owner, session_id, message), keys.state_key(owner, session_id)]
        found = batch_get(self._client, self._table.name, wanted)
        reply = found.get((reply_key["pk"], reply_key["sk"]))
        now = self._clock()
        if reply is None or reply.get("role") != "assistant" or int(reply["expiresAt"]) <= now:
            raise MessageNotFound
        previous = found.get((partition, FEEDBACK_PREFIX + message))
        generation = int(reply.get("gen", 0))
        item = {
            **feedback_key(owner, session_id, message),
            "messageId": message,
            "rating": feedback.rating,
            "gen": generation,
            "createdAtMs": int(previous["createdAtMs"]) if previous else int(now * 1000),
            "updatedAtMs": int(now * 1000),
            "expiresAt": int(reply["expiresAt"]),
            "model": str(reply.get("model", "unknown")),
            "provider": str(reply.get("provider", "unknown")),
        }
        if feedback.category is not None:
            item["category"] = feedback.category
        if comment is not None:
            item["comment"] = comment
        name = self._table.name
        failed = transact(
            self._client,
            [
                # Not once the session's erasure has begun (it bumps the generation first).
                (
                    "state",
                    {
                        "ConditionCheck": {
                            "TableName": name,
                            "Key": keys.state_key(owner, session_id),
                            "ConditionExpression": "gen = :gen",
                            "ExpressionAttributeValues": {":gen": generation},
                        }
                    },
                ),
                ("feedback", {"Put": {"TableName": name, "Item": item}}),
            ],
        )
        if failed:
            raise MessageNotFound
        return Given(
            item=item,
            previous_rating=str(previous["rating"]) if previous else None,
            model=str(item["model"]),
            provider=str(item["provider"]),
        )
