"""The stage probed from outside (issue 12): a Synthetics canary where config turns it on (staging and
prod, not dev), on config's schedule, through the stage's public URL, with a key of its own that only it
can read, an alarm to on-call that also fires when runs stop, and its results kept encrypted and expiring."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from stacks.config import STAGES, CanaryConfig
from stacks.config_canary import KEYED_REQUESTS_PER_RUN, RUN_TIMEOUT_SECONDS, canary_name
from stacks.config_delivery import VERIFICATION_KEY_TAG
from stacks.constructs.stage_canary import CANARY_CODE, CANARY_HANDLER
from tests.infra.conftest import CHAT_HANDLER, SynthesizedStage, function_with_handler, only_resource


def _canary(stage: SynthesizedStage) -> tuple[str, dict[str, Any]]:
    if not stage.config.canary.enabled:
        pytest.skip(f"{stage.config.name} runs no canary")
    logical_id, canary = only_resource(stage.web, "AWS::Synthetics::Canary")
    return logical_id, canary["Properties"]


def _canary_key_id(stage: SynthesizedStage) -> str:
    (key_id,) = [k for k in stage.service.find_resources("AWS::ApiGateway::ApiKey") if "CanaryKey" in k]
    return key_id


def _service_output_of(stage: SynthesizedStage, reference: dict[str, Any]) -> dict[str, Any]:
    """The service stack's output that a web stack reference (Fn::GetStackOutput) reads."""
    read = reference["Fn::GetStackOutput"]
    assert read["StackName"] == stage.stage.service.stack_name
    return dict(stage.service.to_json()["Outputs"][read["OutputName"]]["Value"])


def test_config_runs_a_canary_in_staging_and_prod_but_not_dev() -> None:
    assert not STAGES["dev"].canary.enabled
    assert STAGES["staging"].canary.enabled
    assert STAGES["prod"].canary.enabled


def test_dev_has_no_canary_and_no_canary_key(synthesized: dict[str, SynthesizedStage]) -> None:
    dev = synthesized["dev"]
    assert dev.web.find_resources("AWS::Synthetics::Canary") == {}
    assert not [k for k in dev.service.find_resources("AWS::ApiGateway::ApiKey") if "CanaryKey" in k]
    assert "CanaryApiKeyId" not in dev.service.to_json()["Outputs"]


def test_the_canary_runs_the_script_on_configs_schedule_against_the_public_url(
    stage: SynthesizedStage,
) -> None:
    _, canary = _canary(stage)
    config = stage.config.canary

    assert canary["Name"] == canary_name(stage.config.name)
    assert canary["RuntimeVersion"].startswith("syn-python-selenium-")
    assert canary["Code"]["Handler"] == CANARY_HANDLER
    assert canary["Schedule"]["Expression"] == f"rate({config.every_minutes} minutes)"
    assert canary["RunConfig"]["TimeoutInSeconds"] == RUN_TIMEOUT_SECONDS <= config.every_minutes * 60
    assert canary["StartCanaryAfterCreation"] is True
    assert canary["SuccessRetentionPeriod"] == canary["FailureRetentionPeriod"] == config.keep_results_days
    variables = canary["RunConfig"]["EnvironmentVariables"]
    # Through CloudFront, as a client calls it: the stage's published URL.
    assert variables["SITE_URL"] == stage.web.to_json()["Outputs"]["SiteUrl"]["Value"]
    assert _service_output_of(stage, variables["API_KEY_ID"]) == {"Ref": _canary_key_id(stage)}


def test_the_canary_key_is_on_the_verification_tier_not_a_clients(stage: SynthesizedStage) -> None:
    _canary(stage)
    key_id = _canary_key_id(stage)
    resources = stage.service.to_json()["Resources"]
    (plan_key,) = [
        r
        for r in stage.service.find_resources("AWS::ApiGateway::UsagePlanKey").values()
        if r["Properties"]["KeyId"] == {"Ref": key_id}
    ]
    plan = resources[plan_key["Properties"]["UsagePlanId"]["Ref"]]["Properties"]
    assert plan["Description"].startswith("verification tier")
    # a run's keyed requests fit the per-key quota of that plan, every day
    assert KEYED_REQUESTS_PER_RUN * stage.config.canary.runs_per_day() <= plan["Quota"]["Limit"]
    variables = function_with_handler(stage.service, CHAT_HANDLER)[1]["Properties"]["Environment"][
        "Variables"
    ]
    assert key_id in json.dumps(variables["TIER_BY_CLIENT"])
    # it is not the verification key, which the deploy role reads by its tag
    tags = stage.service.to_json()["Resources"][key_id]["Properties"].get("Tags", [])
    assert VERIFICATION_KEY_TAG not in {t["Key"] for t in tags}
    assert stage.service.to_json()["Outputs"]["CanaryApiKeyId"]["Value"] == {"Ref": key_id}


def _canary_statements(stage: SynthesizedStage) -> list[dict[str, Any]]:
    _, canary = _canary(stage)
    role_id = canary["ExecutionRoleArn"]["Fn::GetAtt"][0]
    role = stage.web.to_json()["Resources"][role_id]["Properties"]
    assert "Policies" not in role  # no inline policy: one managed policy, reviewable on its own
    policies = [
        p["Properties"]
        for p in stage.web.find_resources("AWS::IAM::ManagedPolicy").values()
        if {"Ref": role_id} in p["Properties"].get("Roles", [])
    ]
    assert len(policies) == 1
    assert not [
        p
        for p in stage.web.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    return list(policies[0]["PolicyDocument"]["Statement"])


def test_the_canary_may_read_its_own_key_and_no_other(stage: SynthesizedStage) -> None:
    statements = _canary_statements(stage)

    (read_key,) = [s for s in statements if "apigateway:GET" in json.dumps(s["Action"])]
    assert read_key["Action"] == "apigateway:GET"
    joined = read_key["Resource"]["Fn::Join"][1]
    assert joined[0] == f"arn:aws:apigateway:{stage.config.region}::/apikeys/"
    assert _service_output_of(stage, joined[1]) == {"Ref": _canary_key_id(stage)}
    assert len(joined) == 2  # the id, nothing after it


def test_the_canary_writes_only_its_own_logs_bucket_prefix_and_metrics(stage: SynthesizedStage) -> None:
    statements = _canary_statements(stage)
    by_action = {json.dumps(s["Action"]): s for s in statements}

    logs = by_action[json.dumps(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"])]
    assert logs["Resource"].endswith(f":log-group:/aws/lambda/cwsyn-{canary_name(stage.config.name)}-*")
    metrics = by_action['"cloudwatch:PutMetricData"']
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "CloudWatchSynthetics"}}
    put = by_action['"s3:PutObject"']
    bucket_id = put["Resource"]["Fn::Join"][1][0]["Fn::GetAtt"][0]
    assert put["Resource"]["Fn::Join"][1][1] == "/runs/*"
    assert stage.web.to_json()["Resources"][bucket_id]["Type"] == "AWS::S3::Bucket"
    actions = {
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert actions == {
        "s3:ListAllMyBuckets",
        "s3:GetBucketLocation",
        "s3:PutObject",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "cloudwatch:PutMetricData",
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "apigateway:GET",
    }


def test_the_results_bucket_defaults_to_a_customer_key_and_expires(stage: SynthesizedStage) -> None:
    _, canary = _canary(stage)
    bucket_id = canary["ArtifactS3Location"]["Fn::Join"][1][1]["Ref"]
    bucket = stage.web.to_json()["Resources"][bucket_id]["Properties"]

    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    key_id = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0]
    assert stage.web.to_json()["Resources"][key_id]["Type"] == "AWS::KMS::Key"
    (kms,) = [s for s in _canary_statements(stage) if "kms:GenerateDataKey" in s["Action"]]
    assert kms["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
    expiring = [r for r in bucket["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in r]
    assert [r["ExpirationInDays"] for r in expiring] == [stage.config.canary.keep_results_days]
    assert bucket["LoggingConfiguration"]["LogFilePrefix"] == "s3/canary/"
    assert bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True


def test_failed_or_missing_runs_page_on_call(stage: SynthesizedStage) -> None:
    canary_id, _ = _canary(stage)
    config = stage.config.canary
    (alarm,) = [
        a["Properties"]
        for a in stage.web.find_resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "CloudWatchSynthetics"
    ]

    assert alarm["MetricName"] == "SuccessPercent"
    assert alarm["Dimensions"] == [{"Name": "CanaryName", "Value": {"Ref": canary_id}}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 100)
    assert alarm["Period"] == config.every_minutes * 60
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == config.failed_runs_to_alarm
    assert alarm["TreatMissingData"] == "breaching"  # a canary that stopped running pages too
    for actions in (alarm["AlarmActions"], alarm["OKActions"]):
        (topic,) = actions
        assert "OperationsAlarmTopic" in json.dumps(_service_output_of(stage, topic))


def test_the_stage_dashboard_shows_the_canary_by_its_name(stage: SynthesizedStage) -> None:
    _canary(stage)
    (dashboard,) = stage.service.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert f'\\"CanaryName\\",\\"{canary_name(stage.config.name)}\\"' in body
    assert "SuccessPercent" in body


def test_only_the_script_ships_in_the_canarys_asset() -> None:
    shipped = sorted(
        str(p.relative_to(CANARY_CODE))
        for p in CANARY_CODE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert shipped == [f"python/{CANARY_HANDLER.split('.')[0]}.py"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"every_minutes": 1}, "every_minutes must be 2-60"),
        ({"failed_runs_to_alarm": 0}, "failed_runs_to_alarm"),
        ({"keep_results_days": 0}, "keep_results_days"),
    ],
)
def test_a_canary_config_synthetics_would_refuse_is_refused(change: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(STAGES["prod"], canary=CanaryConfig(enabled=True, **change))


def test_a_canary_that_would_use_up_its_tiers_daily_requests_is_refused() -> None:
    tier = replace(STAGES["prod"].verification_tier, requests_per_day=500)
    with pytest.raises(ValueError, match="keyed requests a day"):
        replace(STAGES["prod"], verification_tier=tier, canary=CanaryConfig(enabled=True, every_minutes=5))


def test_a_canary_the_edge_would_block_is_refused() -> None:
    prod = STAGES["prod"]
    with pytest.raises(ValueError, match="block_hosting_providers"):
        replace(prod, edge=replace(prod.edge, block_hosting_providers=True))
    # without a canary the edge may block hosting providers
    replace(prod, canary=CanaryConfig(), edge=replace(prod.edge, block_hosting_providers=True))


def test_a_stage_name_synthetics_cannot_take_is_refused_where_the_canary_runs() -> None:
    for name in ("Prod.EU", "production-europe-west"):
        with pytest.raises(ValueError, match="canary's name"):
            replace(STAGES["prod"], name=name)
