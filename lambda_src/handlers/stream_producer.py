"""The thread that runs one streamed turn and hands its events to the ASGI response (chat_stream.py).

Everything blocking (DynamoDB, the provider's socket) runs here, off the event loop. What it hands over,
in order: one ``Refused`` (an HTTP status and JSON body, when the turn ended before its first event), or
the events ``start``, ``delta``... and exactly one ``done`` or ``error``; then ``END``.

With an Idempotency-Key the whole turn runs inside Powertools idempotency: a replay of a finished
stream gets the stored reply as one ``delta``; a key still in use is refused with 409 before any byte;
a stream that did not finish leaves no record, so the same key may ask again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from aws_lambda_powertools import Logger

from lambda_src.chat.dependencies import dependencies
from lambda_src.chat.error_answers import ErrorAnswer, answer_for
from lambda_src.chat.models import ChatReply, ChatRequest
from lambda_src.chat.started_stream import StreamCut, StreamStopped
from lambda_src.chat.stream_turn import Cancellation, StreamingChat, StreamTiming, done_event, stream_turn
from lambda_src.chat.telemetry import count, metrics, record_turn, version_metric
from lambda_src.handlers.http import once

logger = Logger(child=True)
CUT = "The reply was cut off before it finished and was not kept; your message was saved. Please retry."


@dataclass(frozen=True)
class Event:
    name: str
    data: dict[str, Any]

    def encoded(self) -> bytes:
        """As server-sent event bytes: ASCII JSON, so no character can split across writes."""
        return f"event: {self.name}\ndata: {json.dumps(self.data, separators=(',', ':'))}\n\n".encode()


@dataclass(frozen=True)
class Refused:
    answer: ErrorAnswer
    request_id: str


END = object()
Item = Event | Refused | object


class Invocation:
    """The Lambda invocation a request belongs to, as the Web Adapter forwards it (x-amzn-lambda-context):
    its request id and deadline. Stands in for LambdaContext where Powertools idempotency wants one."""

    def __init__(self, request_id: str, deadline: float) -> None:
        self.aws_request_id = request_id
        self._deadline = deadline  # epoch seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))

    def remaining_seconds(self) -> float:
        return self.get_remaining_time_in_millis() / 1000


@dataclass
class StreamProducer:
    request: ChatRequest
    owner: str
    route: str
    idempotency_key: str | None
    body: str
    invocation: Invocation
    received_at: float
    put: Callable[[Item], None]
    cancellation: Cancellation = field(default_factory=Cancellation)
    _started: bool = False
    _text_sent: bool = False
    _ended: bool = False  # done or error is out: nothing more is sent

    def run(self) -> None:
        try:
            logger.thread_safe_append_keys(request_id=self.invocation.aws_request_id, route=self.route)
            self._run()
        finally:
            try:
                metrics.flush_metrics()
                logger.thread_safe_clear_keys()
            finally:
                self.put(END)

    def _emit(self, name: str, data: dict[str, Any]) -> None:
        if self._ended:
            # A failure after done (saving the idempotency record, the turn's figures): the client has
            # its whole, stored reply; a second ending would contradict it.
            logger.warning("event after the stream ended, not sent", extra={"event": name})
            return
        self._started = True
        self._text_sent = self._text_sent or name == "delta"
        self._ended = name in ("done", "error")
        self.put(Event(name, data))

    def _run(self) -> None:
        deps = dependencies()
        ran = False

        def turn() -> dict[str, Any]:
            nonlocal ran
            ran = True
            settings = deps.settings
            outcome = stream_turn(
                self.request,
                context=deps.turn_context(self.owner, self.invocation.aws_request_id),
                store=deps.store,
                llm=cast(StreamingChat, deps.llm),
                timing=StreamTiming(
                    first_token_seconds=settings.stream_first_token_seconds,
                    reply_seconds=settings.stream_reply_seconds,
                    idle_seconds=settings.stream_idle_seconds,
                    admission_wait_seconds=settings.stream_admission_wait_seconds,
                ),
                clock=time.time,
                remaining_seconds=self.invocation.remaining_seconds,
                emit=self._emit,
                cancellation=self.cancellation,
                received_at=self.received_at,
            )
            if outcome.resend:
                count("ResendsAnsweredOnce")
            else:
                record_turn(
                    outcome,
                    client=self.owner,
                    session_id=self.request.sessionId,
                    message_chars=len(self.request.message),
                )
            return {"body": outcome.body, "done": done_event(outcome)}

        try:
            result = once(
                turn,
                owner=self.owner,
                session_id=self.request.sessionId,
                route=self.route,
                key=self.idempotency_key,
                body=self.body,
                lambda_context=self.invocation,  # type: ignore[arg-type]
            )
            if not ran:  # a replay: the stored reply, whole
                count("StreamReplays")
                reply = ChatReply.model_validate_json(result["body"])
                start = {"sessionId": reply.sessionId, "requestId": self.invocation.aws_request_id}
                self._emit("start", {**start, "replayed": True})
                self._emit("delta", {"text": reply.reply})
                self._emit("done", result["done"])
        except StreamStopped:
            logger.info("caller went away; the turn was settled")
        except Exception as error:  # every error answers: a status before the first event, an event after
            if self._ended:
                logger.exception("failed after the stream ended")
                return
            answer = answer_for(error, degraded_reply=deps.settings.degraded_reply)
            if answer.status == 500:
                version_metric("StreamInternalErrors", 1)  # a bug: rolls a deployment back
            if not self._started:
                self.put(Refused(answer, self.invocation.aws_request_id))
                return
            self._emit(
                "error",
                {
                    "message": CUT if isinstance(error, StreamCut) else answer.message,
                    "retryable": answer.retryable,
                    "retryAfter": answer.retry_after,
                    "incomplete": self._text_sent,
                    "requestId": self.invocation.aws_request_id,
                },
            )
