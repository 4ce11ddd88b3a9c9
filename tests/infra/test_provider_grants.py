"""The chat role gets exactly what the configured LLM providers need, and nothing for the others."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from stacks.config import STAGES, LlmConfig, ProviderConfig
from stacks.stage import build_stages
from tests.infra.conftest import (
    CHAT_HANDLER,
    SynthesizedStage,
    cdk_context,
    function_with_handler,
    role_statements,
)

OPENAI = ProviderConfig(
    name="openai", kind="openai", model="gpt-4o-mini", base_url="https://api.openai.com/v1"
)
NOVA = ProviderConfig(name="nova", kind="bedrock", model="amazon.nova-lite-v1:0")
CLAUDE_PROFILE = ProviderConfig(
    name="claude", kind="bedrock", model="us.anthropic.claude-3-5-haiku-20241022-v1:0"
)


def _service_template(*providers: ProviderConfig) -> dict[str, Any]:
    config = dataclasses.replace(
        STAGES["dev"], llm=LlmConfig(providers=providers, max_output_tokens=256, timeout_seconds=20)
    )
    app = cdk.App(context=cdk_context(), builtin_cloud_formation_validation=False)
    stage = build_stages(app, [config])["dev"]
    return dict(Template.from_stack(stage.service).to_json())


@pytest.fixture(scope="module")
def bedrock_only() -> dict[str, Any]:
    return _service_template(NOVA, CLAUDE_PROFILE)


@pytest.fixture(scope="module")
def openai_only() -> dict[str, Any]:
    return _service_template(OPENAI)


def _statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    return role_statements(template, CHAT_HANDLER)


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else actions


def _environment(template: dict[str, Any]) -> dict[str, Any]:
    _, function = function_with_handler(template, CHAT_HANDLER)
    return dict(function["Properties"]["Environment"]["Variables"])


def test_bedrock_only_stage_cannot_read_the_llm_secret(bedrock_only: dict[str, Any]) -> None:
    assert not any(a.startswith("secretsmanager:") for s in _statements(bedrock_only) for a in _actions(s))
    assert "LLM_SECRET_ARN" not in _environment(bedrock_only)


def test_bedrock_models_are_invokable_by_exact_arn_only(bedrock_only: dict[str, Any]) -> None:
    (statement,) = [
        s for s in _statements(bedrock_only) if any(a.startswith("bedrock:Invoke") for a in _actions(s))
    ]
    assert _actions(statement) == ["bedrock:InvokeModel"]
    resources = json.dumps(statement["Resource"])
    assert "foundation-model/amazon.nova-lite-v1:0" in resources
    assert "inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0" in resources
    assert "foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0" in resources
    assert "foundation-model/*" not in resources


def test_openai_only_stage_has_no_bedrock_permission(openai_only: dict[str, Any]) -> None:
    # The guardrail's bedrock:ApplyGuardrail is every stage's (tests/infra/test_guardrail.py); no model.
    assert not any(a.startswith("bedrock:Invoke") for s in _statements(openai_only) for a in _actions(s))
    (secret,) = [s for s in _statements(openai_only) if "secretsmanager:GetSecretValue" in _actions(s)]
    assert "LlmApiKeySecret" in json.dumps(secret["Resource"])


def test_configured_stages_grant_both_of_their_providers(stage: SynthesizedStage) -> None:
    statements = _statements(dict(stage.service.to_json()))
    kinds = {p.kind for p in stage.config.llm.providers}
    has_bedrock = any("bedrock:InvokeModel" in _actions(s) for s in statements)
    has_secret = any("secretsmanager:GetSecretValue" in _actions(s) for s in statements)
    assert has_bedrock == ("bedrock" in kinds)
    assert has_secret == ("openai" in kinds)


def test_no_wildcard_actions_on_bedrock_or_dynamodb(stage: SynthesizedStage) -> None:
    for statement in _statements(dict(stage.service.to_json())):
        for action in _actions(statement):
            if action.startswith(("bedrock:", "dynamodb:")):
                assert "*" not in action, action


def test_provider_order_reaches_the_handler(stage: SynthesizedStage) -> None:
    providers = json.loads(_environment(dict(stage.service.to_json()))["LLM_PROVIDERS"])
    assert [p["name"] for p in providers] == [p.name for p in stage.config.llm.providers]
