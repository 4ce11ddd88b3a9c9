"""Guardrails on every provider: the user's message is checked before any model is asked, the reply before
it is stored or returned (README, "Guardrails").

A check answers a Verdict:
- NONE: the text goes on as it is.
- ANONYMIZED: the guardrail's text replaces it. The stage's guardrail anonymizes input only where
  transcripts are stored redacted, so that the model is asked what is stored.
- BLOCKED: the text goes no further. The guardrail's own message becomes the reply, and is stored as it.

A guardrail that cannot answer (throttled, down, misconfigured) fails open (the turn goes on unchecked and
GuardrailUnavailable is counted) or closed (GuardrailUnavailable: 503 with Retry-After, nothing lost),
as the stage's config says. Text never reaches a log line or a metric: only policy names do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from aws_lambda_powertools import Logger

from lambda_src.chat.models import ChatRequest, Intervention, Usage
from lambda_src.chat.providers.base import Completion
from lambda_src.chat.telemetry import record_guardrail_check, record_guardrail_unavailable

logger = Logger(child=True)
Source = Literal["INPUT", "OUTPUT"]
Action = Literal["NONE", "ANONYMIZED", "BLOCKED"]
GUARDRAIL_RETRY_AFTER_SECONDS = 5
# What the transcript keeps of a message the guardrail blocked: never the text itself.
BLOCKED_MESSAGE_STORED = "[withheld: the guardrail blocked this message]"
# Should a guardrail answer a block without its message (Bedrock always sends the configured one).
DEFAULT_BLOCKED_INPUT = "Sorry, I can't help with that request."
DEFAULT_BLOCKED_OUTPUT = "Sorry, the reply to this message was withheld."


class GuardrailUnavailable(Exception):
    """The guardrail gave no verdict and the stage fails closed: nothing was asked or stored for it."""

    retry_after = GUARDRAIL_RETRY_AFTER_SECONDS


@dataclass(frozen=True)
class Verdict:
    action: Action
    # As checked (NONE), with the sensitive parts masked (ANONYMIZED), or the guardrail's message (BLOCKED).
    text: str
    # What acted, as labels: a content filter's type (PROMPT_ATTACK, HATE...), DENIED_TOPIC, WORDS or PII.
    policies: tuple[str, ...] = ()


def intervention_of(verdict: Verdict, source: Source) -> Intervention:
    return Intervention(
        source="input" if source == "INPUT" else "output",
        action="blocked" if verdict.action == "BLOCKED" else "anonymized",
        policies=verdict.policies,
    )


def merged(interventions: list[Intervention]) -> tuple[Intervention, ...]:
    """One entry per (source, action), with every policy that took part: a streamed reply is checked
    in chunks, and each chunk may anonymize."""
    by_kind: dict[tuple[str, str], list[str]] = {}
    for item in interventions:
        policies = by_kind.setdefault((item.source, item.action), [])
        policies.extend(p for p in item.policies if p not in policies)
    return tuple(
        Intervention.model_validate({"source": source, "action": action, "policies": policies})
        for (source, action), policies in by_kind.items()
    )


class Guardrail(Protocol):
    """Amazon Bedrock's ApplyGuardrail (guardrail_bedrock.py) or the offline stand-in (guardrail_local.py).
    Raises GuardrailUnavailable when it cannot give a verdict."""

    def apply(self, text: str, source: Source) -> Verdict: ...


@dataclass(frozen=True)
class TurnGuard:
    """The stage's guardrail and what to do when it cannot answer."""

    guardrail: Guardrail
    fail_open: bool
    # A streamed reply is checked in chunks of about this many characters (guarded_stream.py).
    stream_chunk_chars: int = 400

    def check(self, text: str, source: Source) -> Verdict:
        started = time.monotonic()
        try:
            verdict = self.guardrail.apply(text, source)
        except GuardrailUnavailable as error:
            record_guardrail_unavailable(source, fail_open=self.fail_open)
            # The reason is the service's error code or botocore's exception name: never the request.
            extra = {"source": source, "reason": str(error)}
            if self.fail_open:
                logger.warning("guardrail unavailable; the turn goes on unchecked", extra=extra)
                return Verdict(action="NONE", text=text)
            logger.warning("guardrail unavailable; the turn is refused", extra=extra)
            raise
        record_guardrail_check(
            source, verdict.action, verdict.policies, milliseconds=(time.monotonic() - started) * 1000
        )
        return verdict


@dataclass(frozen=True)
class GuardedInput:
    """The message as the turn goes on with it, and the guardrail's answer if it blocked it."""

    request: ChatRequest
    blocked: Completion | None = None
    interventions: tuple[Intervention, ...] = ()


def check_input(request: ChatRequest, guard: TurnGuard | None) -> GuardedInput:
    """Before anything is stored or asked. A blocked message is stored as BLOCKED_MESSAGE_STORED and
    answered with the guardrail's message, without asking the model."""
    if guard is None:
        return GuardedInput(request)
    verdict = guard.check(request.message, "INPUT")
    if verdict.action == "NONE":
        return GuardedInput(request)
    interventions = (intervention_of(verdict, "INPUT"),)
    if verdict.action == "ANONYMIZED":
        return GuardedInput(request.model_copy(update={"message": verdict.text}), interventions=interventions)
    answer = Completion(
        text=verdict.text or DEFAULT_BLOCKED_INPUT,
        usage=Usage(),
        model="",
        provider="guardrail",
        interventions=interventions,
    )
    withheld = request.model_copy(update={"message": BLOCKED_MESSAGE_STORED})
    return GuardedInput(withheld, blocked=answer, interventions=interventions)


def check_output(completion: Completion, guard: TurnGuard | None) -> Completion:
    """The model's reply as it may be stored and returned."""
    if guard is None:
        return completion
    verdict = guard.check(completion.text, "OUTPUT")
    if verdict.action == "NONE":
        return completion
    text = verdict.text or (DEFAULT_BLOCKED_OUTPUT if verdict.action == "BLOCKED" else completion.text)
    return replace(
        completion, text=text, interventions=(*completion.interventions, intervention_of(verdict, "OUTPUT"))
    )
