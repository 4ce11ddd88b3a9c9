"""One chat turn, with its collaborators passed in so tests can hand it moto tables and fake models.

validate (done by the caller) -> load history -> quota admission -> cache lookup (first turns)
-> store the user's message -> ask the model (deadline-bounded, failover) -> settle the quota
-> cache and store the reply.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aws_lambda_powertools import Logger

from lambda_src.chat.cache import ResponseCache, cache_key
from lambda_src.chat.history import StoreUnavailable, TurnKey
from lambda_src.chat.models import ChatReply, ChatRequest, Message, Usage
from lambda_src.chat.providers.base import ChatModel, Completion, LlmUnavailable
from lambda_src.chat.quotas import Admission, Quotas, Tier, estimate_tokens

logger = Logger(child=True)

# Time kept back from the Lambda's remaining time for settling, caching and storing the reply and for
# the idempotency record: a few DynamoDB writes, each bounded by the client timeouts in dependencies.py.
RESPONSE_MARGIN_SECONDS = 3.0
# More than resilience.MIN_ATTEMPT_SECONDS, so a granted budget always allows one attempt.
MIN_LLM_BUDGET_SECONDS = 1.5


class History(Protocol):
    """What a turn needs of the conversation store (lambda_src.chat.history.ConversationHistory)."""

    def recent(self, owner: str, session_id: str, *, turns: int, now: float) -> list[Message]: ...

    def append(
        self,
        key: TurnKey,
        message: Message,
        *,
        index: int,
        usage: Usage | None = None,
        model: str | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class TurnContext:
    owner: str
    turn_id: str
    system_prompt: str
    history_turns: int
    llm_timeout_seconds: float
    max_output_tokens: int = 512
    tier: Tier | None = None


@dataclass(frozen=True)
class TurnOutcome:
    reply: ChatReply
    completion: Completion
    reply_stored: bool
    cache_hit: bool = False
    admission: Admission | None = None


def llm_budget(configured_timeout: float, remaining_seconds: float) -> float:
    """The model gets its configured time, cut so that the whole request ends in time."""
    return min(configured_timeout, remaining_seconds - RESPONSE_MARGIN_SECONDS)


def reply_to(
    request: ChatRequest,
    *,
    context: TurnContext,
    history: History,
    llm: ChatModel,
    clock: Callable[[], float],
    remaining_seconds: Callable[[], float],
    quotas: Quotas | None = None,
    cache: ResponseCache | None = None,
) -> TurnOutcome:
    # At least the last message is read, so a retry is recognised even when no history is sent.
    recent = history.recent(
        context.owner, request.sessionId, turns=max(context.history_turns, 1), now=clock()
    )
    user_message = Message(role="user", content=request.message)
    # A retry of a turn whose reply never came (the 502/503 said the message was saved) answers the
    # stored message instead of storing it twice.
    retried = bool(recent) and recent[-1] == user_message
    if retried:
        recent = recent[:-1]
    past = recent[-2 * context.history_turns :] if context.history_turns else []
    prompt = [Message(role="system", content=context.system_prompt)] if context.system_prompt else []
    messages = [*prompt, *past, user_message]

    key = None
    cached = None
    if cache is not None and not past:
        key = cache_key(
            request.message,
            provider=llm.name,
            model=llm.model,
            system_prompt=context.system_prompt,
            client=None if cache.shared else context.owner,
        )
        cached = cache.get(key)

    admission = None
    if quotas is not None and context.tier is not None:
        tokens = 0 if cached else estimate_tokens(messages, context.max_output_tokens)
        admission = quotas.admit(context.owner, request.sessionId, context.tier, tokens=tokens)

    turn = TurnKey(
        owner=context.owner,
        session_id=request.sessionId,
        turn_id=context.turn_id,
        created_ms=int(clock() * 1000),
    )
    try:
        if not retried:
            # Stored before the model is asked, so a failing provider never loses what the user wrote.
            history.append(turn, user_message, index=0)
        completion = cached if cached is not None else _ask(llm, messages, context, remaining_seconds)
    except BaseException:
        # Nothing was answered: the request and its reservation do not count.
        _release(quotas, admission)
        raise

    if cached is None:
        admission = _settle(quotas, admission, completion, context)
        if cache is not None and key is not None and completion.provider == llm.name:
            cache.put(key, completion)

    reply_stored = True
    try:
        history.append(
            turn,
            Message(role="assistant", content=completion.text),
            index=1,
            usage=completion.usage,
            model=completion.model,
        )
    except StoreUnavailable:
        # The user already paid for this answer: hand it over; the handler counts the lost write.
        logger.exception("reply could not be stored", extra={"turn_id": context.turn_id})
        reply_stored = False
    reply = ChatReply(sessionId=request.sessionId, reply=completion.text, usage=completion.usage)
    return TurnOutcome(
        reply=reply,
        completion=completion,
        reply_stored=reply_stored,
        cache_hit=cached is not None,
        admission=admission,
    )


def _ask(
    llm: ChatModel, messages: list[Message], context: TurnContext, remaining_seconds: Callable[[], float]
) -> Completion:
    budget = llm_budget(context.llm_timeout_seconds, remaining_seconds())
    if budget < MIN_LLM_BUDGET_SECONDS:
        raise LlmUnavailable("no_time_left")
    return llm.complete(messages, deadline=time.monotonic() + budget)


def _release(quotas: Quotas | None, admission: Admission | None) -> None:
    if quotas is None or admission is None:
        return
    try:
        quotas.release(admission)
    except StoreUnavailable:
        # Never hide the error that ended the turn behind a bookkeeping one.
        logger.exception("quota reservation could not be released")


def _settle(
    quotas: Quotas | None, admission: Admission | None, completion: Completion, context: TurnContext
) -> Admission | None:
    if quotas is None or admission is None or context.tier is None:
        return admission
    # Providers that report no usage are charged the reservation: an unknown cost is not a free one.
    used = completion.usage.totalTokens or admission.reserved_tokens
    try:
        return quotas.settle(admission, used, daily_tokens=context.tier.daily_tokens)
    except StoreUnavailable:
        # The answer exists and was paid for: deliver it; the reservation stays charged.
        logger.exception("quota could not be settled")
        return admission
