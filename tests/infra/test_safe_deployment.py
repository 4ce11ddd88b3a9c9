"""Canary deploys: the API calls the live alias; CodeDeploy shifts it per stage and rolls back on alarms."""

from __future__ import annotations

import json

from tests.infra.conftest import SynthesizedStage, only_resource

EXPECTED_CONFIG = {
    "canary": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
    "linear": "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
    "all_at_once": "CodeDeployDefault.LambdaAllAtOnce",
}


def test_each_stage_shifts_traffic_its_own_way(stage: SynthesizedStage) -> None:
    expected = {"dev": "all_at_once", "staging": "linear", "prod": "canary"}[stage.config.name]
    assert stage.config.deployment_strategy == expected
    _, group = only_resource(stage.service, "AWS::CodeDeploy::DeploymentGroup")
    assert group["Properties"]["DeploymentConfigName"] == EXPECTED_CONFIG[expected]


def test_the_deployment_rolls_back_on_failure_and_on_the_alias_alarms(stage: SynthesizedStage) -> None:
    _, group = only_resource(stage.service, "AWS::CodeDeploy::DeploymentGroup")
    props = group["Properties"]
    assert set(props["AutoRollbackConfiguration"]["Events"]) == {
        "DEPLOYMENT_FAILURE",
        "DEPLOYMENT_STOP_ON_REQUEST",
        "DEPLOYMENT_STOP_ON_ALARM",
    }
    alarm_names = json.dumps(props["AlarmConfiguration"]["Alarms"])
    assert "DeploymentAliasErrors" in alarm_names
    assert "DeploymentAliasDurationP99" in alarm_names
    alarms = stage.service.find_resources("AWS::CloudWatch::Alarm")
    for logical_id in ("DeploymentAliasErrors", "DeploymentAliasDurationP99"):
        (alarm,) = [a for lid, a in alarms.items() if lid.startswith(logical_id)]
        dimensions = {d["Name"]: d["Value"] for d in alarm["Properties"]["Dimensions"]}
        assert "Resource" in dimensions
        assert "ExecutedVersion" in dimensions  # the version being deployed, not the old one


def test_api_gateway_calls_the_live_alias(stage: SynthesizedStage) -> None:
    alias_id, alias = only_resource(stage.service, "AWS::Lambda::Alias")
    assert alias["Properties"]["Name"] == "live"
    assert "CodeDeployLambdaAliasUpdate" in alias["UpdatePolicy"]
    methods = stage.service.find_resources("AWS::ApiGateway::Method")
    lambda_methods = [
        m for m in methods.values() if m["Properties"]["Integration"].get("Type") == "AWS_PROXY"
    ]
    assert lambda_methods
    for method in lambda_methods:
        assert alias_id in json.dumps(method["Properties"]["Integration"]["Uri"])
