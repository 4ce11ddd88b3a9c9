"""scripts/controls.py against moto's SSM: a dry run changes nothing, --apply reaches the handlers, and
only changes the stage's config allows are written."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest

from lambda_src.chat import dependencies as deps_module

# The operator scripts and the saved queries read stacks/ (aws-cdk-lib): make test runs these; the
# runtime venv of make test-runtime holds the handler's dependencies only.
pytest.importorskip("aws_cdk")
from scripts.controls import main
from tests.unit.conftest import REGION, ChatEnv, chat
from tests.unit.stage_session import StageSession


@pytest.fixture
def stage(chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch) -> StageSession:
    name = f"/test/controls-{uuid.uuid4().hex}"
    boto3.client("ssm", region_name=REGION).put_parameter(Name=name, Type="String", Value="{}")
    monkeypatch.setenv("RUNTIME_CONTROLS_PARAMETER", name)
    deps_module.dependencies.cache_clear()
    deps_module._ssm().clear_cache()
    return StageSession(RuntimeControlsParameter=name)


def _stored(stage: StageSession) -> dict[str, Any]:
    value = boto3.client("ssm", region_name=REGION).get_parameter(
        Name=stage.outputs["RuntimeControlsParameter"]
    )["Parameter"]["Value"]
    return dict(json.loads(value))


def _run(stage: StageSession, *arguments: str) -> int:
    code = main(["--stage", "dev", *arguments], session=stage)
    deps_module._ssm().clear_cache()  # as the functions' 30 s cache would have run out
    return code


def test_a_dry_run_prints_what_would_change_and_changes_nothing(
    stage: StageSession, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(stage, "kill-switch", "--on", "--reason", "provider outage") == 0

    out = capsys.readouterr().out
    assert "kill switch:         off" in out
    assert "kill switch:         ON (provider outage)" in out
    assert "dry run: nothing changed" in out
    assert _stored(stage) == {}
    assert chat("session-0001", "hello").status == 200


def test_the_kill_switch_applied_refuses_turns_and_off_admits_them_again(
    stage: StageSession, chat_env: ChatEnv
) -> None:
    assert _run(stage, "kill-switch", "--on", "--reason", "cost spike", "--apply") == 0
    stored = _stored(stage)
    assert stored["turns_paused"] is True
    assert stored["reason"] == "cost spike"
    assert stored["changed_by"].startswith("arn:aws:")
    assert chat("session-0001", "hello").status == 503

    assert _run(stage, "kill-switch", "--off", "--apply") == 0
    assert _stored(stage)["turns_paused"] is False
    assert chat("session-0001", "hello").status == 200


def test_turning_the_switch_on_needs_a_reason(
    stage: StageSession, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(stage, "kill-switch", "--on", "--apply") == 2

    assert "--reason" in capsys.readouterr().err
    assert _stored(stage) == {}


def test_a_provider_is_turned_off_and_on_by_its_configured_name_only(stage: StageSession) -> None:
    assert _run(stage, "provider", "openai", "--off", "--apply") == 0
    assert _stored(stage)["disabled_providers"] == ["openai"]
    assert _run(stage, "provider", "anthropic", "--off", "--apply") == 2

    assert _run(stage, "provider", "openai", "--on", "--apply") == 0
    assert _stored(stage)["disabled_providers"] == []


def test_a_tier_budget_can_be_lowered_and_reset_but_not_raised(
    stage: StageSession, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(stage, "tier-budget", "standard", "50000", "--apply") == 0
    assert _stored(stage)["tier_daily_tokens"] == {"standard": 50_000}

    assert _run(stage, "tier-budget", "standard", "200000", "--apply") == 2  # the tier's own budget
    assert "raising one is a config change" in capsys.readouterr().err
    assert _run(stage, "tier-budget", "gold", "10", "--apply") == 2
    assert _stored(stage)["tier_daily_tokens"] == {"standard": 50_000}

    assert _run(stage, "tier-budget", "standard", "--reset", "--apply") == 0
    assert _stored(stage)["tier_daily_tokens"] == {}


def test_a_parameter_that_cannot_be_read_fails_with_a_message(
    chat_env: ChatEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = StageSession(RuntimeControlsParameter=f"/test/missing-{uuid.uuid4().hex}")

    assert main(["--stage", "dev", "kill-switch", "--on", "--reason", "x", "--apply"], session=missing) == 1

    assert "ParameterNotFound" in capsys.readouterr().err
