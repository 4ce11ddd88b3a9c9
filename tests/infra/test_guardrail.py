"""The stage's Bedrock guardrail (issue 13): built from config with a prompt-attack filter on input, PII
entities, denied topics and words; a version published and referenced by every function that answers
turns; bedrock:ApplyGuardrail on that guardrail only; an alarm and dashboard widgets."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from stacks.config import STAGES
from stacks.config_guardrail import GuardrailConfig, PiiRule
from tests.infra.conftest import (
    CHAT_HANDLER,
    WORKER_HANDLER,
    SynthesizedStage,
    cdk_context,
    function_with_handler,
    only_resource,
    role_statements,
)
from tests.infra.test_streaming import STREAM_HANDLER

TURN_HANDLERS = (CHAT_HANDLER, WORKER_HANDLER, STREAM_HANDLER)


def _guardrail(stage: SynthesizedStage) -> tuple[str, dict[str, Any]]:
    logical_id, guardrail = only_resource(stage.service, "AWS::Bedrock::Guardrail")
    return logical_id, guardrail["Properties"]


def test_config_fails_closed_in_prod_and_staging_and_redacts_their_transcripts() -> None:
    assert STAGES["dev"].guardrail.fail_open
    for name in ("staging", "prod"):
        assert not STAGES[name].guardrail.fail_open
        assert STAGES[name].guardrail.redact_transcripts


def test_the_guardrail_is_built_from_config(stage: SynthesizedStage) -> None:
    config = stage.config.guardrail
    _, guardrail = _guardrail(stage)

    assert guardrail["BlockedInputMessaging"] == config.blocked_input_message
    assert guardrail["BlockedOutputsMessaging"] == config.blocked_output_message
    filters = {
        f["Type"]: (f["InputStrength"], f["OutputStrength"])
        for f in guardrail["ContentPolicyConfig"]["FiltersConfig"]
    }
    assert filters["PROMPT_ATTACK"] == ("HIGH", "NONE")  # on input; Bedrock judges no output for it
    assert filters == {f.type: (f.input_strength, f.output_strength) for f in config.content_filters}
    topics = guardrail["TopicPolicyConfig"]["TopicsConfig"]
    assert [(t["Name"], t["Type"]) for t in topics] == [(t.name, "DENY") for t in config.denied_topics]
    assert guardrail["WordPolicyConfig"]["ManagedWordListsConfig"] == [{"Type": "PROFANITY"}]


def test_pii_is_masked_on_input_only_where_transcripts_are_stored_redacted(stage: SynthesizedStage) -> None:
    config = stage.config.guardrail
    _, guardrail = _guardrail(stage)
    entities = {e["Type"]: e for e in guardrail["SensitiveInformationPolicyConfig"]["PiiEntitiesConfig"]}

    assert set(entities) == {rule.type for rule in config.pii}
    email, card, secret = entities["EMAIL"], entities["CREDIT_DEBIT_CARD_NUMBER"], entities["AWS_SECRET_KEY"]
    assert (email["OutputAction"], email["OutputEnabled"]) == ("ANONYMIZE", True)
    assert email["InputEnabled"] is card["InputEnabled"] is config.redact_transcripts
    assert (secret["InputAction"], secret["InputEnabled"]) == (
        "BLOCK",
        True,
    )  # credentials stop, redacting or not


def test_a_version_is_published_and_every_turn_function_uses_it(stage: SynthesizedStage) -> None:
    guardrail_id, _ = _guardrail(stage)
    version_id, version = only_resource(stage.service, "AWS::Bedrock::GuardrailVersion")
    assert version["Properties"]["GuardrailIdentifier"] == {"Fn::GetAtt": [guardrail_id, "GuardrailId"]}

    for handler in TURN_HANDLERS:
        _, function = function_with_handler(stage.service, handler)
        environment = function["Properties"]["Environment"]["Variables"]
        assert environment["GUARDRAIL_ID"] == {"Fn::GetAtt": [guardrail_id, "GuardrailId"]}
        assert environment["GUARDRAIL_VERSION"] == {"Fn::GetAtt": [version_id, "Version"]}
        assert environment["GUARDRAIL_FAIL_OPEN"] == str(stage.config.guardrail.fail_open).lower()
        assert "GUARDRAIL_LOCAL_POLICY" not in environment  # the offline stand-in is never deployed


def test_apply_guardrail_is_granted_on_this_guardrail_only(stage: SynthesizedStage) -> None:
    guardrail_id, _ = _guardrail(stage)
    resources = stage.service.to_json()["Resources"]
    for handler in TURN_HANDLERS:
        granting = [
            s for s in role_statements(stage.service, handler) if "bedrock:ApplyGuardrail" in json.dumps(s)
        ]
        assert granting == [
            {
                "Action": "bedrock:ApplyGuardrail",
                "Effect": "Allow",
                "Resource": {"Fn::GetAtt": [guardrail_id, "GuardrailArn"]},
            }
        ]
    others = [
        lid
        for lid, r in resources.items()
        if r["Type"] == "AWS::IAM::Policy" and "bedrock:ApplyGuardrail" in json.dumps(r)
    ]
    assert len(others) == len(TURN_HANDLERS)  # no other role may apply it


def test_a_changed_policy_publishes_a_new_version(stage: SynthesizedStage) -> None:
    from stacks.constructs.chat_guardrail import ChatGuardrail

    def fingerprint(config: GuardrailConfig) -> str:
        import aws_cdk as cdk

        return ChatGuardrail(cdk.Stack(), "G", config=config, stage_name="x").fingerprint

    config = stage.config.guardrail
    _, version = only_resource(stage.service, "AWS::Bedrock::GuardrailVersion")
    assert fingerprint(config) in version["Properties"]["Description"]
    assert fingerprint(replace(config, pii=(*config.pii, PiiRule("NAME", "ANONYMIZE")))) != fingerprint(
        config
    )
    assert fingerprint(replace(config, blocked_words=("x",))) != fingerprint(config)


def test_an_alarm_pages_when_the_guardrail_stops_answering(stage: SynthesizedStage) -> None:
    alarms = [
        a["Properties"]
        for a in stage.service.find_resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "GuardrailUnavailable"
    ]
    (alarm,) = alarms
    assert alarm["Namespace"] == f"Chatbot/{stage.config.name}"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"]
    assert "guardrail-unavailable.md" in alarm["AlarmDescription"]


def test_the_dashboard_counts_interventions_by_policy(stage: SynthesizedStage) -> None:
    (dashboard,) = stage.service.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "Guardrail interventions by policy" in body
    assert "GuardrailInterventions" in body
    assert "action,policy,service,source" in body  # the dimensions the handlers publish
    assert "GuardrailUnavailable" in body


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"fail_open": True}, "prod: guardrail.fail_open must be False"),
        ({"pii": (PiiRule("EMAIL", "ANONYMIZE"), PiiRule("EMAIL", "BLOCK"))}, "guardrail.pii"),
        ({"pii": (PiiRule("SHOE_SIZE", "BLOCK"),)}, "guardrail.pii"),
        ({"blocked_input_message": "x" * 501}, "blocked messages"),
        ({"stream_chunk_chars": 20}, "stream_chunk_chars"),
        ({"blocked_words": ("",)}, "blocked_words"),
    ],
)
def test_config_refuses_what_bedrock_or_prod_would_refuse(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        replace(STAGES["prod"], guardrail=replace(STAGES["prod"].guardrail, **changes))


def test_a_stage_may_turn_its_guardrail_off() -> None:
    import aws_cdk as cdk

    from stacks.stage import ChatbotStage

    config = replace(STAGES["dev"], guardrail=GuardrailConfig(enabled=False))
    stage = ChatbotStage(
        cdk.App(context={**cdk_context(), "aws:cdk:bundling-stacks": []}), "off", config=config
    )
    template = cdk.assertions.Template.from_stack(stage.service)
    assert template.find_resources("AWS::Bedrock::Guardrail") == {}
    _, function = function_with_handler(template, CHAT_HANDLER)
    assert "GUARDRAIL_ID" not in function["Properties"]["Environment"]["Variables"]
