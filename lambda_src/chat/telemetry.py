"""Metrics (CloudWatch EMF through Powertools) shared by the handler and the resilience layer."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

if TYPE_CHECKING:
    from lambda_src.chat.service import TurnOutcome

logger = Logger(child=True)
metrics = Metrics()
F = TypeVar("F", bound=Callable[..., Any])


def _unchanged(function: F) -> F:
    return function


def tracing_decorators() -> tuple[Callable[[F], F], Callable[[F], F]]:
    """(handler decorator, method decorator) of the Powertools Tracer, or no-ops when it is off.

    The X-Ray SDK behind the Tracer costs about 150 ms of cold start, so it is imported only where
    the stage wants SDK subsegments (POWERTOOLS_TRACE_DISABLED unset). Lambda's own active tracing
    records the invocation either way. Neither the reply nor an error's text may become trace
    metadata, hence capture_response and capture_error off.
    """
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() == "true":
        return _unchanged, _unchanged
    from aws_lambda_powertools import Tracer

    tracer = Tracer()
    return (
        tracer.capture_lambda_handler(capture_response=False, capture_error=False),
        tracer.capture_method(capture_response=False, capture_error=False),
    )


# Events of FailoverChat and what each becomes: a metric, dimensioned by provider (and kind).
_EVENT_METRICS = {
    "provider_error": "ProviderErrors",
    "circuit_open": "CircuitOpenSkips",
    "circuit_opened": "CircuitOpened",
    "fallback_used": "FallbackUsed",
    "provider_disabled": "DisabledProviderSkips",
}


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)


def record_event(event: str, **fields: object) -> None:
    """A dimensioned metric per event; ids and labels only, never text from a provider or user."""
    name = _EVENT_METRICS.get(event)
    if name is None:
        return
    # Undimensioned twins for alarms (an alarm cannot sum over every provider and kind).
    if event == "provider_error":
        count("LlmProviderErrors")
    elif event == "circuit_opened":
        count("CircuitOpened")
    with single_metric(name=name, unit=MetricUnit.Count, value=1) as metric:
        for dimension in ("provider", "kind"):
            if dimension in fields:
                metric.add_dimension(name=dimension, value=str(fields[dimension]))
    if event in ("provider_error", "circuit_opened"):
        logger.warning(event, extra={k: str(v) for k, v in fields.items()})


def _metrics_disabled() -> bool:
    """single_metric() ignores POWERTOOLS_METRICS_DISABLED, which Metrics() honours (make dev, the bench)."""
    return os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true"


def dimensioned_metric(
    name: str, dimensions: dict[str, str], value: float = 1, unit: MetricUnit = MetricUnit.Count
) -> None:
    """A metric with dimensions of its own, published at once; labels only, never text."""
    if _metrics_disabled():
        return
    with single_metric(name=name, unit=unit, value=value) as metric:
        for dimension, label in dimensions.items():
            metric.add_dimension(name=dimension, value=label)


def provider_metric(name: str, provider: str, value: float, unit: MetricUnit = MetricUnit.Count) -> None:
    """A metric of one provider (dimension ``provider``), published at once."""
    dimensioned_metric(name, {"provider": provider}, value, unit)


def record_guardrail_check(
    source: str, action: str, policies: tuple[str, ...], *, milliseconds: float
) -> None:
    """One guardrail verdict: its latency, and an intervention counted once per policy that acted
    (dimensions source, action and policy), with an undimensioned total for the alarm and the dashboard."""
    count("GuardrailChecks")
    count("GuardrailLatency", milliseconds, MetricUnit.Milliseconds)
    if action == "NONE":
        return
    count("GuardrailInterventions")
    for policy in policies or ("UNNAMED",):
        dimensioned_metric(
            "GuardrailInterventions",
            {"source": source.lower(), "action": action.lower(), "policy": policy},
        )
    logger.info(
        "guardrail intervened",
        extra={"source": source.lower(), "action": action.lower(), "policies": list(policies)},
    )


def record_guardrail_unavailable(source: str, *, fail_open: bool) -> None:
    count("GuardrailUnavailable")
    dimensioned_metric("GuardrailUnavailable", {"source": source.lower(), "failOpen": str(fail_open).lower()})


def version_metric(name: str, value: float, unit: MetricUnit = MetricUnit.Count) -> None:
    """A metric of the function version that ran (dimension ``version``): what a canary deployment's
    rollback alarms judge, the new version apart from the old. Only where Lambda names the version."""
    version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
    if not version or _metrics_disabled():
        return
    with single_metric(name=name, unit=unit, value=value) as metric:
        metric.add_dimension(name="version", value=version)


def record_stream_start(provider: str, first_token_ms: float) -> None:
    """A streamed reply's first piece reached the caller ``first_token_ms`` after the request arrived."""
    count("TimeToFirstToken", first_token_ms, MetricUnit.Milliseconds)
    version_metric("TimeToFirstToken", first_token_ms, MetricUnit.Milliseconds)
    count("StreamsStarted")
    provider_metric("TimeToFirstToken", provider, first_token_ms, MetricUnit.Milliseconds)
    provider_metric("StreamsStarted", provider, 1)


def record_stream_end(provider: str, outcome: str, *, output_tokens: int, seconds: float) -> None:
    """How a started stream ended: complete (with its tokens per second), incomplete (the provider cut
    it), stopped (the caller went away; not the provider's failure) or blocked (by the guardrail)."""
    if outcome == "complete":
        if seconds > 0 and output_tokens:
            count("TokensPerSecond", output_tokens / seconds, MetricUnit.CountPerSecond)
            provider_metric("TokensPerSecond", provider, output_tokens / seconds, MetricUnit.CountPerSecond)
    elif outcome == "incomplete":
        count("IncompleteStreams")
        provider_metric("IncompleteStreams", provider, 1)
    elif outcome == "stopped":
        count("StreamsStoppedByClient")
    # "blocked": the guardrail ended it, counted as an intervention (record_guardrail_check)


def record_turn(outcome: TurnOutcome, *, client: str, session_id: str, message_chars: int) -> None:
    """The figures of one answered turn, synchronous or queued: metrics and one log line, no text.
    ``client`` is the API key's id or user-<sub>, never a key value. Turns and tokens are also counted by
    the caller's tier (TurnsByTier, TokensByTier), for the product owner's part of the dashboard."""
    usage = outcome.completion.usage
    count("ChatTurns")
    dimensioned_metric("TurnsByTier", {"tier": outcome.tier})
    dimensioned_metric("TokensByTier", {"tier": outcome.tier}, usage.inputTokens + usage.outputTokens)
    count("CacheHit" if outcome.cache_hit else "CacheMiss")
    count("InputTokens", usage.inputTokens)
    count("OutputTokens", usage.outputTokens)
    if not outcome.cache_hit:
        count("LlmLatency", outcome.completion.latency_ms, MetricUnit.Milliseconds)
    if not outcome.reply_stored:
        count("ReplyNotStored")
    logger.info(
        "chat turn answered",
        extra={
            "client": client,
            # A person signed in on the page (user-<sub>), or a program with an API key.
            "caller": "person" if client.startswith("user-") else "program",
            "tier": outcome.tier,
            "session_id": session_id,
            "message_chars": message_chars,
            "reply_chars": len(outcome.reply.reply),
            "input_tokens": usage.inputTokens,
            "output_tokens": usage.outputTokens,
            "llm_latency_ms": round(outcome.completion.latency_ms),
            "provider": outcome.completion.provider,
            "model": outcome.completion.model,
            "cache_hit": outcome.cache_hit,
        },
    )


def record_feedback(
    rating: str, previous: str | None, *, model: str, provider: str, category: str | None, commented: bool
) -> None:
    """Feedback on a reply, by kind (``up``, ``down``), model and provider. A changed rating moves its vote:
    the new kind counts +1 and the old one -1, so sums stay one vote per reply. Never the comment."""
    count("FeedbackGiven")
    logger.info(
        "feedback given",
        extra={
            "rating": rating,
            "previous": previous,
            "category": category,
            "commented": commented,
            "model": model,
            "provider": provider,
            **_votes_moved(rating, previous),
        },
    )
    if previous == rating:
        return
    count("FeedbackUp" if rating == "up" else "FeedbackDown")
    dimensioned_metric("Feedback", {"kind": rating, "model": model, "provider": provider})
    if previous is not None:
        count("FeedbackChanged")
        count("FeedbackUp" if previous == "up" else "FeedbackDown", -1)
        dimensioned_metric("Feedback", {"kind": previous, "model": model, "provider": provider}, -1)


def _votes_moved(rating: str, previous: str | None) -> dict[str, int]:
    """How the vote moved, +1, -1 or 0 per kind: what the saved query feedback-by-day sums."""
    votes = {"votes_up": 0, "votes_down": 0}
    if previous != rating:
        votes[f"votes_{rating}"] += 1
        if previous is not None:
            votes[f"votes_{previous}"] -= 1
    return votes
