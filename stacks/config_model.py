"""The types of a stage's configuration, and the rules a configuration must keep.

The values for dev, staging and prod live in stacks/config.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs

from stacks.config_access import PLACEHOLDER_EMAIL_DOMAIN, PLACEHOLDER_HOSTED_ZONE_ID, EdgeConfig, SignUp
from stacks.config_canary import CanaryConfig
from stacks.config_delivery import PLACEHOLDER_REPOSITORY, DeliveryConfig
from stacks.config_guardrail import GuardrailConfig
from stacks.config_llm import LlmConfig
from stacks.config_stream import StreamConfig
from stacks.config_tiers import VERIFICATION_TIER, Throttle, UsageTier

# Account ids that exist only so that synth works offline. A stage whose account is one of these
# takes the account from `-c account=...` or CDK_DEFAULT_ACCOUNT when either is given.
PLACEHOLDER_ACCOUNTS = frozenset({"111111111111", "222222222222", "333333333333"})

# API Gateway stops waiting for a Lambda integration after 29 s, cold-start init included; everything a
# request does must fit, with time left for init.
API_GATEWAY_INTEGRATION_LIMIT_SECONDS = 29
INIT_ALLOWANCE_SECONDS = 2
# What the handler keeps back after the model's deadline to store the reply (lambda_src/chat/service.py).
RESPONSE_MARGIN_SECONDS = 3

# The retention periods CloudWatch Logs accepts that a stage is likely to want.
_RETENTION_BY_DAYS = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
}


@dataclass(frozen=True, kw_only=True)
class JobsConfig:
    """POST /chat/jobs: the queue, its worker and when a message gives up (dead-letter queue)."""

    max_receive_count: int = 3
    worker_timeout_seconds: int = 60
    # Polling stops here (event source maximum concurrency, at least 2) and the worker reserves as
    # much: more would be throttled, and every throttle spends one of a message's receives.
    worker_concurrency: int = 2
    # One turn per invocation: a turn may take most of the LLM budget, so several would outrun the timeout.
    batch_size: int = 1
    retention_days: int = 4


@dataclass(frozen=True, kw_only=True)
class AlarmThresholds:
    """What pages on-call besides the fixed ones (error rates, throttles, duration near the timeout)."""

    api_p99_latency_ms: float = 15_000
    client_errors_per_5_minutes: int = 100
    waf_blocked_per_5_minutes: int = 50
    max_tokens_per_hour: int = 500_000
    max_job_age_seconds: int = 600
    # The edge (us-east-1): CloudFront's 5xx rate over 5 minutes, counted from this many requests, and
    # blocks by the edge web ACL in 5 minutes.
    edge_5xx_percent: float = 5.0
    edge_min_requests: int = 50
    edge_blocked_per_5_minutes: int = 200
    # Feedback on replies: the thumbs-up share of the votes in a window, judged once this many are in
    # (stacks/constructs/product_insights.py, docs/runbooks/falling-thumbs-up.md).
    feedback_up_percent_below: float = 60.0
    feedback_min_votes: int = 20
    feedback_window_hours: int = 6

    def __post_init__(self) -> None:
        if not 0 < self.feedback_up_percent_below <= 100:
            raise ValueError("alarm_thresholds.feedback_up_percent_below must be in (0, 100]")
        if self.feedback_min_votes < 1:
            raise ValueError("alarm_thresholds.feedback_min_votes must be at least 1")
        if not 1 <= self.feedback_window_hours <= 24:
            raise ValueError("alarm_thresholds.feedback_window_hours must be 1 to 24 (one alarm period)")


@dataclass(frozen=True, kw_only=True)
class StageConfig:
    name: str
    account: str
    region: str
    # The tier of the stage's verification key (VERIFICATION_TIER); not one a client key can be issued in.
    verification_tier: UsageTier = VERIFICATION_TIER
    # Chat Lambda
    lambda_memory_mb: int
    lambda_timeout_seconds: int
    reserved_concurrency: int | None
    log_retention_days: int
    # The Powertools release the functions run: AWS's public layer of exactly this release is found by its
    # SSM parameter at deploy time. lambda_src/requirements.txt pins the same release for the tests.
    powertools_version: str = "3.37.0"
    # X-Ray SDK subsegments (DynamoDB, Secrets Manager, LLM calls) cost ~150 ms of cold start; Lambda's
    # active tracing records every invocation either way.
    xray_sdk_subsegments: bool = True
    # Conversation data
    transcript_retention_days: int
    history_turns: int
    max_message_chars: int = 1000
    removal_policy: cdk.RemovalPolicy
    deletion_protection: bool
    # Daily AWS Backup recovery points of the table, kept this many days; 0 means no backup plan.
    backup_retention_days: int = 0
    # A CloudTrail trail of the account, kept this many days in a locked bucket; 0: none (an organization
    # trail covers the account: README, "Audit trail").
    audit_trail_retention_days: int = 0
    termination_protection: bool
    # API
    stage_throttle: Throttle
    # GET /health needs no credential; its own throttle caps how fast anyone can make it invoke Lambda.
    health_throttle: Throttle = field(default_factory=lambda: Throttle(rate_limit=5, burst_limit=10))
    # INFO would log request-validation details, which quote what the user sent.
    api_execution_log_level: apigw.MethodLoggingLevel
    edge: EdgeConfig
    # Bump after putting a new value into the origin-verify secret: both the CloudFront origin and the
    # regional WAF rule change with it, so one deploy re-reads the secret on both sides together.
    origin_verify_generation: int = 1
    # Cognito sign-in for people using the chat page (/api/web/* routes); API keys stay for programs.
    browser_sign_in: bool = False
    sign_up: SignUp = field(default_factory=lambda: SignUp(mode="admin_only"))
    # Other origins whose browser code may call the API (the chat page is same-origin and needs none).
    cors_allowed_origins: tuple[str, ...] = ()
    # LLM
    llm: LlmConfig
    tiers: tuple[UsageTier, ...]
    default_tier: str  # the plan of the stage's first API key, and of any client without a profile
    idempotency_ttl_seconds: int = 3600
    # An Amazon Bedrock guardrail on every message and reply, whatever the provider (README, "Guardrails").
    guardrail: GuardrailConfig = field(default_factory=GuardrailConfig)
    # How a new chat Lambda version takes traffic (CodeDeploy, with automatic rollback on alarms):
    # canary = 10 % for 5 minutes, linear = 10 % more every minute, all_at_once.
    deployment_strategy: Literal["canary", "linear", "all_at_once"] = "all_at_once"
    # Operations
    alarm_emails: tuple[str, ...] = field(default_factory=tuple)
    # AWS Budgets: monthly cost of the stage's account, with alerts at 80 % and 100 % (forecast and actual).
    monthly_budget_usd: float = 100.0
    # At 100 % of that budget actually spent, turn the kill switch on (a function the budget's SNS topic
    # invokes) and tell on-call; only an operator turns it off again.
    budget_pauses_turns: bool = False
    alarm_thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)
    # A CloudWatch Synthetics canary that probes the stage through CloudFront (off unless enabled).
    canary: CanaryConfig = field(default_factory=CanaryConfig)
    jobs: JobsConfig = field(default_factory=JobsConfig)
    stream: StreamConfig = field(default_factory=StreamConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)

    def __post_init__(self) -> None:
        problems = [
            *self.stream.problems(self.name),
            *self.delivery.problems(self.name),
            *self.guardrail.problems(self.name),
            *self.canary.problems(
                self.name, self.verification_tier, block_hosting_providers=self.edge.block_hosting_providers
            ),
        ]
        if problems:
            raise ValueError("; ".join(problems))
        if self.lambda_timeout_seconds > API_GATEWAY_INTEGRATION_LIMIT_SECONDS - INIT_ALLOWANCE_SECONDS:
            raise ValueError(
                f"{self.name}: lambda_timeout_seconds must stay below API Gateway's "
                f"{API_GATEWAY_INTEGRATION_LIMIT_SECONDS} s integration limit"
            )
        if self.llm.timeout_seconds + RESPONSE_MARGIN_SECONDS > self.lambda_timeout_seconds:
            raise ValueError(
                f"{self.name}: llm.timeout_seconds must leave {RESPONSE_MARGIN_SECONDS} s "
                "of the Lambda timeout"
            )
        if not 1 <= self.max_message_chars <= 32_000:
            raise ValueError(f"{self.name}: max_message_chars out of range")
        if self.log_retention_days not in _RETENTION_BY_DAYS:
            raise ValueError(f"{self.name}: log_retention_days must be one of {sorted(_RETENTION_BY_DAYS)}")
        if self.default_tier not in {t.name for t in self.tiers}:
            raise ValueError(f"{self.name}: default_tier must name one of tiers")
        if len({t.name for t in self.tiers}) != len(self.tiers):
            raise ValueError(f"{self.name}: tier names must be unique")
        if self.verification_tier.name in {t.name for t in self.tiers}:
            raise ValueError(f"{self.name}: the verification tier's name must not be a client tier's")
        fastest = max(t.throttle.rate_limit for t in (*self.tiers, self.verification_tier))
        for what, limit in (
            ("per-key", self.edge.rate_limit_per_api_key_per_5_minutes),
            ("per-IP limit of keyed requests", self.edge.rate_limit_per_ip_with_api_key_per_5_minutes),
        ):
            if limit < fastest * 300:
                raise ValueError(
                    f"{self.name}: the edge's {what} limit must allow the fastest tier ({fastest} req/s = "
                    f"{fastest * 300:.0f} per 5 minutes); the usage plans do the fine limiting"
                )
        # JSON may spend up to 12 bytes on one character (an emoji escaped as \uXXXX\uXXXX); the rest of
        # the body is small.
        if self.edge.max_chat_body_bytes < self.max_message_chars * 12 + 512:
            raise ValueError(
                f"{self.name}: edge.max_chat_body_bytes cannot carry a message of max_message_chars"
            )
        for origin in self.cors_allowed_origins:
            if origin == "*" and self.name != "dev":
                raise ValueError(f"{self.name}: CORS may allow any origin ('*') only in dev")
            if origin != "*" and not origin.startswith("https://") and self.name != "dev":
                raise ValueError(f"{self.name}: CORS origins must be https:// URLs, got {origin!r}")
        if (
            self.health_throttle.rate_limit > self.stage_throttle.rate_limit
            or self.health_throttle.burst_limit > self.stage_throttle.burst_limit
        ):
            raise ValueError(f"{self.name}: health_throttle must not exceed stage_throttle")
        if self.name == "prod" and self.sign_up.mode == "open":
            raise ValueError("prod: sign_up must not be 'open' (anyone could mint accounts and their tokens)")
        if self.name == "prod" and self.edge.custom_domain is None:
            raise ValueError(
                "prod: edge.custom_domain is required; without a certificate of its own CloudFront serves "
                "*.cloudfront.net, whose security policy still accepts TLS 1.0"
            )
        if self.history_turns < 0:
            raise ValueError(f"{self.name}: history_turns must not be negative")

    @property
    def deployable_problems(self) -> list[str]:
        """What must change before this stage can be deployed (placeholders only synth offline)."""
        problems = []
        domain = self.edge.custom_domain
        if domain is not None and domain.hosted_zone_id == PLACEHOLDER_HOSTED_ZONE_ID:
            problems.append(
                f"{self.name}: edge.custom_domain is the placeholder {domain.domain_name} in zone "
                f"{domain.hosted_zone_id}; put your domain and its Route 53 hosted zone in stacks/config.py"
            )
        if self.browser_sign_in and PLACEHOLDER_EMAIL_DOMAIN in self.sign_up.email_domains:
            problems.append(
                f"{self.name}: sign_up.email_domains lists the placeholder {PLACEHOLDER_EMAIL_DOMAIN}; "
                "list your organisations' domains in stacks/config.py"
            )
        return problems

    @property
    def delivery_problems(self) -> list[str]:
        """What must change before the stage's delivery stack (GitHub's deploy role) can be deployed."""
        if self.delivery.github_repository == PLACEHOLDER_REPOSITORY:
            return [
                f"{self.name}: delivery.github_repository is the placeholder {PLACEHOLDER_REPOSITORY}; "
                "name the repository whose workflows deploy this stage in stacks/config.py"
            ]
        return []

    @property
    def github_environment(self) -> str:
        return self.delivery.github_environment or self.name

    @property
    def environment(self) -> cdk.Environment:
        return cdk.Environment(account=self.account, region=self.region)

    @property
    def log_retention(self) -> logs.RetentionDays:
        return _RETENTION_BY_DAYS[self.log_retention_days]
