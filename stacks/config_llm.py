"""Configuration of the LLM providers a stage asks, in fallback order (part of StageConfig,
stacks/config_model.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, kw_only=True)
class ProviderConfig:
    """One model at one provider. ``openai``: any OpenAI-compatible chat-completions API, keyed by the
    stage's LLM secret. ``bedrock``: Amazon Bedrock's Converse API in the stage's region, by IAM."""

    name: str  # a label for metrics and for the key in the secret, e.g. "openai"
    kind: Literal["openai", "bedrock"]
    model: str
    base_url: str | None = None
    timeout_seconds: float = 12.0  # one attempt; the whole answer has LlmConfig.timeout_seconds

    def __post_init__(self) -> None:
        if (self.kind == "openai") != (self.base_url is not None):
            raise ValueError(f"provider {self.name}: base_url is required for openai and unused for bedrock")


@dataclass(frozen=True, kw_only=True)
class LlmConfig:
    """Providers in fallback order, and how hard to try each before moving to the next."""

    providers: tuple[ProviderConfig, ...]
    max_output_tokens: int
    timeout_seconds: float  # for the whole answer: every attempt and fallback
    system_prompt: str = "You are a helpful assistant. Answer concisely."
    max_attempts: int = 3  # per provider, within the deadline
    retry_base_delay_seconds: float = 0.25  # full-jitter backoff: uniform in [0, base * 2^n], n = retry
    breaker_failure_threshold: int = 5
    breaker_cooldown_seconds: int = 30
    degraded_reply: str = "The assistant is unavailable right now. Please try again in a little while."
    cache_ttl_seconds: int = 86_400  # first-turn answer cache; 0 turns it off
    # Shared, a cache hit tells a client that someone asked the same first question recently (and
    # saves more tokens); per client, it only ever replays the client's own questions.
    cache_shared_across_clients: bool = False
    # Prices of the first provider's model, for the dashboard's cost estimate (USD per 1,000 tokens).
    usd_per_1k_input_tokens: float = 0.00015
    usd_per_1k_output_tokens: float = 0.0006

    def __post_init__(self) -> None:
        if not self.providers:
            raise ValueError("at least one LLM provider is required")
        for provider in self.providers:
            # One hanging attempt must leave time to retry or fail over.
            if provider.timeout_seconds > self.timeout_seconds * 0.75:
                raise ValueError(
                    f"provider {provider.name}: timeout_seconds must be at most 75 % of llm.timeout_seconds"
                )
        if len({p.name for p in self.providers}) != len(self.providers):
            raise ValueError("provider names must be unique")

    @property
    def needs_secret(self) -> bool:
        return any(p.kind == "openai" for p in self.providers)
