"""One chat turn, with its collaborators passed in so tests can hand it moto tables and fake models.

read the session (one call) -> admit: quota, the user's message, the running mark (one call)
-> ask the model (deadline-bounded, failover), or take the cached answer
-> finish: the reply, the settled quota, the answer for waiting resends (one call).

The same message sent again while its turn runs waits for that turn's answer instead of asking the
model twice; if the wait would outlast the request, TurnInProgress (409 with Retry-After).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from aws_lambda_powertools import Logger

from lambda_src.chat.cache import cache_key
from lambda_src.chat.dynamo import StoreUnavailable
from lambda_src.chat.feedback import message_id
from lambda_src.chat.guardrail import TurnGuard, check_input, check_output
from lambda_src.chat.models import ChatReply, ChatRequest, Intervention, Message, Usage
from lambda_src.chat.providers.base import ChatModel, Completion, LlmUnavailable
from lambda_src.chat.quotas import Admission, Tier, estimate_tokens
from lambda_src.chat.session_store import SessionStore
from lambda_src.chat.turns import StateChanged, Turn, TurnInProgress

logger = Logger(child=True)

# Time kept back from the Lambda's remaining time for settling and storing the reply and for the
# idempotency record: a few DynamoDB calls, each bounded by the client timeouts in dependencies.py.
RESPONSE_MARGIN_SECONDS = 3.0
# More than resilience.MIN_ATTEMPT_SECONDS, so a granted budget always allows one attempt.
MIN_LLM_BUDGET_SECONDS = 1.5
# A running turn holds its mark this much longer than its own invocation can last.
LEASE_MARGIN_SECONDS = 5.0
WAIT_POLL_SECONDS = 0.25
MAX_ADMIT_ATTEMPTS = 3


@dataclass(frozen=True)
class TurnContext:
    owner: str
    turn_id: str
    system_prompt: str
    history_turns: int
    llm_timeout_seconds: float
    tiers: Callable[[str | None], Tier]
    max_output_tokens: int = 512
    # An item that must still exist when the turn is admitted: a job's record (erased with its session).
    requires: dict[str, str] | None = None
    # The stage's guardrail, on the message before anything is stored or asked and on the reply.
    guard: TurnGuard | None = None


@dataclass(frozen=True)
class TurnOutcome:
    reply: ChatReply
    body: str  # the answer as sent: a resend that waited for this turn gets these very bytes
    completion: Completion
    reply_stored: bool
    cache_hit: bool = False
    admission: Admission | None = None
    resend: bool = False  # the answer of the same message's running turn, waited for
    tier: str = "unknown"  # the caller's usage tier, for the usage figures


def llm_budget(configured_timeout: float, remaining_seconds: float) -> float:
    """The model gets its configured time, cut so that the whole request ends in time."""
    return min(configured_timeout, remaining_seconds - RESPONSE_MARGIN_SECONDS)


@dataclass(frozen=True)
class Admitted:
    """A turn admitted to ask the model (or to take the cached answer), with what the model is sent."""

    turn: Turn
    messages: list[Message]
    # The guardrail's answer to a blocked message: the model is not asked.
    blocked: Completion | None = None
    # What the guardrail did to the message (a blocked or anonymized one).
    interventions: tuple[Intervention, ...] = ()


def admit(
    request: ChatRequest,
    *,
    context: TurnContext,
    store: SessionStore,
    llm: ChatModel,
    clock: Callable[[], float],
    remaining_seconds: Callable[[], float],
    answer_within: Callable[[], float],
    max_wait_seconds: float | None = None,
) -> Admitted | TurnOutcome:
    """Read the session and admit the turn: Admitted, or the answer of the same message's running turn
    (waited for, at most ``max_wait_seconds`` if given, else while this request can still answer).
    ``answer_within()`` is how long resends are told this turn may take. The guardrail sees the message
    first: from there on the turn goes on with the message as the guardrail left it."""
    guarded = check_input(request, context.guard)
    request = guarded.request
    blocked = guarded.blocked is not None
    for _ in range(MAX_ADMIT_ATTEMPTS):
        snapshot = store.read(
            context.owner,
            request.sessionId,
            request.message,
            cache_key=None if blocked else _cache_key(request, context, store, llm),
        )
        if snapshot.running is not None:
            waited = _wait_for_first(request, context, store, clock, remaining_seconds, max_wait_seconds)
            if waited is not None:
                return waited
            continue  # the first turn ended without an answer: answer it here
        past = snapshot.history[-2 * context.history_turns :] if context.history_turns else []
        messages = [
            *([Message(role="system", content=context.system_prompt)] if context.system_prompt else []),
            *past,
            Message(role="user", content=request.message),
        ]
        tier = context.tiers(snapshot.tier_name)
        try:
            turn = store.admit(
                snapshot,
                turn_id=context.turn_id,
                tier=tier,
                tokens=0
                if snapshot.cached or blocked
                else estimate_tokens(messages, context.max_output_tokens),
                # The mark holds as long as this invocation can last; resends are told the turn's own
                # deadline (the model's budget and the time to store the answer).
                lease_seconds=remaining_seconds() + LEASE_MARGIN_SECONDS,
                answer_within=answer_within(),
                cache_key=None if snapshot.history or blocked else _cache_key(request, context, store, llm),
                requires=context.requires,
            )
        except StateChanged:
            continue
        except TurnInProgress:
            waited = _wait_for_first(request, context, store, clock, remaining_seconds, max_wait_seconds)
            if waited is not None:
                return waited
            continue
        return Admitted(turn, messages, blocked=guarded.blocked, interventions=guarded.interventions)
    raise StoreUnavailable("the session kept changing")


def reply_to(
    request: ChatRequest,
    *,
    context: TurnContext,
    store: SessionStore,
    llm: ChatModel,
    clock: Callable[[], float],
    remaining_seconds: Callable[[], float],
) -> TurnOutcome:
    admitted = admit(
        request,
        context=context,
        store=store,
        llm=llm,
        clock=clock,
        remaining_seconds=remaining_seconds,
        answer_within=lambda: (
            llm_budget(context.llm_timeout_seconds, remaining_seconds()) + RESPONSE_MARGIN_SECONDS
        ),
    )
    if isinstance(admitted, TurnOutcome):
        return admitted
    turn = admitted.turn
    cached = turn.snapshot.cached
    try:
        if admitted.blocked is not None:
            completion = admitted.blocked
        elif cached is not None:
            completion = cached
        else:
            completion = check_output(_ask(llm, admitted.messages, context, remaining_seconds), context.guard)
    except BaseException:
        abandon(store, turn)
        raise
    completion = with_interventions(completion, admitted)
    reply = reply_of(request, completion, turn)
    body = reply.to_json()
    # A blocked message costs no tokens and, like a cached answer, is not cached again.
    spent_nothing = cached is not None or admitted.blocked is not None
    admission, stored = store.finish(turn, completion, body=body, cached=spent_nothing)
    if not stored:
        logger.error("reply could not be stored", extra={"turn_id": context.turn_id})
    return TurnOutcome(
        reply=reply,
        body=body,
        completion=completion,
        reply_stored=stored,
        cache_hit=cached is not None,
        admission=admission,
        tier=turn.tier.name,
    )


def with_interventions(completion: Completion, admitted: Admitted) -> Completion:
    """The reply with the guardrail's interventions on the message first, then on the reply."""
    if not admitted.interventions or admitted.blocked is not None:
        return completion  # a blocked message's answer carries its interventions already
    return replace(completion, interventions=(*admitted.interventions, *completion.interventions))


def reply_of(request: ChatRequest, completion: Completion, turn: Turn) -> ChatReply:
    return ChatReply(
        sessionId=request.sessionId,
        reply=completion.text,
        usage=completion.usage,
        messageId=message_id(turn.created_ms, turn.turn_id),
        guardrail=completion.interventions or None,
    )


def _cache_key(request: ChatRequest, context: TurnContext, store: SessionStore, llm: ChatModel) -> str | None:
    """The cache key of the message as a first turn (used only if the session has no history)."""
    if store.cache is None:
        return None
    return cache_key(
        request.message,
        provider=llm.name,
        model=llm.model,
        system_prompt=context.system_prompt,
        client=None if store.cache.shared else context.owner,
    )


def _wait_for_first(
    request: ChatRequest,
    context: TurnContext,
    store: SessionStore,
    clock: Callable[[], float],
    remaining_seconds: Callable[[], float],
    max_wait_seconds: float | None = None,
) -> TurnOutcome | None:
    """The first answer to the same message, once its turn finishes; None if that turn ended without
    one; TurnInProgress if it would not finish while this request can still answer (or wait)."""
    wait = remaining_seconds() - RESPONSE_MARGIN_SECONDS
    if max_wait_seconds is not None:
        wait = min(wait, max_wait_seconds)
    give_up = time.monotonic() + wait
    while True:
        body, answer_by = store.answer_of(context.owner, request.sessionId, request.message)
        if body is not None:
            reply = ChatReply.model_validate_json(body)
            logger.info("resend answered with the running turn's answer")
            return TurnOutcome(
                reply=reply,
                body=body,
                completion=Completion(text=reply.reply, usage=Usage(), model="", provider=""),
                reply_stored=True,
                resend=True,
            )
        if answer_by is None:
            return None
        if time.monotonic() + WAIT_POLL_SECONDS > give_up:
            raise TurnInProgress(answer_by=answer_by, now=clock())
        time.sleep(WAIT_POLL_SECONDS)


def _ask(
    llm: ChatModel, messages: list[Message], context: TurnContext, remaining_seconds: Callable[[], float]
) -> Completion:
    budget = llm_budget(context.llm_timeout_seconds, remaining_seconds())
    if budget < MIN_LLM_BUDGET_SECONDS:
        raise LlmUnavailable("no_time_left")
    return llm.complete(messages, deadline=time.monotonic() + budget)


def abandon(store: SessionStore, turn: Turn) -> None:
    try:
        store.abandon(turn)
    except StoreUnavailable:
        # Never hide the error that ended the turn behind a bookkeeping one.
        logger.exception("quota reservation could not be released")
