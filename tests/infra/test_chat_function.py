"""The chat Lambda: runtime, sizing, tracing, logs, environment and permissions."""

from __future__ import annotations

import importlib.metadata
import json
import re
from typing import Any

import pytest
from aws_cdk import aws_lambda as lambda_

from lambda_src.chat.settings import Settings
from tests.infra.conftest import (
    CHAT_HANDLER,
    REPO_ROOT,
    WORKER_HANDLER,
    SynthesizedStage,
    function_with_handler,
    role_statements,
)

NEWEST_PYTHON = max(
    (getattr(lambda_.Runtime, name) for name in dir(lambda_.Runtime) if name.startswith("PYTHON_3_")),
    key=lambda runtime: int(runtime.name.split(".")[1]),
)


def _function(stage: SynthesizedStage) -> dict:
    return function_with_handler(stage.service, CHAT_HANDLER)[1]["Properties"]


def test_runs_the_newest_python_on_arm64_with_active_tracing(stage: SynthesizedStage) -> None:
    props = _function(stage)
    assert props["Runtime"] == NEWEST_PYTHON.name == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}


def test_sizes_come_from_the_stage_config(stage: SynthesizedStage) -> None:
    props = _function(stage)
    assert props["MemorySize"] == stage.config.lambda_memory_mb
    assert props["Timeout"] == stage.config.lambda_timeout_seconds < 29
    assert props.get("ReservedConcurrentExecutions") == stage.config.reserved_concurrency


def test_logs_to_its_own_group_with_the_configured_retention(stage: SynthesizedStage) -> None:
    props = _function(stage)
    log_group_id, log_group = next(
        (lid, res)
        for lid, res in stage.service.find_resources("AWS::Logs::LogGroup").items()
        if lid.startswith("ChatLogs")
    )
    assert props["LoggingConfig"] == {"LogFormat": "JSON", "LogGroup": {"Ref": log_group_id}}
    assert log_group["Properties"]["RetentionInDays"] == stage.config.log_retention_days


@pytest.mark.parametrize("handler", [CHAT_HANDLER, WORKER_HANDLER])
def test_runs_the_powertools_layer_of_the_release_the_tests_run(
    stage: SynthesizedStage, handler: str
) -> None:
    """The layer is found at deploy time by AWS's SSM parameter for exactly config.powertools_version."""
    (layer,) = function_with_handler(stage.service, handler)[1]["Properties"]["Layers"]
    parameter = stage.service.to_json()["Parameters"][layer["Ref"]]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert parameter["Default"] == (
        f"/aws/service/powertools/python/arm64/python3.14/{stage.config.powertools_version}"
    )


def test_the_tests_run_the_powertools_release_the_layer_holds(stage: SynthesizedStage) -> None:
    assert importlib.metadata.version("aws-lambda-powertools") == stage.config.powertools_version
    pins = (REPO_ROOT / "lambda_src" / "requirements.txt").read_text()
    assert re.search(
        rf"^aws-lambda-powertools(\[[a-z,]+\])?=={re.escape(stage.config.powertools_version)}$", pins, re.M
    )


def test_environment_matches_what_the_handler_reads(stage: SynthesizedStage) -> None:
    variables = _function(stage)["Environment"]["Variables"]
    # The stream's timing is read by the stream function only (tests/infra/test_streaming.py); the
    # guardrail's offline stand-in is for make dev and the tests, never deployed.
    handler_settings = {
        name.upper()
        for name in Settings.model_fields
        if not name.startswith("stream_") and name != "guardrail_local_policy"
    }
    assert handler_settings <= set(variables)
    powertools = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}
    if not stage.config.xray_sdk_subsegments:
        powertools.add("POWERTOOLS_TRACE_DISABLED")
    # BUILD_ID is read by /health alone, from the environment
    assert set(variables) - handler_settings == powertools | {"BUILD_ID"}


def test_environment_holds_references_not_secrets(stage: SynthesizedStage) -> None:
    variables = _function(stage)["Environment"]["Variables"]
    # The key is referenced by ARN and read at run time; the table by name.
    assert "Fn::GetStackOutput" in json.dumps(variables["LLM_SECRET_ARN"])
    assert "Fn::GetStackOutput" in json.dumps(variables["TABLE_NAME"])
    assert not any("KEY" in name and "ARN" not in name for name in variables)


def test_role_has_no_managed_policies(stage: SynthesizedStage) -> None:
    role_id = _function(stage)["Role"]["Fn::GetAtt"][0]
    role = stage.service.to_json()["Resources"][role_id]
    assert "lambda.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
    assert "ManagedPolicyArns" not in role["Properties"]


def _statements(stage: SynthesizedStage) -> list[dict]:
    return role_statements(stage.service, CHAT_HANDLER)


def _actions(statement: dict) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else actions


@pytest.mark.parametrize("handler", [CHAT_HANDLER, WORKER_HANDLER])
def test_table_access_is_limited_to_the_actions_a_turn_needs(stage: SynthesizedStage, handler: str) -> None:
    """A turn is one BatchGetItem and two TransactWriteItems (whose entries need Put, Update, Delete and
    ConditionCheckItem); GET /conversations queries the sessions index, and no other index."""
    dynamodb_statements = [
        s
        for s in role_statements(stage.service, handler)
        if any(a.startswith("dynamodb:") for a in _actions(s))
    ]
    assert len(dynamodb_statements) == 1
    (statement,) = dynamodb_statements
    assert sorted(_actions(statement)) == [
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ]
    resources = json.dumps(statement["Resource"])
    assert "*" not in resources
    assert "ConversationsTable" in resources
    assert '"/index/sessions"' in resources


def test_no_statement_allows_all_actions_of_a_service(stage: SynthesizedStage) -> None:
    for statement in _statements(stage):
        for action in _actions(statement):
            assert not action.endswith(":*"), action
            # The only prefixes allowed are CDK's KMS grants (GenerateDataKey*, ReEncrypt*).
            assert not action.endswith("*") or action.startswith("kms:"), action


def test_only_xray_is_granted_on_every_resource(stage: SynthesizedStage) -> None:
    for statement in _statements(stage):
        if statement["Resource"] == "*":
            assert all(a.startswith("xray:") for a in _actions(statement)), statement


def test_secret_read_is_granted_on_the_llm_secret_only(stage: SynthesizedStage) -> None:
    (statement,) = [
        s for s in _statements(stage) if any(a.startswith("secretsmanager:") for a in _actions(s))
    ]
    assert _actions(statement) == ["secretsmanager:GetSecretValue"]
    assert "LlmApiKeySecret" in json.dumps(statement["Resource"])


@pytest.mark.parametrize("handler", [CHAT_HANDLER, WORKER_HANDLER])
def test_the_data_key_is_usable_only_through_dynamodb_and_secrets_manager(
    stage: SynthesizedStage, handler: str
) -> None:
    """Neither function holds kms:Decrypt on the data key outside those services (the SQS grants name the
    queues' own key)."""
    kms = [
        s for s in role_statements(stage.service, handler) if any(a.startswith("kms:") for a in _actions(s))
    ]
    on_data_key = [s for s in kms if "DataKey" in json.dumps(s["Resource"])]
    (statement,) = on_data_key
    assert sorted(statement["Condition"]["StringEquals"]["kms:ViaService"]) == [
        f"dynamodb.{stage.config.region}.amazonaws.com",
        f"secretsmanager.{stage.config.region}.amazonaws.com",
    ]
    for other in kms:
        if other is not statement:
            assert "JobsKey" in json.dumps(other["Resource"]), other


def test_the_functions_know_the_build_they_run(stage: SynthesizedStage) -> None:
    from lambda_src import __version__
    from stacks.constructs.chat_function import code_fingerprint

    for handler in (CHAT_HANDLER, WORKER_HANDLER):
        variables = function_with_handler(stage.service, handler)[1]["Properties"]["Environment"]["Variables"]
        assert variables["BUILD_ID"] == f"{__version__}+{code_fingerprint()[:12]}"


def test_the_build_id_changes_with_the_code(tmp_path: Any) -> None:
    import shutil

    from stacks.constructs.chat_function import code_fingerprint

    copy = tmp_path / "lambda_src"
    shutil.copytree(REPO_ROOT / "lambda_src", copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = code_fingerprint(copy)
    assert before == code_fingerprint(REPO_ROOT / "lambda_src")  # the same code, the same id
    (copy / "handlers" / "chat.py").write_text((copy / "handlers" / "chat.py").read_text() + "\n# changed\n")
    assert code_fingerprint(copy) != before
