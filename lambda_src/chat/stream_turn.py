"""One streamed chat turn: the same admission, quota, cache, history and erasure rules as POST /chat
(service.py), with the reply handed out piece by piece through ``emit``.

    admit -> emit("start") -> emit("delta") per piece -> store the reply, settle -> emit("done")

An error raised before "start" is a refusal (the caller answers it with an HTTP status); one raised
after it ends the stream with an ``error`` event. A reply cut part-way (StreamCut) or abandoned by its
caller (StreamStopped) is not stored: the user's message stays, a retry answers it and stores it once,
and the tokens the model spent are settled (session_store.cut).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from lambda_src.chat.dynamo import StoreUnavailable
from lambda_src.chat.guarded_stream import GuardedPieces
from lambda_src.chat.guardrail import DEFAULT_BLOCKED_OUTPUT, merged
from lambda_src.chat.models import ChatRequest, Message, Usage
from lambda_src.chat.providers.base import ChatModel, Completion, LlmUnavailable, ReplyStream, StreamLimits
from lambda_src.chat.quotas import Admission, estimate_tokens
from lambda_src.chat.service import (
    MIN_LLM_BUDGET_SECONDS,
    RESPONSE_MARGIN_SECONDS,
    Admitted,
    TurnContext,
    TurnOutcome,
    abandon,
    admit,
    reply_of,
    with_interventions,
)
from lambda_src.chat.session_store import SessionStore
from lambda_src.chat.started_stream import StartedStream, StreamStopped
from lambda_src.chat.telemetry import record_stream_end, record_stream_start

logger = Logger(child=True)
Emit = Callable[[str, dict[str, Any]], None]


class StreamingChat(ChatModel, Protocol):
    def stream(
        self,
        messages: list[Message],
        *,
        limits: StreamLimits,
        on_open: Callable[[ReplyStream], None] | None = None,
        stopped: Callable[[], bool] | None = None,
    ) -> StartedStream: ...


@dataclass(frozen=True)
class StreamTiming:
    """From stage config: how long the first piece may take, the whole reply, and the longest silence
    between two pieces."""

    first_token_seconds: float
    reply_seconds: float
    idle_seconds: float
    # How long a resend of a running message waits for its answer before 409: nothing can be sent
    # while it waits, so it must stay below CloudFront's origin read timeout.
    admission_wait_seconds: float = 10.0


class Cancellation:
    """Set when the caller goes away; stops the model call at once (from any thread)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    def is_set(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        with self._lock:
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback()


def done_event(outcome: TurnOutcome) -> dict[str, Any]:
    data: dict[str, Any] = {"sessionId": outcome.reply.sessionId, "usage": outcome.reply.usage.model_dump()}
    if outcome.reply.messageId:
        data["messageId"] = outcome.reply.messageId
    if outcome.reply.guardrail:
        data["guardrail"] = [i.model_dump(mode="json") for i in outcome.reply.guardrail]
    if outcome.admission is not None:
        data["quota"] = quota_of(outcome.admission)
    return data


def quota_of(admission: Admission) -> dict[str, int]:
    return {
        "tokensRemaining": max(admission.tokens_remaining, 0),
        "sessionRequestsRemaining": max(admission.session_requests_remaining, 0),
    }


def stream_turn(
    request: ChatRequest,
    *,
    context: TurnContext,
    store: SessionStore,
    llm: StreamingChat,
    timing: StreamTiming,
    clock: Callable[[], float],
    remaining_seconds: Callable[[], float],
    emit: Emit,
    cancellation: Cancellation,
    received_at: float,
) -> TurnOutcome:
    """``received_at``: the ``time.monotonic()`` instant the request arrived (time to first token
    counts from it)."""
    admitted = admit(
        request,
        context=context,
        store=store,
        llm=llm,
        clock=clock,
        remaining_seconds=remaining_seconds,
        answer_within=lambda: _reply_budget(timing, remaining_seconds()) + RESPONSE_MARGIN_SECONDS,
        max_wait_seconds=timing.admission_wait_seconds,
    )
    start = {"sessionId": request.sessionId, "requestId": context.turn_id}
    if isinstance(admitted, TurnOutcome):  # the same message's running turn answered it: that answer
        emit("start", start)
        emit("delta", {"text": admitted.reply.reply})
        emit("done", done_event(admitted))
        return admitted
    emit("start", {**start, **quota_of(admitted.turn.admission)})
    cached = admitted.turn.snapshot.cached
    ready = admitted.blocked or cached  # the guardrail's answer to a blocked message, or the cached one
    if ready is not None:
        emit("delta", {"text": ready.text})
        completion = ready
    else:
        completion = _stream_reply(
            admitted, store, llm, timing, remaining_seconds, emit, cancellation, received_at, context
        )
    completion = with_interventions(completion, admitted)
    reply = reply_of(request, completion, admitted.turn)
    body = reply.to_json()
    admission, stored = store.finish(admitted.turn, completion, body=body, cached=ready is not None)
    if not stored:
        logger.error("reply could not be stored", extra={"turn_id": context.turn_id})
    outcome = TurnOutcome(
        reply=reply,
        body=body,
        completion=completion,
        reply_stored=stored,
        cache_hit=cached is not None,
        admission=admission,
        tier=admitted.turn.tier.name,
    )
    emit("done", done_event(outcome))
    return outcome


def _reply_budget(timing: StreamTiming, remaining: float) -> float:
    return min(timing.reply_seconds, remaining - RESPONSE_MARGIN_SECONDS)


def _stream_reply(
    admitted: Admitted,
    store: SessionStore,
    llm: StreamingChat,
    timing: StreamTiming,
    remaining_seconds: Callable[[], float],
    emit: Emit,
    cancellation: Cancellation,
    received_at: float,
    context: TurnContext,
) -> Completion:
    """The model's reply, handed out as it comes; where the stage has a guardrail, in the chunks it
    passed (guarded_stream.py). A chunk it blocks ends the reply: the caller is sent a ``guardrail`` event
    whose text replaces what it was shown, and that text is the reply stored."""
    turn = admitted.turn
    budget = _reply_budget(timing, remaining_seconds())
    now = time.monotonic()
    limits = StreamLimits(
        first_token_by=now + min(timing.first_token_seconds, budget),
        deadline=now + budget,
        idle_seconds=timing.idle_seconds,
    )
    asked_at = time.monotonic()
    try:
        if budget < MIN_LLM_BUDGET_SECONDS:
            raise LlmUnavailable("no_time_left")
        # A caller that goes away while the first piece is awaited closes the provider's stream too.
        started = llm.stream(
            admitted.messages,
            limits=limits,
            on_open=lambda stream: cancellation.on_cancel(stream.close),
            stopped=cancellation.is_set,
        )
    except BaseException:
        abandon(store, turn)
        raise
    cancellation.on_cancel(started.close)
    first_token_ms = (time.monotonic() - received_at) * 1000
    record_stream_start(started.provider, first_token_ms)
    pieces: list[str] = []
    guarded = GuardedPieces(started, context.guard) if context.guard is not None else None
    try:
        for piece in guarded if guarded is not None else started:
            pieces.append(piece)
            emit("delta", {"text": piece})
    except BaseException as error:  # a cut, the caller gone, or anything unforeseen: settle, then raise
        started.close()
        used = _usage(started, admitted.messages, pieces).totalTokens
        outcome = "stopped" if isinstance(error, StreamStopped) else "incomplete"
        record_stream_end(started.provider, outcome, output_tokens=0, seconds=0)
        logger.warning(
            "streamed reply ended part-way",
            extra={"outcome": outcome, "provider": started.provider, "reply_chars": sum(map(len, pieces))},
        )
        try:
            store.cut(turn, used_tokens=used)
        except StoreUnavailable:
            logger.exception("the tokens of a cut reply could not be settled")
        raise
    blocked = guarded is not None and guarded.blocked is not None
    if guarded is not None and guarded.blocked is not None:
        started.close()
        # Settled on what the model had sent when it was stopped (it reported no usage).
        usage = _usage(started, admitted.messages, [guarded.received])
        pieces = [guarded.blocked.text or DEFAULT_BLOCKED_OUTPUT]
        notes = [i.model_dump(mode="json") for i in merged(guarded.interventions)]
        emit("guardrail", {"text": pieces[0], "guardrail": notes})
    else:
        usage = _usage(started, admitted.messages, pieces)
    record_stream_end(
        started.provider,
        "blocked" if blocked else "complete",
        output_tokens=usage.outputTokens,
        seconds=(started.finished_at or time.monotonic()) - started.started_at,
    )
    return Completion(
        text="".join(pieces),
        usage=usage,
        model=started.model,
        provider=started.provider,
        latency_ms=(time.monotonic() - asked_at) * 1000,
        interventions=merged(guarded.interventions) if guarded is not None else (),
    )


def _usage(started: StartedStream, messages: list[Message], pieces: list[str]) -> Usage:
    """What the provider reported; an upper estimate where it reported nothing (a cut reply)."""
    if started.usage is not None and started.usage.totalTokens:
        return started.usage
    return Usage.of(
        estimate_tokens(messages, 0),
        estimate_tokens([Message(role="assistant", content="".join(pieces))], 0),
    )
