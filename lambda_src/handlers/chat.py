"""Chat Lambda: POST /chat answers one turn, GET /health reports the deployed version."""

from __future__ import annotations

import os
import time
import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_src import __version__
from lambda_src.chat.dependencies import dependencies
from lambda_src.chat.history import StoreUnavailable
from lambda_src.chat.llm import DEFAULT_RETRY_AFTER_SECONDS, LlmError
from lambda_src.chat.models import BadRequest, ChatRequest
from lambda_src.chat.service import TurnContext, reply_to

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()

STORE_RETRY_AFTER_SECONDS = 2

# /health and rejected requests publish no business metric; that is expected, not worth a log line.
warnings.filterwarnings("ignore", message="No application metrics to publish")


class MissingClientIdentity(Exception):
    """No API key id on the request: API Gateway should have refused it already."""


def _error(status: int, message: str, *, retry_after: int | None = None) -> Response[dict[str, str]]:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"message": message, "requestId": app.lambda_context.aws_request_id},
        headers=headers,
    )


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__, "stage": os.environ.get("STAGE", "unknown")}


@app.post("/chat")
# Neither the reply nor an error's text may become trace metadata.
@tracer.capture_method(capture_response=False, capture_error=False)
def chat() -> dict[str, Any]:
    deps = dependencies()
    request = ChatRequest.parse(app.current_event.body, max_message_chars=deps.settings.max_message_chars)
    owner = app.current_event.request_context.identity.api_key_id
    if not owner:
        raise MissingClientIdentity
    context = TurnContext(
        owner=owner,
        turn_id=app.lambda_context.aws_request_id,
        system_prompt=deps.settings.llm_system_prompt,
        history_turns=deps.settings.history_turns,
        llm_timeout_seconds=deps.settings.llm_timeout_seconds,
    )
    outcome = reply_to(
        request,
        context=context,
        history=deps.history,
        llm=deps.llm,
        clock=time.time,
        remaining_seconds=lambda: app.lambda_context.get_remaining_time_in_millis() / 1000,
    )
    usage = outcome.completion.usage
    metrics.add_metric(name="ChatTurns", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="LlmLatency", unit=MetricUnit.Milliseconds, value=outcome.completion.latency_ms)
    metrics.add_metric(name="InputTokens", unit=MetricUnit.Count, value=usage.inputTokens)
    metrics.add_metric(name="OutputTokens", unit=MetricUnit.Count, value=usage.outputTokens)
    if not outcome.reply_stored:
        metrics.add_metric(name="ReplyNotStored", unit=MetricUnit.Count, value=1)
    logger.info(
        "chat turn answered",
        extra={
            "session_id": request.sessionId,
            "message_chars": len(request.message),
            "reply_chars": len(outcome.reply.reply),
            "input_tokens": usage.inputTokens,
            "output_tokens": usage.outputTokens,
            "llm_latency_ms": round(outcome.completion.latency_ms),
            "model": outcome.completion.model,
        },
    )
    return outcome.reply.model_dump()


@app.exception_handler(BadRequest)
def bad_request(error: BadRequest) -> Response[dict[str, str]]:
    metrics.add_metric(name="BadRequests", unit=MetricUnit.Count, value=1)
    return _error(400, str(error))


@app.exception_handler(MissingClientIdentity)
def missing_identity(_: MissingClientIdentity) -> Response[dict[str, str]]:
    return _error(403, "This route needs an API key (x-api-key header)")


@app.exception_handler(LlmError)
def llm_failed(error: LlmError) -> Response[dict[str, str]]:
    metrics.add_metric(name="LlmErrors", unit=MetricUnit.Count, value=1)
    logger.warning("llm call failed", extra={"kind": error.kind, "status": error.status})
    if error.retryable:
        return _error(
            503,
            "The assistant is busy right now; your message was saved. Please retry shortly.",
            retry_after=error.retry_after or DEFAULT_RETRY_AFTER_SECONDS,
        )
    return _error(502, "The assistant could not produce a reply; your message was saved.")


@app.exception_handler(StoreUnavailable)
def store_unavailable(error: StoreUnavailable) -> Response[dict[str, str]]:
    metrics.add_metric(name="StoreErrors", unit=MetricUnit.Count, value=1)
    logger.warning("conversation store unavailable", extra={"operation": str(error)})
    return _error(
        503,
        "Conversation storage is unavailable. Please retry shortly.",
        retry_after=STORE_RETRY_AFTER_SECONDS,
    )


@app.not_found
def not_found(_: NotFoundError) -> Response[dict[str, str]]:
    return _error(404, "No such route")


@app.exception_handler(Exception)
def unexpected(_: Exception) -> Response[dict[str, str]]:
    logger.exception("unhandled error")
    return _error(500, "Internal error; quote the request id when reporting it.")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
