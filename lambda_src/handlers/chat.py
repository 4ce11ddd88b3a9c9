"""Chat Lambda: the routes of the chat API. Each route validates, calls plain functions, answers JSON.

POST   /chat                          one turn (optional Idempotency-Key header)
GET    /health                        the deployed build
GET    /health/deep                   whether a turn can be answered (API key; no token spent)
and, in their own modules, /conversations (conversation_routes.py) and /chat/jobs (job_routes.py).

The same operations under /web/ are for people signed in to the chat page (Cognito ID token); the
others are for programs with an API key. Sessions belong to the key or to the user.
"""

from __future__ import annotations

import os
import time
import warnings
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_src import __version__
from lambda_src.chat.cors import cors_config
from lambda_src.chat.dependencies import deep_health, dependencies
from lambda_src.chat.errors import register_error_handlers
from lambda_src.chat.models import BadRequest, ChatRequest, parse_idempotency_key
from lambda_src.chat.service import reply_to
from lambda_src.chat.telemetry import count, metrics, record_turn, tracing_decorators
from lambda_src.handlers import conversation_routes, job_routes
from lambda_src.handlers.http import MissingClientIdentity, client_of, json_answer, once

logger = Logger()
app = APIGatewayRestResolver(cors=cors_config(os.environ.get("CORS_ALLOWED_ORIGINS", "[]")))
capture_handler, capture_method = tracing_decorators()
register_error_handlers(app)
app.include_router(conversation_routes.router)
app.include_router(job_routes.router)

# /health and rejected requests publish no business metric; that is expected, not worth a log line.
warnings.filterwarnings("ignore", message="No application metrics to publish")


@app.get("/health")
def health() -> dict[str, str]:
    # BUILD_ID (set by the stack) is the release and a hash of the deployed code.
    version = os.environ.get("BUILD_ID") or f"{__version__}+unknown"
    return {"status": "ok", "version": version, "stage": os.environ.get("STAGE", "unknown")}


@app.get("/health/deep")
def health_deep() -> Response[Any]:
    """Whether a turn can be answered: table, key, providers (lambda_src/chat/deep_health.py)."""
    client_of(app.current_event)  # a key or a signed-in user, as API Gateway already demands
    status, body = deep_health().report()
    return json_answer(status, body)


@app.post("/chat")
@app.post("/web/chat")
@capture_method
def chat() -> Response[Any]:
    deps = dependencies()
    settings = deps.settings
    body = app.current_event.body
    request = ChatRequest.parse(body, max_message_chars=settings.max_message_chars)
    owner = client_of(app.current_event)

    def turn() -> dict[str, Any]:
        context = deps.turn_context(owner, app.lambda_context.aws_request_id)
        outcome = reply_to(
            request,
            context=context,
            store=deps.store,
            llm=deps.llm,
            clock=time.time,
            remaining_seconds=lambda: app.lambda_context.get_remaining_time_in_millis() / 1000,
        )
        if outcome.resend:
            count("ResendsAnsweredOnce")
        else:
            record_turn(
                outcome, client=owner, session_id=request.sessionId, message_chars=len(request.message)
            )
        headers = outcome.admission.headers() if outcome.admission else {}
        return {"body": outcome.body, "headers": headers}

    answer = once(
        turn,
        owner=owner,
        session_id=request.sessionId,
        route="/chat",
        key=parse_idempotency_key(app.current_event.headers),
        body=body,
        lambda_context=app.lambda_context,
    )
    return json_answer(200, answer["body"], answer["headers"])


@app.exception_handler(MissingClientIdentity)
def missing_identity(_: MissingClientIdentity) -> Response[Any]:
    return json_answer(403, {"message": "This route needs an API key (x-api-key header) or a signed-in user"})


@app.exception_handler(BadRequest)
def bad_request(error: BadRequest) -> Response[Any]:
    count("BadRequests")
    return json_answer(400, {"message": str(error), "requestId": app.lambda_context.aws_request_id})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@capture_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
