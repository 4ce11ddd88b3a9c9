"""The caller's conversations: the list of its sessions, one session's transcript, and its erasure.
Together, GET /conversations and GET /conversations/{sessionId} export everything held about a caller.

GET    /conversations                 the caller's sessions, most recently active first, paginated
GET    /conversations/{sessionId}     the caller's transcript of that session
DELETE /conversations/{sessionId}     erase the session and everything it left (GDPR)
POST   /conversations/{sessionId}/messages/{messageId}/feedback   thumbs up or down on a reply
(and the same under /web/ for signed-in people)
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from lambda_src.chat import keys
from lambda_src.chat.dependencies import dependencies
from lambda_src.chat.feedback import BLOCKED_COMMENT_STORED, FeedbackRequest, parse_message_id
from lambda_src.chat.guardrail import TurnGuard
from lambda_src.chat.models import BadRequest, parse_session_id
from lambda_src.chat.telemetry import count, record_feedback
from lambda_src.handlers.http import client_of

logger = Logger(child=True)
router = Router()

TRANSCRIPT_LIMIT = 200
DEFAULT_PAGE = 20
MAX_PAGE = 100
# A cursor's time is epoch milliseconds; DynamoDB numbers hold 38 digits, this is far below that.
MAX_EPOCH_MS = 10**15


@router.get("/conversations")
@router.get("/web/conversations")
def sessions() -> dict[str, Any]:
    owner = client_of(router.current_event)
    query = router.current_event.query_string_parameters or {}
    limit = _limit(query.get("limit"))
    after = _after(query.get("cursor"), owner)
    found, last = dependencies().history.sessions(owner, limit=limit, after=after)
    return {"sessions": found, "nextCursor": _cursor(last) if last else None}


@router.get("/conversations/<sessionId>")
@router.get("/web/conversations/<sessionId>")
def transcript(sessionId: str) -> dict[str, Any]:  # noqa: N803 - the route's parameter name
    session_id = parse_session_id(sessionId)
    messages, truncated = dependencies().history.transcript(
        client_of(router.current_event), session_id, limit=TRANSCRIPT_LIMIT
    )
    return {"sessionId": session_id, "messages": messages, "truncated": truncated}


@router.delete("/conversations/<sessionId>")
@router.delete("/web/conversations/<sessionId>")
def erase(sessionId: str) -> Response[str]:  # noqa: N803
    session_id = parse_session_id(sessionId)
    deleted = dependencies().history.erase(client_of(router.current_event), session_id)
    logger.info("conversation erased", extra={"session_id": session_id, "messages": deleted})
    count("ConversationsErased")
    return Response(status_code=204, body="")


@router.post("/conversations/<sessionId>/messages/<messageId>/feedback")
@router.post("/web/conversations/<sessionId>/messages/<messageId>/feedback")
def feedback(sessionId: str, messageId: str) -> dict[str, Any]:  # noqa: N803
    session_id = parse_session_id(sessionId)
    parse_message_id(messageId)
    request = FeedbackRequest.parse(router.current_event.body)
    deps = dependencies()
    owner = client_of(router.current_event)
    given = deps.feedback.give(
        owner, session_id, messageId, request, comment=_guarded_comment(request.comment, deps.guard)
    )
    record_feedback(
        request.rating,
        given.previous_rating,
        model=given.model,
        provider=given.provider,
        category=request.category,
        commented=request.comment is not None,
    )
    answer = {"sessionId": session_id, "messageId": messageId, "rating": request.rating}
    for name in ("category", "comment"):
        if name in given.item:
            answer[name] = given.item[name]
    return answer


def _guarded_comment(comment: str | None, guard: TurnGuard | None) -> str | None:
    """A comment is the user's text too: where the guardrail masks messages, it masks comments."""
    if comment is None or guard is None:
        return comment
    verdict = guard.check(comment, "INPUT")
    if verdict.action == "BLOCKED":
        return BLOCKED_COMMENT_STORED
    return verdict.text


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_PAGE
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_PAGE:
        raise BadRequest(f"limit: must be a whole number from 1 to {MAX_PAGE}")
    return int(value)


def _cursor(last_key: dict[str, Any]) -> str:
    plain = {name: int(value) if name == keys.LAST_ACTIVE else str(value) for name, value in last_key.items()}
    return base64.urlsafe_b64encode(json.dumps(plain, sort_keys=True).encode()).decode().rstrip("=")


def _after(cursor: str | None, owner: str) -> dict[str, Any] | None:
    """Where a page starts: a nextCursor this caller was given, nothing else."""
    if cursor is None:
        return None
    refused = BadRequest("cursor: must be the nextCursor of a previous page")
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise refused from None
    expected = {"pk", "sk", keys.SESSION_OWNER, keys.LAST_ACTIVE}
    if (
        not isinstance(key, dict)
        or set(key) != expected
        or key[keys.SESSION_OWNER] != owner
        or not str(key["pk"]).startswith(keys.session_partition(owner, ""))
        or key["sk"] != keys.STATE
        or type(key[keys.LAST_ACTIVE]) is not int  # a bool is an int to isinstance()
        or not 0 <= key[keys.LAST_ACTIVE] < MAX_EPOCH_MS
    ):
        raise refused
    return key
