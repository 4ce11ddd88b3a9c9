"""Canary deploys: the API calls the live aliases; CodeDeploy shifts each per stage and rolls back on alarms.

Two functions deploy this way: the chat function (construct Deployment) and the stream function
(Streaming/Deployment, whose rollback alarms add time to first token)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.conftest import SynthesizedStage

EXPECTED_CONFIG = {
    "canary": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
    "linear": "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
    "all_at_once": "CodeDeployDefault.LambdaAllAtOnce",
}
DEPLOYMENTS = ("Deployment", "StreamingDeployment")  # logical id prefixes


def _one(stage: SynthesizedStage, resource_type: str, prefix: str) -> tuple[str, Any]:
    (found,) = [
        (lid, r) for lid, r in stage.service.find_resources(resource_type).items() if lid.startswith(prefix)
    ]
    return found


@pytest.mark.parametrize("prefix", DEPLOYMENTS)
def test_each_stage_shifts_traffic_its_own_way(stage: SynthesizedStage, prefix: str) -> None:
    expected = {"dev": "all_at_once", "staging": "linear", "prod": "canary"}[stage.config.name]
    assert stage.config.deployment_strategy == expected
    _, group = _one(stage, "AWS::CodeDeploy::DeploymentGroup", prefix)
    assert group["Properties"]["DeploymentConfigName"] == EXPECTED_CONFIG[expected]


@pytest.mark.parametrize("prefix", DEPLOYMENTS)
def test_the_deployment_rolls_back_on_failure_and_on_the_alias_alarms(
    stage: SynthesizedStage, prefix: str
) -> None:
    _, group = _one(stage, "AWS::CodeDeploy::DeploymentGroup", prefix)
    props = group["Properties"]
    assert set(props["AutoRollbackConfiguration"]["Events"]) == {
        "DEPLOYMENT_FAILURE",
        "DEPLOYMENT_STOP_ON_REQUEST",
        "DEPLOYMENT_STOP_ON_ALARM",
    }
    alarm_names = json.dumps(props["AlarmConfiguration"]["Alarms"])
    assert f"{prefix}AliasErrors" in alarm_names
    assert f"{prefix}AliasDurationP99" in alarm_names
    alarms = stage.service.find_resources("AWS::CloudWatch::Alarm")
    for logical_id in (f"{prefix}AliasErrors", f"{prefix}AliasDurationP99"):
        (alarm,) = [a for lid, a in alarms.items() if lid.startswith(logical_id)]
        dimensions = {d["Name"]: d["Value"] for d in alarm["Properties"]["Dimensions"]}
        assert "Resource" in dimensions
        assert "ExecutedVersion" in dimensions  # the version being deployed, not the old one


def test_the_new_stream_versions_first_token_time_and_app_errors_roll_it_back(
    stage: SynthesizedStage,
) -> None:
    _, stream_group = _one(stage, "AWS::CodeDeploy::DeploymentGroup", "StreamingDeployment")
    _, chat_group = _one(stage, "AWS::CodeDeploy::DeploymentGroup", "Deployment")
    configured = json.dumps(stream_group["Properties"]["AlarmConfiguration"])
    assert "StreamingVersionTimeToFirstTokenP90" in configured
    assert "StreamingVersionInternalErrors" in configured
    assert "TimeToFirstToken" not in json.dumps(chat_group["Properties"]["AlarmConfiguration"])
    alarms = stage.service.find_resources("AWS::CloudWatch::Alarm")
    for prefix, metric in (
        ("StreamingVersionTimeToFirstTokenP90", "TimeToFirstToken"),
        ("StreamingVersionInternalErrors", "StreamInternalErrors"),
    ):
        (alarm,) = [a["Properties"] for lid, a in alarms.items() if lid.startswith(prefix)]
        assert alarm["MetricName"] == metric
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        # The version being deployed (what the app reports from AWS_LAMBDA_FUNCTION_VERSION).
        assert "StreamingStreamFunctionCurrentVersion" in json.dumps(dimensions["version"])


def test_api_gateway_calls_the_live_aliases(stage: SynthesizedStage) -> None:
    aliases = stage.service.find_resources("AWS::Lambda::Alias")
    assert len(aliases) == 2
    for alias in aliases.values():
        assert alias["Properties"]["Name"] == "live"
        assert "CodeDeployLambdaAliasUpdate" in alias["UpdatePolicy"]
    methods = stage.service.find_resources("AWS::ApiGateway::Method")
    lambda_methods = [
        m for m in methods.values() if m["Properties"]["Integration"].get("Type") == "AWS_PROXY"
    ]
    assert lambda_methods
    chat_alias, _ = _one(stage, "AWS::Lambda::Alias", "Deployment")
    stream_alias, _ = _one(stage, "AWS::Lambda::Alias", "StreamingDeployment")
    for method in lambda_methods:
        uri = json.dumps(method["Properties"]["Integration"]["Uri"])
        streamed = method["Properties"]["Integration"].get("ResponseTransferMode") == "STREAM"
        assert (stream_alias if streamed else chat_alias) in uri
