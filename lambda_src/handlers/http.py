"""What the chat API's routes share: who the caller is, JSON answers, and Idempotency-Key handling."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_src.chat.dependencies import dependencies
from lambda_src.chat.keys import session_partition


class MissingClientIdentity(Exception):
    """No API key id (or, on /web/*, no Cognito user): API Gateway should have refused it already."""


def client_of(event: BaseProxyEvent) -> str:
    """Who owns the sessions: the API key's id on key routes, the signed-in user on /web/* routes."""
    context = cast(APIGatewayProxyEvent, event).request_context
    if event.path.startswith("/web/"):
        claims = (context.authorizer.claims if context.authorizer else None) or {}
        subject = claims.get("sub")
        if not subject:
            raise MissingClientIdentity
        return f"user-{subject}"
    owner = context.identity.api_key_id
    if not owner:
        raise MissingClientIdentity
    return owner


def json_answer(
    status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None
) -> Response[Any]:
    """A JSON answer; a str body is sent as it is (an idempotent replay must be byte-identical)."""
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers
    )


def serialized(body: dict[str, Any]) -> str:
    """As the resolver serializes a dict body (compact, ASCII)."""
    return json.dumps(body, separators=(",", ":"))


def once(
    answer: Callable[[], dict[str, Any]],
    *,
    owner: str,
    session_id: str,
    route: str,
    key: str | None,
    body: str | None,
    lambda_context: LambdaContext,
) -> dict[str, Any]:
    """``answer()``, or with an Idempotency-Key the first answer to that key (per client and route)."""
    if key is None:
        return answer()
    from lambda_src.chat.idempotency import run_once  # only requests with the header need it

    settings = dependencies().settings
    return run_once(
        answer,
        table_name=settings.table_name,
        partition=session_partition(owner, session_id),
        ttl_seconds=settings.idempotency_ttl_seconds,
        lambda_context=lambda_context,
        key={
            "client": owner,
            "route": route,
            "key": key,
            "body": hashlib.sha256((body or "").encode()).hexdigest(),
        },
    )
