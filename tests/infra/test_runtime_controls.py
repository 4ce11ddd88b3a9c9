"""The runtime controls' parameter: in the stateful stack with a value no deploy changes, read by every
function that answers turns, and by nothing more than ssm:GetParameter on it."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import (
    CHAT_HANDLER,
    WORKER_HANDLER,
    SynthesizedStage,
    function_with_handler,
    only_resource,
    role_statements,
)
from tests.infra.test_streaming import STREAM_HANDLER


def _parameter_reference(stage: SynthesizedStage) -> dict[str, Any]:
    """How the service stack refers to the parameter's name (an output of the data stack)."""
    logical_id, _ = only_resource(stage.data, "AWS::SSM::Parameter")
    _, chat = function_with_handler(stage.service, CHAT_HANDLER)
    reference: dict[str, Any] = chat["Properties"]["Environment"]["Variables"]["RUNTIME_CONTROLS_PARAMETER"]
    assert logical_id in str(reference)
    return reference


def test_the_parameter_holds_no_controls_in_the_template_so_a_deploy_never_changes_them(
    stage: SynthesizedStage,
) -> None:
    _, parameter = only_resource(stage.data, "AWS::SSM::Parameter")

    assert parameter["Properties"]["Value"] == "{}"
    assert parameter["Properties"]["Type"] == "String"
    assert "Name" not in parameter["Properties"]  # generated: stages sharing an account never collide
    assert "RuntimeControlsParameter" in stage.data.to_json()["Outputs"]


def test_every_function_that_answers_turns_reads_the_controls_and_may_only_get_them(
    stage: SynthesizedStage,
) -> None:
    reference = _parameter_reference(stage)
    template = stage.service
    for handler in (CHAT_HANDLER, WORKER_HANDLER, STREAM_HANDLER):
        _, function = function_with_handler(template, handler)
        assert function["Properties"]["Environment"]["Variables"]["RUNTIME_CONTROLS_PARAMETER"] == reference

        ssm = [s for s in role_statements(template, handler) if "ssm:" in str(s["Action"])]
        (statement,) = ssm
        assert statement["Action"] == "ssm:GetParameter"
        assert statement["Resource"] == {"Fn::Join": ["", [_arn_prefix(stage), reference]]}


def _arn_prefix(stage: SynthesizedStage) -> str:
    environment = stage.config.environment
    return f"arn:aws:ssm:{environment.region}:{environment.account}:parameter/"
