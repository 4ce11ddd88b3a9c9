"""Chat Lambda: the routes of the chat API. Each route validates, calls plain functions, answers JSON.

POST   /chat                          one turn (optional Idempotency-Key header)
GET    /conversations/{sessionId}     the caller's transcript of that session
DELETE /conversations/{sessionId}     erase it (GDPR)
GET    /health                        the deployed version

The same operations under /web/ are for people signed in to the chat page (Cognito ID token); the
others are for programs with an API key. Sessions belong to the key or to the user.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import time
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from lambda_src import __version__
from lambda_src.chat.cors import cors_config
from lambda_src.chat.dependencies import dependencies
from lambda_src.chat.errors import register_error_handlers
from lambda_src.chat.jobs import JobMessage, JobStore, QueueUnavailable, new_job_id
from lambda_src.chat.models import BadRequest, ChatRequest, parse_idempotency_key, parse_session_id
from lambda_src.chat.quotas import Tier
from lambda_src.chat.service import TurnContext, reply_to
from lambda_src.chat.telemetry import count, metrics, record_turn, tracing_decorators

logger = Logger()
app = APIGatewayRestResolver(cors=cors_config(os.environ.get("CORS_ALLOWED_ORIGINS", "[]")))
capture_handler, capture_method = tracing_decorators()
register_error_handlers(app)

TRANSCRIPT_LIMIT = 200

# /health and rejected requests publish no business metric; that is expected, not worth a log line.
warnings.filterwarnings("ignore", message="No application metrics to publish")


@functools.cache
def _sqs() -> Any:
    import boto3

    from lambda_src.chat.dependencies import AWS_CLIENT_CONFIG

    return boto3.client("sqs", config=AWS_CLIENT_CONFIG)


class MissingClientIdentity(Exception):
    """No API key id (or, on /web/*, no Cognito user): API Gateway should have refused it already."""


def _client() -> str:
    """Who owns the sessions: the API key on key routes, the signed-in user on /web/* routes."""
    context = app.current_event.request_context
    if app.current_event.path.startswith("/web/"):
        claims = (context.authorizer.claims if context.authorizer else None) or {}
        subject = claims.get("sub")
        if not subject:
            raise MissingClientIdentity
        return f"user-{subject}"
    owner = context.identity.api_key_id
    if not owner:
        raise MissingClientIdentity
    return owner


def _json(status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None) -> Response[Any]:
    """A JSON answer; a str body is sent as it is (an idempotent replay must be byte-identical)."""
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers
    )


def _serialized(body: dict[str, Any]) -> str:
    """As the resolver serializes a dict body (compact, ASCII): replays return this very text."""
    return json.dumps(body, separators=(",", ":"))


@app.get("/health")
def health() -> dict[str, str]:
    # BUILD_ID (set by the stack) is the release and a hash of the deployed code.
    version = os.environ.get("BUILD_ID") or f"{__version__}+unknown"
    return {"status": "ok", "version": version, "stage": os.environ.get("STAGE", "unknown")}


@app.post("/chat")
@app.post("/web/chat")
@capture_method
def chat() -> Response[dict[str, Any]]:
    deps = dependencies()
    settings = deps.settings
    body = app.current_event.body
    request = ChatRequest.parse(body, max_message_chars=settings.max_message_chars)
    owner = _client()
    idempotency_key = parse_idempotency_key(app.current_event.headers)

    def turn() -> dict[str, Any]:
        tier = settings.tier(deps.tiers.tier_of(owner))
        context = TurnContext(
            owner=owner,
            turn_id=app.lambda_context.aws_request_id,
            system_prompt=settings.llm_system_prompt,
            history_turns=settings.history_turns,
            llm_timeout_seconds=settings.llm_timeout_seconds,
            max_output_tokens=settings.llm_max_output_tokens,
            tier=Tier(name=tier.name, daily_tokens=tier.daily_tokens, session_requests=tier.session_requests),
        )
        outcome = reply_to(
            request,
            context=context,
            history=deps.history,
            llm=deps.llm,
            clock=time.time,
            remaining_seconds=lambda: app.lambda_context.get_remaining_time_in_millis() / 1000,
            quotas=deps.quotas,
            cache=deps.cache,
        )
        record_turn(outcome, client=owner, session_id=request.sessionId, message_chars=len(request.message))
        headers = outcome.admission.headers() if outcome.admission else {}
        return {"body": _serialized(outcome.reply.model_dump()), "headers": headers}

    answer = _once(turn, owner=owner, route="/chat", key=idempotency_key, body=body)
    return _json(200, answer["body"], answer["headers"])


def _once(
    answer: Callable[[], dict[str, Any]], *, owner: str, route: str, key: str | None, body: str | None
) -> dict[str, Any]:
    """``answer()``, or with an Idempotency-Key the first answer to that key (per client and route)."""
    if key is None:
        return answer()
    from lambda_src.chat.idempotency import run_once  # only requests with the header need it

    settings = dependencies().settings
    return run_once(
        answer,
        table_name=settings.table_name,
        ttl_seconds=settings.idempotency_ttl_seconds,
        lambda_context=app.lambda_context,
        key={
            "client": owner,
            "route": route,
            "key": key,
            "body": hashlib.sha256((body or "").encode()).hexdigest(),
        },
    )


@app.post("/chat/jobs")
def enqueue_job() -> Response[dict[str, Any]]:
    """Answer later: 202 with a job id; GET /chat/jobs/{jobId} tells the status and, once done, the reply.
    With an Idempotency-Key, the same key (and body) gives the same job, queued once."""
    deps = dependencies()
    body = app.current_event.body
    request = ChatRequest.parse(body, max_message_chars=deps.settings.max_message_chars)
    owner = _client()
    idempotency_key = parse_idempotency_key(app.current_event.headers)

    def queue() -> dict[str, Any]:
        job = JobMessage(
            job_id=new_job_id(), owner=owner, session_id=request.sessionId, message=request.message
        )
        jobs = JobStore(deps.table)
        jobs.create(owner, job.job_id, now=time.time())
        try:
            _sqs().send_message(QueueUrl=deps.settings.jobs_queue_url, MessageBody=job.to_json())
        except (ClientError, BotoCoreError):
            jobs.finish(owner, job.job_id, status="failed", result={"error": "the job could not be queued"})
            raise QueueUnavailable from None
        count("JobsQueued")
        return {
            "body": _serialized({"jobId": job.job_id, "status": "queued"}),
            "headers": {"Location": f"/api/chat/jobs/{job.job_id}"},
        }

    answer = _once(queue, owner=owner, route="/chat/jobs", key=idempotency_key, body=body)
    return _json(202, answer["body"], answer["headers"])


@app.get("/chat/jobs/<jobId>")
def job_status(jobId: str) -> Response[dict[str, Any]]:  # noqa: N803 - the route's parameter name
    if not re.fullmatch(r"[0-9a-f]{32}", jobId):
        raise BadRequest("jobId: must be the 32-character id returned by POST /chat/jobs")
    job = JobStore(dependencies().table).get(_client(), jobId)
    if job is None:
        return _json(404, {"message": "No such job", "requestId": app.lambda_context.aws_request_id})
    return _json(200, {"jobId": jobId, "status": job["status"], **(job.get("result") or {})})


@app.get("/conversations/<sessionId>")
@app.get("/web/conversations/<sessionId>")
def transcript(sessionId: str) -> dict[str, Any]:  # noqa: N803 - the route's parameter name
    session_id = parse_session_id(sessionId)
    deps = dependencies()
    messages, truncated = deps.history.transcript(
        _client(), session_id, now=time.time(), limit=TRANSCRIPT_LIMIT
    )
    return {"sessionId": session_id, "messages": messages, "truncated": truncated}


@app.delete("/conversations/<sessionId>")
@app.delete("/web/conversations/<sessionId>")
def erase(sessionId: str) -> Response[str]:  # noqa: N803
    session_id = parse_session_id(sessionId)
    deleted = dependencies().history.erase(_client(), session_id)
    logger.info("conversation erased", extra={"session_id": session_id, "messages": deleted})
    count("ConversationsErased")
    return Response(status_code=204, body="")


@app.exception_handler(MissingClientIdentity)
def missing_identity(_: MissingClientIdentity) -> Response[dict[str, str]]:
    return _json(403, {"message": "This route needs an API key (x-api-key header) or a signed-in user"})


@app.exception_handler(BadRequest)
def bad_request(error: BadRequest) -> Response[dict[str, str]]:
    count("BadRequests")
    return _json(400, {"message": str(error), "requestId": app.lambda_context.aws_request_id})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@capture_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
