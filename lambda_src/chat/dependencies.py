"""What the chat handler needs, built once per container from its validated settings."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools.utilities import parameters
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lambda_src.chat.cache import CachePolicy
from lambda_src.chat.controls import ControlsReader, ControlsUnreadable, RuntimeControls, TurnsPaused
from lambda_src.chat.deep_health import (
    PROBE_TIMEOUT_SECONDS,
    DeepHealth,
    bedrock_check,
    openai_check,
    secret_check,
    table_check,
)
from lambda_src.chat.feedback import FeedbackStore
from lambda_src.chat.guardrail import Guardrail, TurnGuard
from lambda_src.chat.guardrail_bedrock import BedrockGuardrail
from lambda_src.chat.guardrail_local import LocalGuardrail
from lambda_src.chat.history import ConversationHistory
from lambda_src.chat.providers.base import ChatModel, LlmUnavailable
from lambda_src.chat.quotas import Tier
from lambda_src.chat.resilience import CircuitBreaker, FailoverChat, RetryPolicy
from lambda_src.chat.service import TurnContext
from lambda_src.chat.session_store import SessionStore
from lambda_src.chat.settings import ProviderSettings, Settings
from lambda_src.chat.telemetry import record_event

# A rotated key is picked up within this many seconds without a cold start.
SECRET_CACHE_SECONDS = 300
# botocore's defaults (60 s connect and read) would let one slow AWS call outlive the whole request.
AWS_CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 2})


@dataclass(frozen=True)
class Dependencies:
    settings: Settings
    table: Any
    history: ConversationHistory
    store: SessionStore
    llm: ChatModel
    controls: ControlsReader
    feedback: FeedbackStore
    guard: TurnGuard | None = None

    def tier(
        self, name: str | None, owner: str | None = None, controls: RuntimeControls | None = None
    ) -> Tier:
        """The client's tier by the name in its profile; by the stack's TIER_BY_CLIENT, or the stage's
        default tier, without one; its daily token budget lowered where the runtime controls say so."""
        tier = self.settings.tier(name, owner)
        daily_tokens = (controls or RuntimeControls()).daily_tokens(tier.name, tier.daily_tokens)
        return Tier(name=tier.name, daily_tokens=daily_tokens, session_requests=tier.session_requests)

    def admit_new_turns(self) -> RuntimeControls:
        """The runtime controls in force; TurnsPaused while the stage's kill switch is on."""
        controls = self.controls.current()
        if controls.turns_paused:
            raise TurnsPaused
        return controls

    def turn_context(
        self, owner: str, turn_id: str, *, requires: dict[str, str] | None = None
    ) -> TurnContext:
        """A turn of ``owner`` under the stage's settings and runtime controls (chat, stream and worker
        alike); TurnsPaused while the kill switch is on."""
        controls = self.admit_new_turns()
        settings = self.settings
        return TurnContext(
            owner=owner,
            turn_id=turn_id,
            system_prompt=settings.llm_system_prompt,
            history_turns=settings.history_turns,
            llm_timeout_seconds=settings.llm_timeout_seconds,
            max_output_tokens=settings.llm_max_output_tokens,
            tiers=lambda name: self.tier(name, owner, controls),
            requires=requires,
            guard=self.guard,
        )


def read_api_key(secrets: parameters.SecretsProvider, secret_arn: str, provider: str) -> str:
    """The provider key: a bare string for every provider, or JSON naming keys per provider
    ({"openai": "sk-...", "azure": "..."}) with "apiKey" as the fallback. Cached per container."""
    try:
        value = secrets.get(secret_arn, max_age=SECRET_CACHE_SECONDS)
    except (parameters.GetParameterError, ClientError, BotoCoreError):
        raise LlmUnavailable("credentials_unavailable") from None
    text = value.decode() if isinstance(value, bytes) else str(value)
    if text.lstrip().startswith("{"):
        try:
            keys = json.loads(text)
            text = str(keys.get(provider) or keys["apiKey"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise LlmUnavailable("credentials_unavailable") from None
    return text.strip()


def build_provider(
    settings: Settings, provider: ProviderSettings, secrets: parameters.SecretsProvider
) -> ChatModel:
    if provider.kind == "bedrock":
        from lambda_src.chat.providers.bedrock import BedrockConverseClient

        return BedrockConverseClient(
            name=provider.name,
            model=provider.model,
            max_output_tokens=settings.llm_max_output_tokens,
            client_for=_bedrock_client,
            timeout_seconds=provider.timeout_seconds,
        )
    from lambda_src.chat.providers.openai_compatible import OpenAICompatibleClient

    return OpenAICompatibleClient(
        name=provider.name,
        base_url=str(provider.base_url),
        model=provider.model,
        max_output_tokens=settings.llm_max_output_tokens,
        api_key=lambda: read_api_key(secrets, settings.llm_secret_arn, provider.name),
        timeout_seconds=provider.timeout_seconds,
    )


def build_guard(settings: Settings) -> TurnGuard | None:
    """The stage's guardrail: Bedrock's by id and version, the offline stand-in, or none."""
    if settings.guardrail_local_policy is not None:
        guardrail: Guardrail = LocalGuardrail(settings.guardrail_local_policy)
    elif settings.guardrail_id:
        guardrail = BedrockGuardrail(
            _guardrail_client(), identifier=settings.guardrail_id, version=settings.guardrail_version
        )
    else:
        return None
    return TurnGuard(
        guardrail=guardrail,
        fail_open=settings.guardrail_fail_open,
        stream_chunk_chars=settings.guardrail_stream_chunk_chars,
    )


@cache
def _guardrail_client() -> Any:
    # A check sits in front of every turn: a slow guardrail must fail (open or closed) within seconds.
    return boto3.client(
        "bedrock-runtime",
        config=Config(connect_timeout=1, read_timeout=3, retries={"mode": "standard", "max_attempts": 2}),
    )


@cache
def _dynamodb() -> Any:
    return boto3.resource("dynamodb", config=AWS_CLIENT_CONFIG)


@cache
def _bedrock_client(read_timeout: int) -> Any:
    return boto3.client(
        "bedrock-runtime",
        config=Config(
            connect_timeout=min(2, read_timeout),
            read_timeout=read_timeout,
            retries={"total_max_attempts": 1},  # FailoverChat retries, within the deadline
        ),
    )


@cache
def _secrets() -> parameters.SecretsProvider:
    return parameters.SecretsProvider(boto_config=AWS_CLIENT_CONFIG)


@cache
def deep_health() -> DeepHealth:
    """GET /health/deep's probes of the table, the key and the providers (lambda_src/chat/deep_health.py)."""
    import urllib3

    deps = dependencies()
    settings = deps.settings
    secrets = _secrets()

    def key_of(provider: str) -> Callable[[], str]:
        return lambda: read_api_key(secrets, settings.llm_secret_arn, provider)

    http = urllib3.PoolManager(maxsize=2)
    providers = {
        p.name: openai_check(str(p.base_url), key_of(p.name), http)
        if p.kind == "openai"
        else bedrock_check(p.model, _bedrock_client(int(PROBE_TIMEOUT_SECONDS)))
        for p in settings.llm_providers
    }
    keyed = [p.name for p in settings.llm_providers if p.kind == "openai"]
    return DeepHealth(
        table=table_check(deps.table),
        secret=secret_check(key_of(keyed[0])) if keyed else None,
        providers=providers,
        turns_paused=lambda: deps.controls.current().turns_paused,
        disabled=lambda: deps.controls.current().disabled_providers,
    )


@cache
def _ssm() -> parameters.SSMProvider:
    return parameters.SSMProvider(boto_config=AWS_CLIENT_CONFIG)


def fetch_parameter(name: str, max_age: int) -> str:
    """An SSM parameter's value, cached by Powertools for ``max_age`` seconds."""
    try:
        return str(_ssm().get(name, max_age=max_age))
    except (parameters.GetParameterError, ClientError, BotoCoreError):
        raise ControlsUnreadable from None


@cache
def dependencies() -> Dependencies:
    settings = Settings.from_environ()
    controls = ControlsReader(settings.runtime_controls_parameter, fetch=fetch_parameter)
    table = _dynamodb().Table(settings.table_name)
    secrets = _secrets()
    providers = [build_provider(settings, p, secrets) for p in settings.llm_providers]
    # Breakers live as long as the container: each container learns on its own that a provider is down.
    breakers = {
        p.name: CircuitBreaker(
            failure_threshold=settings.breaker_failure_threshold,
            cooldown_seconds=settings.breaker_cooldown_seconds,
        )
        for p in providers
    }
    return Dependencies(
        settings=settings,
        table=table,
        history=ConversationHistory(table, clock=time.time),
        store=SessionStore(
            table,
            retention_days=settings.transcript_retention_days,
            history_turns=settings.history_turns,
            clock=time.time,
            cache=CachePolicy(ttl_seconds=settings.cache_ttl_seconds, shared=settings.cache_shared)
            if settings.cache_ttl_seconds
            else None,
        ),
        llm=FailoverChat(
            providers=providers,
            breakers=breakers,
            retry=RetryPolicy(
                max_attempts=settings.llm_max_attempts,
                base_delay_seconds=settings.llm_retry_base_delay_seconds,
            ),
            on_event=record_event,
            disabled=lambda: controls.current().disabled_providers,
        ),
        controls=controls,
        feedback=FeedbackStore(table, clock=time.time),
        guard=build_guard(settings),
    )
