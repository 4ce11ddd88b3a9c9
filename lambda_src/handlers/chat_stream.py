"""Streamed chat turns as an ASGI app, run by uvicorn behind the AWS Lambda Web Adapter (run.sh), which
turns API Gateway's InvokeWithResponseStream into an HTTP request and streams the response body back.

POST /chat/stream       for programs with an API key
POST /web/chat/stream   for people signed in to the chat page
GET  /ready             the Web Adapter's readiness check

Both take the body of POST /chat and answer ``text/event-stream``: ``start``, ``delta``..., then exactly
one ``done`` or ``error`` (stream_producer.py). A refusal before the first event (validation, identity,
quota, idempotency conflict, storage down) is an HTTP status with a JSON body, as POST /chat answers it;
once the turn is admitted (``start``), every failure is an ``error`` event. A comment line keeps a
quiet stream open; a caller that goes away stops the model call, and the turn is settled before the
invocation ends.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import AsyncIterator, Mapping

import anyio
from aws_lambda_powertools import Logger
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from lambda_src.chat.cors import ALLOW_HEADERS, EXPOSE_HEADERS
from lambda_src.chat.dependencies import dependencies
from lambda_src.chat.error_answers import UNEXPECTED
from lambda_src.chat.models import BadRequest, ChatRequest, parse_idempotency_key
from lambda_src.chat.telemetry import count
from lambda_src.handlers.stream_producer import END, Event, Invocation, Item, Refused, StreamProducer

logger = Logger()  # the parent of the modules' child loggers; JSON lines to stdout, as in the chat handler
HEARTBEAT = b": keep-alive\n\n"
# Headers that keep every hop from holding the stream back or storing it.
STREAM_HEADERS = {"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"}
# Where the Web Adapter forwards no invocation (make dev, tests): the stage's Lambda timeout.
DEFAULT_INVOCATION_SECONDS = float(os.environ.get("STREAM_FUNCTION_TIMEOUT_SECONDS", "900"))


class Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def owner_of(path: str, headers: Mapping[str, str]) -> str:
    """The API key's id, or on /web/ routes the signed-in user, from API Gateway's request context."""
    try:
        context = json.loads(headers.get("x-amzn-request-context") or "{}")
    except ValueError:
        context = {}
    if path.endswith("/web/chat/stream"):
        subject = ((context.get("authorizer") or {}).get("claims") or {}).get("sub")
        if subject:
            return f"user-{subject}"
    else:
        key_id = (context.get("identity") or {}).get("apiKeyId")
        if key_id:
            return str(key_id)
    raise Refusal(403, "This route needs an API key (x-api-key header) or a signed-in user")


def invocation_of(headers: Mapping[str, str]) -> Invocation:
    try:
        context = json.loads(headers.get("x-amzn-lambda-context") or "{}")
    except ValueError:
        context = {}
    request_id = str(context.get("request_id") or headers.get("x-amzn-request-id") or os.urandom(16).hex())
    deadline_ms = context.get("deadline")
    deadline = float(deadline_ms) / 1000 if deadline_ms else time.time() + DEFAULT_INVOCATION_SECONDS
    return Invocation(request_id, deadline)


async def chat_stream(request: Request) -> Response:
    received_at = time.monotonic()
    invocation = invocation_of(request.headers)
    try:
        owner = owner_of(request.url.path, request.headers)
        raw = await request.body()
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("Request body must be UTF-8 JSON") from None
        settings = dependencies().settings
        chat_request = ChatRequest.parse(body, max_message_chars=settings.max_message_chars)
        key = parse_idempotency_key(request.headers)
    except Refusal as refusal:
        return _json(refusal.status, refusal.message, invocation.aws_request_id)
    except BadRequest as error:
        count("BadRequests")
        return _json(400, str(error), invocation.aws_request_id)

    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Item] = asyncio.Queue()
    producer = StreamProducer(
        request=chat_request,
        owner=owner,
        route="/chat/stream",
        idempotency_key=key,
        body=body,
        invocation=invocation,
        received_at=received_at,
        put=lambda item: _hand_over(loop, queue, item),
    )
    thread = threading.Thread(target=producer.run, name="stream-producer", daemon=True)
    thread.start()
    try:
        first = await queue.get()
    except BaseException:  # the caller left before the turn began: stop it, wait for it to settle
        await _stop(producer, thread)
        raise
    if isinstance(first, Refused):
        await _stop(producer, thread)
        answer = first.answer
        return _json(answer.status, answer.message, first.request_id, answer.headers)
    if not isinstance(first, Event):  # the producer ended without a word: a bug, never a silent 200
        return _json(500, UNEXPECTED, invocation.aws_request_id)
    headers = dict(STREAM_HEADERS)
    if "tokensRemaining" in first.data:
        headers["X-Quota-Tokens-Remaining"] = str(first.data["tokensRemaining"])
        headers["X-Quota-Session-Requests-Remaining"] = str(first.data["sessionRequestsRemaining"])
    heartbeat = dependencies().settings.stream_heartbeat_seconds
    return StreamingResponse(
        _events(first, queue, producer, thread, heartbeat), media_type="text/event-stream", headers=headers
    )


def _hand_over(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Item], item: Item) -> None:
    """From the producer's thread to the response's task."""
    loop.call_soon_threadsafe(queue.put_nowait, item)


async def _events(
    first: Event,
    queue: asyncio.Queue[Item],
    producer: StreamProducer,
    thread: threading.Thread,
    heartbeat: float,
) -> AsyncIterator[bytes]:
    ended = False
    # One pending get() at a time, never cancelled by the heartbeat's timeout: an item that arrives
    # just as the timeout fires is read on the next round, not lost.
    getter: asyncio.Future[Item] | None = None
    try:
        yield first.encoded()
        while True:
            if getter is None:
                getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter}, timeout=heartbeat)
            if not done:
                yield HEARTBEAT
                continue
            item, getter = getter.result(), None
            if item is END:
                ended = True
                return
            if isinstance(item, Event):
                yield item.encoded()
    finally:
        if getter is not None:
            getter.cancel()
        # Not ended: the caller went away (or the response failed): stop the model call.
        await _stop(producer, thread, cancel=not ended)


async def _stop(producer: StreamProducer, thread: threading.Thread, *, cancel: bool = True) -> None:
    """Wait for the producer to settle the turn, even while this task is being cancelled: the invocation
    must not end (and the sandbox freeze) with the quota unsettled. Stopping closes the provider's
    stream, which may block a moment: off the event loop, as the wait is."""
    with anyio.CancelScope(shield=True):
        if cancel and thread.is_alive():
            await anyio.to_thread.run_sync(producer.cancellation.cancel)
        await anyio.to_thread.run_sync(thread.join)


def _json(status: int, message: str, request_id: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse({"message": message, "requestId": request_id}, status_code=status, headers=headers)


async def ready(_: Request) -> Response:
    return PlainTextResponse("ok")


def _middleware() -> list[Middleware]:
    try:
        origins = [str(o) for o in json.loads(os.environ.get("CORS_ALLOWED_ORIGINS") or "[]")]
    except ValueError:
        origins = []
    if not origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["POST", "OPTIONS"],
            allow_headers=ALLOW_HEADERS,
            expose_headers=EXPOSE_HEADERS,
            max_age=3600,
        )
    ]


def _routes() -> list[Route]:
    # The Web Adapter passes the path API Gateway saw; behind CloudFront it may keep the /api prefix.
    paths = ["/chat/stream", "/web/chat/stream", "/api/chat/stream", "/api/web/chat/stream"]
    return [Route(path, chat_stream, methods=["POST"]) for path in paths] + [Route("/ready", ready)]


app = Starlette(routes=_routes(), middleware=_middleware())
