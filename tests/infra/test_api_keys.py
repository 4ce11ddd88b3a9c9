"""The API's usage plans and the stage's own keys (stacks/constructs/api_keys.py): a plan per tier bound to
the stage, the first client's key on the default tier, the verification and canary keys on the
verification tier, which every function that answers turns knows, and values API Gateway generates."""

from __future__ import annotations

import json

from tests.infra.conftest import (
    CHAT_HANDLER,
    WORKER_HANDLER,
    SynthesizedStage,
    function_with_handler,
    only_resource,
)


def _stage(stage: SynthesizedStage) -> tuple[str, dict]:
    stage_id, resource = only_resource(stage.service, "AWS::ApiGateway::Stage")
    return stage_id, resource["Properties"]


def test_each_tier_has_a_usage_plan_bound_to_the_stage_with_its_throttle_and_quota(
    stage: SynthesizedStage,
) -> None:
    stage_id, _ = _stage(stage)
    plans = {
        plan["Properties"]["Description"].split(" tier")[0]: plan["Properties"]
        for plan in stage.service.find_resources("AWS::ApiGateway::UsagePlan").values()
    }
    tiers = (*stage.config.tiers, stage.config.verification_tier)
    assert set(plans) == {tier.name for tier in tiers}
    for tier in tiers:
        props = plans[tier.name]
        assert props["ApiStages"][0]["Stage"] == {"Ref": stage_id}
        assert props["Throttle"] == {
            "RateLimit": tier.throttle.rate_limit,
            "BurstLimit": tier.throttle.burst_limit,
        }
        assert props["Quota"] == {"Limit": tier.requests_per_day, "Period": "DAY"}


def test_the_first_key_is_on_the_default_tier_and_the_verification_key_on_its_own(
    stage: SynthesizedStage,
) -> None:
    resources = stage.service.to_json()["Resources"]
    tier_of_key = {
        plan_key["Properties"]["KeyId"]["Ref"]: resources[plan_key["Properties"]["UsagePlanId"]["Ref"]][
            "Properties"
        ]["Description"].split(" tier")[0]
        for plan_key in stage.service.find_resources("AWS::ApiGateway::UsagePlanKey").values()
    }
    by_name = {
        next(name for name in ("DefaultClientKey", "VerificationKey", "CanaryKey") if name in key_id): tier
        for key_id, tier in tier_of_key.items()
    }
    own = {"VerificationKey": "verification"} | (
        {"CanaryKey": "verification"} if stage.config.canary.enabled else {}
    )
    assert by_name == {"DefaultClientKey": stage.config.default_tier, **own}
    (verification_key,) = [k for k in tier_of_key if "VerificationKey" in k]
    # Every function that answers turns knows that key's tier (it has no profile in the table) ...
    for handler in (CHAT_HANDLER, WORKER_HANDLER, "lambda_src/run.sh"):
        variables = function_with_handler(stage.service, handler)[1]["Properties"]["Environment"]["Variables"]
        mapping = json.dumps(variables["TIER_BY_CLIENT"])
        assert verification_key in mapping
        assert '\\"verification\\"' in mapping or '"verification"' in mapping
        tiers = {t["name"]: t for t in json.loads(variables["QUOTA_TIERS"])}
        # ... and its allowances, which no client tier shares.
        assert tiers["verification"]["daily_tokens"] == stage.config.verification_tier.daily_tokens


def test_tier_plans_are_stack_outputs_for_the_key_script(stage: SynthesizedStage) -> None:
    outputs = stage.service.to_json()["Outputs"]
    for tier in stage.config.tiers:
        assert f"UsagePlan{tier.name.capitalize()}" in outputs
    # scripts/issue_api_key.py finds plans here: no client key can be issued in the verification tier.
    assert not [name for name in outputs if name.startswith("UsagePlan") and "erification" in name]


def test_api_key_values_are_generated_by_api_gateway(stage: SynthesizedStage) -> None:
    keys = stage.service.find_resources("AWS::ApiGateway::ApiKey").values()
    assert len(keys) == (3 if stage.config.canary.enabled else 2)  # first client, verification, canary
    assert all("Value" not in key["Properties"] for key in keys)
