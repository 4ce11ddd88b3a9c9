"""What each domain error answers, in one place, for every way an answer leaves: a JSON body with an HTTP
status (errors.py, and the streamed route before its first byte) or a stream's ``error`` event after it.
Messages hold no stack trace, no provider text, nothing the user sent."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)

from lambda_src.chat.controls import TurnsPaused
from lambda_src.chat.dynamo import StoreUnavailable
from lambda_src.chat.feedback import MessageNotFound
from lambda_src.chat.guardrail import GuardrailUnavailable
from lambda_src.chat.jobs import QueueUnavailable
from lambda_src.chat.providers.base import DEFAULT_RETRY_AFTER_SECONDS, LlmError
from lambda_src.chat.quotas import QuotaExceeded
from lambda_src.chat.resilience import AllProvidersFailed
from lambda_src.chat.telemetry import count
from lambda_src.chat.turns import SessionErased, TurnInProgress

logger = Logger(child=True)
STORE_RETRY_AFTER_SECONDS = 2
LLM_BUSY = "The assistant is busy right now; your message was saved. Please retry shortly."
UNEXPECTED = "Internal error; quote the request id when reporting it."
GUARDRAIL_UNAVAILABLE = (
    "The safety check is unavailable right now, so the message was not answered. Please retry shortly."
)

# The errors answer_for() knows; anything else is a bug (500).
KNOWN_ERRORS: tuple[type[Exception], ...] = (
    TurnsPaused,
    QuotaExceeded,
    GuardrailUnavailable,
    MessageNotFound,
    LlmError,
    StoreUnavailable,
    QueueUnavailable,
    TurnInProgress,
    SessionErased,
    IdempotencyValidationError,
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyInconsistentStateError,
)


@dataclass(frozen=True)
class ErrorAnswer:
    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def retry_after(self) -> int | None:
        value = self.headers.get("Retry-After")
        return int(value) if value is not None else None

    @property
    def retryable(self) -> bool:
        return self.retry_after is not None


def answer_for(error: Exception, *, degraded_reply: str) -> ErrorAnswer:
    """The answer to ``error``, counted in metrics; a 500 for an error this module does not know."""
    if isinstance(error, QuotaExceeded):
        count("QuotaRejected")
        logger.info("quota exceeded", extra={"limit": error.limit})
        what = (
            "daily token budget" if error.limit == "daily_tokens" else "request limit for this session today"
        )
        return ErrorAnswer(
            429,
            f"You have used your {what}. It resets at 00:00 UTC.",
            {
                "Retry-After": str(error.retry_after),
                "X-Quota-Tokens-Remaining": str(error.remaining.get("tokens", 0)),
                "X-Quota-Session-Requests-Remaining": str(error.remaining.get("session_requests", 0)),
            },
        )
    if isinstance(error, TurnsPaused):
        count("TurnsPaused")
        return ErrorAnswer(503, degraded_reply, {"Retry-After": str(error.retry_after)})
    if isinstance(error, MessageNotFound):
        return ErrorAnswer(404, "No such reply in this conversation (it may have expired or been erased).")
    if isinstance(error, GuardrailUnavailable):
        # Counted where it happened (GuardrailUnavailable, by source); the stage fails closed.
        return ErrorAnswer(503, GUARDRAIL_UNAVAILABLE, {"Retry-After": str(GuardrailUnavailable.retry_after)})
    if isinstance(error, AllProvidersFailed):
        count("DegradedReplies")
        logger.warning("no provider answered", extra={"retry_after": error.retry_after})
        return ErrorAnswer(503, degraded_reply, {"Retry-After": str(error.retry_after)})
    if isinstance(error, LlmError):
        count("LlmErrors")
        logger.warning("llm call failed", extra={"kind": error.kind, "status": error.status})
        if error.retryable:
            retry_after = error.retry_after or DEFAULT_RETRY_AFTER_SECONDS
            return ErrorAnswer(503, LLM_BUSY, {"Retry-After": str(retry_after)})
        return ErrorAnswer(502, "The assistant could not produce a reply; your message was saved.")
    if isinstance(error, StoreUnavailable):
        count("StoreErrors")
        logger.warning("conversation store unavailable", extra={"operation": str(error)})
        return ErrorAnswer(
            503,
            "Conversation storage is unavailable. Please retry shortly.",
            {"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
        )
    if isinstance(error, QueueUnavailable):
        count("QueueErrors")
        logger.warning("job queue unavailable")
        return ErrorAnswer(
            503,
            "The job queue is unavailable; nothing was queued. Please retry shortly.",
            {"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
        )
    if isinstance(error, TurnInProgress):
        count("ResendsRefused")
        return ErrorAnswer(
            409,
            "The same message is still being answered in this session. Its answer will be in "
            "GET /conversations/{sessionId}; sending the message again once it is answered asks again.",
            {"Retry-After": str(error.retry_after)},
        )
    if isinstance(error, SessionErased):
        count("TurnsDiscardedByErasure")
        return ErrorAnswer(
            409, "This conversation was erased while the reply was being written; it was not kept."
        )
    if isinstance(error, IdempotencyValidationError):
        return ErrorAnswer(422, "This Idempotency-Key was already used with a different request body.")
    if isinstance(error, IdempotencyAlreadyInProgressError):
        return ErrorAnswer(
            409, "A request with this Idempotency-Key is still being answered.", {"Retry-After": "1"}
        )
    if isinstance(error, (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError)):
        from lambda_src.chat.idempotency import answer_erased  # only requests with the header get here

        if answer_erased(error):
            return answer_for(SessionErased(), degraded_reply=degraded_reply)
        count("StoreErrors")
        return ErrorAnswer(
            503, "Request de-duplication is unavailable. Please retry shortly.", {"Retry-After": "2"}
        )
    logger.exception("unhandled error")
    return ErrorAnswer(500, UNEXPECTED)
