"""Domain errors to HTTP answers, in one place. Bodies hold a message and a request id, nothing else:
no stack trace, no provider text, nothing the user sent."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)

from lambda_src.chat.dependencies import dependencies
from lambda_src.chat.dynamo import StoreUnavailable
from lambda_src.chat.jobs import QueueUnavailable
from lambda_src.chat.providers.base import DEFAULT_RETRY_AFTER_SECONDS, LlmError
from lambda_src.chat.quotas import QuotaExceeded
from lambda_src.chat.resilience import AllProvidersFailed
from lambda_src.chat.telemetry import count
from lambda_src.chat.turns import SessionErased, TurnInProgress

logger = Logger(child=True)
STORE_RETRY_AFTER_SECONDS = 2


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    def answer(status: int, message: str, headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
        return Response(
            status_code=status,
            content_type=content_types.APPLICATION_JSON,
            body={"message": message, "requestId": app.lambda_context.aws_request_id},
            headers=headers,
        )

    @app.exception_handler(QuotaExceeded)
    def over_quota(error: QuotaExceeded) -> Response[dict[str, Any]]:
        count("QuotaRejected")
        logger.info("quota exceeded", extra={"limit": error.limit})
        what = (
            "daily token budget" if error.limit == "daily_tokens" else "request limit for this session today"
        )
        return answer(
            429,
            f"You have used your {what}. It resets at 00:00 UTC.",
            {
                "Retry-After": str(error.retry_after),
                "X-Quota-Tokens-Remaining": str(error.remaining.get("tokens", 0)),
                "X-Quota-Session-Requests-Remaining": str(error.remaining.get("session_requests", 0)),
            },
        )

    @app.exception_handler(AllProvidersFailed)
    def degraded(error: AllProvidersFailed) -> Response[dict[str, Any]]:
        count("DegradedReplies")
        logger.warning("no provider answered", extra={"retry_after": error.retry_after})
        return answer(503, dependencies().settings.degraded_reply, {"Retry-After": str(error.retry_after)})

    @app.exception_handler(LlmError)
    def llm_failed(error: LlmError) -> Response[dict[str, Any]]:
        count("LlmErrors")
        logger.warning("llm call failed", extra={"kind": error.kind, "status": error.status})
        if error.retryable:
            return answer(
                503,
                "The assistant is busy right now; your message was saved. Please retry shortly.",
                {"Retry-After": str(error.retry_after or DEFAULT_RETRY_AFTER_SECONDS)},
            )
        return answer(502, "The assistant could not produce a reply; your message was saved.")

    @app.exception_handler(StoreUnavailable)
    def store_unavailable(error: StoreUnavailable) -> Response[dict[str, Any]]:
        count("StoreErrors")
        logger.warning("conversation store unavailable", extra={"operation": str(error)})
        return answer(
            503,
            "Conversation storage is unavailable. Please retry shortly.",
            {"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
        )

    @app.exception_handler(QueueUnavailable)
    def queue_unavailable(_: QueueUnavailable) -> Response[dict[str, Any]]:
        count("QueueErrors")
        logger.warning("job queue unavailable")
        return answer(
            503,
            "The job queue is unavailable; nothing was queued. Please retry shortly.",
            {"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
        )

    @app.exception_handler(TurnInProgress)
    def turn_in_progress(error: TurnInProgress) -> Response[dict[str, Any]]:
        count("ResendsRefused")
        return answer(
            409,
            "The same message is still being answered in this session. Its answer will be in "
            "GET /conversations/{sessionId}; sending the message again once it is answered asks again.",
            {"Retry-After": str(error.retry_after)},
        )

    @app.exception_handler(SessionErased)
    def session_erased(_: SessionErased) -> Response[dict[str, Any]]:
        count("TurnsDiscardedByErasure")
        return answer(409, "This conversation was erased while the reply was being written; it was not kept.")

    @app.exception_handler(IdempotencyValidationError)
    def key_reused(_: IdempotencyValidationError) -> Response[dict[str, Any]]:
        return answer(422, "This Idempotency-Key was already used with a different request body.")

    @app.exception_handler(IdempotencyAlreadyInProgressError)
    def in_progress(_: IdempotencyAlreadyInProgressError) -> Response[dict[str, Any]]:
        return answer(
            409, "A request with this Idempotency-Key is still being answered.", {"Retry-After": "1"}
        )

    @app.exception_handler([IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError])
    def idempotency_store(error: Exception) -> Response[dict[str, Any]]:
        from lambda_src.chat.idempotency import answer_erased  # only requests with the header get here

        if answer_erased(error):
            return session_erased(SessionErased())
        count("StoreErrors")
        return answer(
            503, "Request de-duplication is unavailable. Please retry shortly.", {"Retry-After": "2"}
        )

    @app.not_found
    def not_found(_: NotFoundError) -> Response[dict[str, Any]]:
        return answer(404, "No such route")

    @app.exception_handler(Exception)
    def unexpected(_: Exception) -> Response[dict[str, Any]]:
        logger.exception("unhandled error")
        return answer(500, "Internal error; quote the request id when reporting it.")
