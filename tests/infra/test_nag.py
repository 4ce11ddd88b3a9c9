"""cdk-nag's five packs (AwsSolutions, Serverless, NIST 800-53 R5, HIPAA Security, PCI DSS 3.2.1): no
unacknowledged finding in any stage, and every acknowledgement is narrow, specific and still needed."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_sqs as sqs
from constructs import IConstruct

from stacks.config import STAGES
from stacks.nag import MIN_REASON_LENGTH, NAG_PACKS, acknowledge, acknowledgements_suspended
from stacks.stage import build_stages
from tests.infra.conftest import STAGE_NAMES, SynthesizedStage, cdk_context

GENERIC_REASONS = ("false positive", "not needed", "not required", "acceptable", "n/a", "todo", "ignore")


def _findings(scope: IConstruct) -> set[tuple[str, str]]:
    """(rule id, construct path) of every unacknowledged finding of every pack."""
    return {
        (violation.rule_name, str(resource.construct_path))
        for pack_type in NAG_PACKS
        for violation in pack_type().validate_scope(scope).violations
        for resource in violation.violating_resources
    }


# By id(scope), holding the scope so that its id is never reused by another.
_ACKNOWLEDGEMENTS: dict[int, tuple[IConstruct, list[tuple[IConstruct, str, str]]]] = {}


def _acknowledgements(scope: IConstruct) -> list[tuple[IConstruct, str, str]]:
    """Every acknowledgement under ``scope``; walking the tree through jsii takes most of a second, so a
    session's stages are walked once."""
    if id(scope) not in _ACKNOWLEDGEMENTS:
        _ACKNOWLEDGEMENTS[id(scope)] = (scope, _walk_acknowledgements(scope))
    return _ACKNOWLEDGEMENTS[id(scope)][1]


def _walk_acknowledgements(scope: IConstruct) -> list[tuple[IConstruct, str, str]]:
    found = []
    for construct in scope.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                for rule_id, reason in entry.data.items():
                    found.append((construct, rule_id.removeprefix("Annotation::"), reason))
    return found


def test_stage_has_no_unacknowledged_findings(stage: SynthesizedStage) -> None:
    assert sorted(_findings(stage.stage)) == []


def test_the_gate_reports_a_real_finding() -> None:
    """Guards the test above: the packs used here do flag a resource that breaks a rule."""
    app = cdk.App(context=cdk_context(), builtin_cloud_formation_validation=False)
    stack = cdk.Stack(app, "Probe")
    sqs.Queue(stack, "PlainQueue", enforce_ssl=False)
    rules = {rule for rule, _ in _findings(app)}
    assert {"AwsSolutions-SQS3", "AwsSolutions-SQS4", "Serverless-SQSRedrivePolicy"} <= rules


def test_every_acknowledgement_has_a_specific_reason(stage: SynthesizedStage) -> None:
    acknowledgements = _acknowledgements(stage.stage)
    assert acknowledgements, "expected the acknowledgements this app makes"
    for construct, rule_id, reason in acknowledgements:
        where = f"{rule_id} on {construct.node.path}"
        assert len(reason.strip()) >= MIN_REASON_LENGTH, where
        assert not any(phrase in reason.lower() for phrase in GENERIC_REASONS), where


def test_acknowledgements_sit_on_resources_not_on_stacks_or_stages(stage: SynthesizedStage) -> None:
    for construct, rule_id, _ in _acknowledgements(stage.stage):
        assert not isinstance(construct, cdk.Stack | cdk.Stage | cdk.App), (
            f"{rule_id} acknowledged for a whole {type(construct).__name__}"
        )


@pytest.mark.parametrize("stage_name", STAGE_NAMES)
def test_every_acknowledgement_still_excuses_a_real_finding(
    stage_name: str, synthesized: dict[str, SynthesizedStage]
) -> None:
    """A stale acknowledgement would silently excuse a future regression of the same rule."""
    acknowledged = {(c.node.path, rule) for c, rule, _ in _acknowledgements(synthesized[stage_name].stage)}
    with acknowledgements_suspended() as recorded:
        app = cdk.App(context=cdk_context(), builtin_cloud_formation_validation=False)
        findings = _findings(build_stages(app, [STAGES[stage_name]])[stage_name])

    assert set(recorded) == acknowledged
    for path, rule in acknowledged:
        assert any(
            found_rule == rule and (found_path == path or found_path.startswith(path + "/"))
            for found_rule, found_path in findings
        ), f"{rule} on {path} excuses nothing"


def test_acknowledge_refuses_a_vague_reason() -> None:
    stack = cdk.Stack(cdk.App())
    with pytest.raises(ValueError, match="specific reason"):
        acknowledge(stack, "AwsSolutions-IAM5", "ok")


def test_route_acknowledgements_name_their_route(stage: SynthesizedStage) -> None:
    for construct, rule_id, reason in _acknowledgements(stage.stage):
        if rule_id in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
            assert isinstance(construct, apigw.Method)
            assert f"{construct.http_method} {construct.resource.path}" in reason, reason
