"""The API's usage plans (one per client tier, and the stage's verification tier) and the keys the stage
creates itself: the first client's, the verification key the deploy checks use, and, where the canary is
on, the canary's. More client keys come from scripts/issue_api_key.py.

The constructs are made in the ChatApi's scope, under the ids they have always had, so that no deployed
plan or key is replaced."""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from constructs import Construct

from stacks.config import StageConfig
from stacks.config_delivery import VERIFICATION_KEY_TAG


@dataclass(frozen=True)
class ApiKeys:
    usage_plans: dict[str, apigw.UsagePlan]
    default_key: apigw.IApiKey
    verification_key: apigw.ApiKey
    canary_key: apigw.ApiKey | None  # None: the stage runs no canary

    def tier_by_client(self, config: StageConfig) -> dict[str, str]:
        """The stage's own keys answer on the verification tier (they have no client profile)."""
        own = [self.verification_key, *([self.canary_key] if self.canary_key else [])]
        return {key.key_id: config.verification_tier.name for key in own}


def add_keys_and_plans(
    scope: Construct, api: apigw.RestApi, stage: apigw.Stage, config: StageConfig
) -> ApiKeys:
    usage_plans = {
        tier.name: api.add_usage_plan(
            f"UsagePlan{tier.name.capitalize()}",
            description=f"{tier.name} tier of the {config.name} chatbot API",
            throttle=apigw.ThrottleSettings(
                rate_limit=tier.throttle.rate_limit, burst_limit=tier.throttle.burst_limit
            ),
            # Per key: each key of a plan has a quota of its own.
            quota=apigw.QuotaSettings(limit=tier.requests_per_day, period=apigw.Period.DAY),
            api_stages=[apigw.UsagePlanPerApiStage(api=api, stage=stage)],
        )
        for tier in (*config.tiers, config.verification_tier)
    }
    # API Gateway generates the key value at deploy time; it never appears in a template.
    default_key = api.add_api_key("DefaultClientKey", description="First client of the API")
    usage_plans[config.default_tier].add_api_key(default_key)
    # The stage's own key for the checks after each deploy, on a plan and tier of its own; the deploy
    # job may read its value (and no other key's) by its tag.
    # Bound to the API through its usage plan only (no stage keys): the functions' environment names
    # it, and a key bound to the stage would depend on the deployment, which depends on them.
    verification_key = apigw.ApiKey(
        scope, "VerificationKey", description=f"Smoke and contract tests of the {config.name} stage"
    )
    cdk.Tags.of(verification_key).add(VERIFICATION_KEY_TAG, config.name)
    verification = usage_plans[config.verification_tier.name]
    verification.add_api_key(verification_key)
    canary_key = None
    if config.canary.enabled:
        # A key of the canary's own, on the same tier: its own daily quota and token budget, so the
        # canary and the deploy checks never starve each other, and revoking one leaves the other. Not
        # tagged: the deploy role has no business reading it; only the canary's role may (by its id).
        canary_key = apigw.ApiKey(
            scope, "CanaryKey", description=f"The {config.name} stage's Synthetics canary"
        )
        verification.add_api_key(canary_key)
    return ApiKeys(usage_plans, default_key, verification_key, canary_key)
