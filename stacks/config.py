"""One typed, frozen configuration per stage: the values. The types and their rules are in
stacks/config_model.py and, by concern, stacks/config_llm.py (providers), config_tiers.py (throttles
and client tiers), config_access.py (edge and sign-up), config_stream.py and config_delivery.py.

Only ``app.py`` reads context and environment; it resolves the target environment with
``resolve_environment`` and passes a ``StageConfig`` down as keyword-only props.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw

from stacks.config_access import PLACEHOLDER_HOSTED_ZONE_ID, CustomDomain, EdgeConfig, SignUp
from stacks.config_canary import CanaryConfig
from stacks.config_delivery import PLACEHOLDER_REPOSITORY, DeliveryConfig
from stacks.config_guardrail import GuardrailConfig
from stacks.config_llm import LlmConfig, ProviderConfig
from stacks.config_model import PLACEHOLDER_ACCOUNTS, AlarmThresholds, StageConfig
from stacks.config_tiers import Throttle, UsageTier

__all__ = [
    "PLACEHOLDER_ACCOUNTS",
    "PLACEHOLDER_HOSTED_ZONE_ID",
    "STAGES",
    "AlarmThresholds",
    "CanaryConfig",
    "CustomDomain",
    "EdgeConfig",
    "LlmConfig",
    "ProviderConfig",
    "SignUp",
    "StageConfig",
    "Throttle",
    "UsageTier",
    "resolve_environment",
]

_OPENAI = ProviderConfig(
    name="openai", kind="openai", model="gpt-4o-mini", base_url="https://api.openai.com/v1"
)
_BEDROCK = ProviderConfig(name="bedrock", kind="bedrock", model="amazon.nova-lite-v1:0")
# The repository whose GitHub Actions deploy the stages (README, "Delivery"): put yours here.
_DELIVERY = DeliveryConfig(github_repository=PLACEHOLDER_REPOSITORY)
_DEFAULT_LLM = LlmConfig(providers=(_OPENAI, _BEDROCK), max_output_tokens=512, timeout_seconds=21.0)

_TIERS = (
    UsageTier(
        name="free",
        throttle=Throttle(rate_limit=2, burst_limit=5),
        requests_per_day=1_000,
        daily_tokens=20_000,
        session_requests_per_day=50,
    ),
    UsageTier(
        name="standard",
        throttle=Throttle(rate_limit=5, burst_limit=10),
        requests_per_day=10_000,
        daily_tokens=200_000,
        session_requests_per_day=200,
    ),
    UsageTier(
        name="premium",
        throttle=Throttle(rate_limit=20, burst_limit=40),
        requests_per_day=100_000,
        daily_tokens=2_000_000,
        session_requests_per_day=1_000,
    ),
)

STAGES: Mapping[str, StageConfig] = {
    "dev": StageConfig(
        name="dev",
        delivery=_DELIVERY,
        account="111111111111",  # placeholder
        region="us-east-1",
        lambda_memory_mb=512,
        lambda_timeout_seconds=26,
        reserved_concurrency=5,
        log_retention_days=7,
        transcript_retention_days=7,
        history_turns=10,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        deletion_protection=False,
        termination_protection=False,
        stage_throttle=Throttle(rate_limit=10, burst_limit=20),
        api_execution_log_level=apigw.MethodLoggingLevel.ERROR,
        edge=EdgeConfig(rate_limit_per_ip_per_5_minutes=500, rate_limit_per_api_key_per_5_minutes=7_500),
        llm=_DEFAULT_LLM,
        tiers=_TIERS,
        default_tier="free",
        # A developer's stage keeps answering while Bedrock cannot; transcripts as sent, to debug with.
        guardrail=GuardrailConfig(fail_open=True),
        monthly_budget_usd=50.0,
        alarm_emails=(),
    ),
    "staging": StageConfig(
        name="staging",
        delivery=_DELIVERY,
        account="222222222222",  # placeholder
        region="us-east-1",
        lambda_memory_mb=1024,
        lambda_timeout_seconds=26,
        reserved_concurrency=20,
        log_retention_days=30,
        transcript_retention_days=30,
        history_turns=10,
        removal_policy=cdk.RemovalPolicy.DESTROY,
        backup_retention_days=14,
        deletion_protection=False,
        termination_protection=False,
        stage_throttle=Throttle(rate_limit=50, burst_limit=100),
        api_execution_log_level=apigw.MethodLoggingLevel.ERROR,
        edge=EdgeConfig(rate_limit_per_ip_per_5_minutes=1_000, rate_limit_per_api_key_per_5_minutes=7_500),
        llm=_DEFAULT_LLM,
        browser_sign_in=True,
        # Testers of these organisations may sign up by themselves; anyone else is created by an operator.
        sign_up=SignUp(mode="email_domains", email_domains=("example.com",)),  # placeholder
        tiers=_TIERS,
        default_tier="free",
        deployment_strategy="linear",
        guardrail=GuardrailConfig(fail_open=False, redact_transcripts=True),  # as prod
        monthly_budget_usd=200.0,
        budget_pauses_turns=True,
        canary=CanaryConfig(enabled=True, every_minutes=15),
        alarm_emails=("chatbot-oncall-staging@example.com",),  # placeholder
    ),
    "prod": StageConfig(
        name="prod",
        delivery=_DELIVERY,
        account="333333333333",  # placeholder
        region="us-east-1",
        lambda_memory_mb=1024,
        lambda_timeout_seconds=26,
        reserved_concurrency=100,
        log_retention_days=90,
        xray_sdk_subsegments=False,  # cold start first; Lambda and API Gateway traces remain
        transcript_retention_days=90,
        history_turns=20,
        removal_policy=cdk.RemovalPolicy.RETAIN,
        backup_retention_days=35,
        audit_trail_retention_days=365,
        deletion_protection=True,
        termination_protection=True,
        stage_throttle=Throttle(rate_limit=200, burst_limit=400),
        api_execution_log_level=apigw.MethodLoggingLevel.ERROR,
        edge=EdgeConfig(
            rate_limit_per_ip_per_5_minutes=2_000,
            rate_limit_per_api_key_per_5_minutes=7_500,
            block_anonymous_ips=True,
            # Required in prod (TLSv1.2_2021 needs a certificate of our own). A placeholder: put yours here;
            # `make deploy STAGE=prod` refuses the placeholder zone.
            custom_domain=CustomDomain(
                domain_name="chat.example.com",
                hosted_zone_id=PLACEHOLDER_HOSTED_ZONE_ID,
                hosted_zone_name="example.com",
            ),
        ),
        llm=_DEFAULT_LLM,
        browser_sign_in=True,
        sign_up=SignUp(mode="admin_only"),  # config refuses "open" in prod
        tiers=_TIERS,
        default_tier="free",
        alarm_thresholds=AlarmThresholds(max_tokens_per_hour=5_000_000),
        deployment_strategy="canary",
        # No turn is answered unchecked; what users send is stored with their PII masked.
        guardrail=GuardrailConfig(fail_open=False, redact_transcripts=True),
        monthly_budget_usd=2_000.0,
        budget_pauses_turns=True,
        canary=CanaryConfig(enabled=True, every_minutes=5),
        alarm_emails=("chatbot-oncall@example.com",),  # placeholder
    ),
}


def resolve_environment(
    config: StageConfig,
    *,
    context_account: str | None = None,
    context_region: str | None = None,
    default_account: str | None = None,
    default_region: str | None = None,
) -> StageConfig:
    """Apply `-c account/region` and CDK_DEFAULT_* to a stage.

    Context always wins. CDK_DEFAULT_ACCOUNT/REGION (the CLI's current credentials) fill in only a
    stage whose account is a placeholder, so a real prod account pinned in config can never be
    swapped for whatever account the deploying shell happens to be logged into.
    """
    if config.account in PLACEHOLDER_ACCOUNTS:
        account = context_account or default_account or config.account
        region = context_region or default_region or config.region
    else:
        account = context_account or config.account
        region = context_region or config.region
    return replace(config, account=account, region=region)
