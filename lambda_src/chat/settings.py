"""Configuration of the chat handler, read from the environment once per container."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Json, ValidationError, model_validator


class ConfigurationError(RuntimeError):
    """The function's environment is incomplete or invalid; a deploy problem, never the caller's."""


class ProviderSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9-]{1,32}$")
    kind: Literal["openai", "bedrock"]
    model: str = Field(min_length=1)
    base_url: str | None = Field(default=None, pattern=r"^https?://")
    timeout_seconds: float = Field(gt=0)


class TierSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    daily_tokens: int = Field(gt=0)
    session_requests: int = Field(gt=0)


class Settings(BaseModel):
    """Field names are the upper-cased environment variable names (stacks/runtime_environment.py)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    stage: str = Field(min_length=1)
    table_name: str = Field(min_length=1)
    llm_providers: Json[list[ProviderSettings]] = Field(min_length=1)
    llm_secret_arn: str = ""
    llm_max_output_tokens: int = Field(gt=0)
    llm_timeout_seconds: float = Field(gt=0)
    llm_system_prompt: str = ""
    llm_max_attempts: int = Field(default=3, ge=1, le=10)
    llm_retry_base_delay_seconds: float = Field(default=0.25, ge=0)
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_cooldown_seconds: float = Field(default=30.0, gt=0)
    degraded_reply: str = "The assistant is unavailable right now. Please try again in a little while."
    cache_ttl_seconds: int = Field(default=0, ge=0)
    cache_shared: bool = False
    quota_tiers: Json[list[TierSettings]] = Field(min_length=1)
    default_tier: str = Field(min_length=1)
    # Keys whose tier is set by the stack rather than a profile (the stage's verification key).
    tier_by_client: Json[dict[str, str]] = Field(default_factory=dict)
    idempotency_ttl_seconds: int = Field(default=3600, gt=0)
    cors_allowed_origins: Json[list[str]] = Field(default_factory=list)
    jobs_queue_url: str = ""
    # The SSM parameter of the stage's runtime controls (lambda_src/chat/controls.py); none without it.
    runtime_controls_parameter: str = ""
    jobs_max_receive_count: int = Field(default=3, ge=1)
    history_turns: int = Field(ge=0)
    transcript_retention_days: int = Field(gt=0)
    max_message_chars: int = Field(default=1000, gt=0)
    # The streamed route (POST /chat/stream): the first piece, the whole reply, the longest silence
    # between pieces, and how often a comment keeps a quiet stream open.
    stream_first_token_seconds: float = Field(default=30.0, gt=0)
    stream_reply_seconds: float = Field(default=300.0, gt=0)
    stream_idle_seconds: float = Field(default=30.0, gt=0)
    stream_heartbeat_seconds: float = Field(default=10.0, gt=0)
    stream_admission_wait_seconds: float = Field(default=10.0, gt=0)
    # The stage's Bedrock guardrail (README, "Guardrails"); none without an id. GUARDRAIL_LOCAL_POLICY
    # (make dev and the tests) puts the offline stand-in in its place, with the same policy.
    guardrail_id: str = ""
    guardrail_version: str = ""
    guardrail_fail_open: bool = False
    guardrail_stream_chunk_chars: int = Field(default=400, ge=50, le=1000)
    guardrail_local_policy: Json[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if any(p.kind == "openai" for p in self.llm_providers):
            if not self.llm_secret_arn:
                raise ValueError("LLM_SECRET_ARN is required for an openai provider")
            if any(p.kind == "openai" and not p.base_url for p in self.llm_providers):
                raise ValueError("an openai provider needs a base_url")
        if self.default_tier not in {t.name for t in self.quota_tiers}:
            raise ValueError("DEFAULT_TIER must name one of QUOTA_TIERS")
        if not set(self.tier_by_client.values()) <= {t.name for t in self.quota_tiers}:
            raise ValueError("TIER_BY_CLIENT must name tiers of QUOTA_TIERS")
        if bool(self.guardrail_id) != bool(self.guardrail_version):
            raise ValueError("GUARDRAIL_ID and GUARDRAIL_VERSION go together")
        if self.guardrail_id and self.guardrail_local_policy is not None:
            raise ValueError("GUARDRAIL_LOCAL_POLICY stands in for a guardrail: not both")
        return self

    def tier(self, name: str | None, owner: str | None = None) -> TierSettings:
        """By the client's profile, else by TIER_BY_CLIENT, else the stage's default tier."""
        by_name = {t.name: t for t in self.quota_tiers}
        chosen = name or self.tier_by_client.get(owner or "", "")
        return by_name.get(chosen, by_name[self.default_tier])

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        values = {name: environ[name.upper()] for name in cls.model_fields if name.upper() in environ}
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in e['loc']).upper() or 'ENVIRONMENT'}: {e['msg']}"
                for e in error.errors(include_input=False)
            )
            raise ConfigurationError(f"invalid environment: {problems}") from None
