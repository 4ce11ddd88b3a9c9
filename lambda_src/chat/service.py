"""One chat turn, with its collaborators passed in so tests can hand it moto tables and fake models."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aws_lambda_powertools import Logger

from lambda_src.chat.history import StoreUnavailable, TurnKey
from lambda_src.chat.llm import ChatModel, Completion, LlmUnavailable
from lambda_src.chat.models import ChatReply, ChatRequest, Message, Usage

logger = Logger(child=True)

# Time kept back from the Lambda's remaining time for storing the reply and answering.
RESPONSE_MARGIN_SECONDS = 2.0
MIN_LLM_BUDGET_SECONDS = 1.0


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


def llm_budget(configured_timeout: float, remaining_seconds: float) -> float:
    """The LLM call gets its configured timeout, cut so that the whole request ends in time."""
    return min(configured_timeout, remaining_seconds - RESPONSE_MARGIN_SECONDS)


@dataclass(frozen=True)
class TurnOutcome:
    reply: ChatReply
    completion: Completion
    reply_stored: bool


def reply_to(
    request: ChatRequest,
    *,
    context: TurnContext,
    history: History,
    llm: ChatModel,
    clock: Callable[[], float],
    remaining_seconds: Callable[[], float],
) -> TurnOutcome:
    past = history.recent(context.owner, request.sessionId, turns=context.history_turns, now=clock())
    key = TurnKey(
        owner=context.owner,
        session_id=request.sessionId,
        turn_id=context.turn_id,
        created_ms=int(clock() * 1000),
    )
    user_message = Message(role="user", content=request.message)
    if past and past[-1] == user_message:
        # A retry of a turn whose reply never came (the 503 said the message was saved): answer the
        # stored message instead of storing it twice.
        past = past[:-1]
    else:
        # Stored before the model is asked, so a failing provider never loses what the user wrote.
        history.append(key, user_message, index=0)

    budget = llm_budget(context.llm_timeout_seconds, remaining_seconds())
    if budget < MIN_LLM_BUDGET_SECONDS:
        raise LlmUnavailable("no_time_left")
    prompt = [Message(role="system", content=context.system_prompt)] if context.system_prompt else []
    completion = llm.complete([*prompt, *past, user_message], deadline=time.monotonic() + budget)

    reply_stored = True
    try:
        history.append(
            key,
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
    return TurnOutcome(reply=reply, completion=completion, reply_stored=reply_stored)
