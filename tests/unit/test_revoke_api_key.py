"""scripts/revoke_api_key.py with moto: a dry run changes nothing, --apply disables the key and detaches
it from its plans, the verification key is refused, and no key value is ever printed."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from scripts.revoke_api_key import main
from tests.unit.conftest import REGION, ChatEnv
from tests.unit.stage_session import StageSession


@pytest.fixture
def issued(chat_env: ChatEnv) -> dict[str, Any]:
    apigateway = boto3.client("apigateway", region_name=REGION)
    plans = [apigateway.create_usage_plan(name=f"tier-{n}")["id"] for n in range(2)]
    key = apigateway.create_api_key(name="standard-Acme", enabled=True, generateDistinctId=True)
    for plan in plans:
        apigateway.create_usage_plan_key(usagePlanId=plan, keyId=key["id"], keyType="API_KEY")
    verification = apigateway.create_api_key(name="verification", enabled=True)
    return {"apigateway": apigateway, "key": key, "plans": plans, "verification": verification["id"]}


def _run(issued: dict[str, Any], *arguments: str) -> int:
    session = StageSession(VerificationApiKeyId=issued["verification"])
    return main(["--stage", "dev", *arguments], session=session)


def _state(issued: dict[str, Any], key_id: str) -> tuple[bool, set[str]]:
    apigateway = issued["apigateway"]
    enabled = apigateway.get_api_key(apiKey=key_id)["enabled"]
    return enabled, {p["id"] for p in apigateway.get_usage_plans(keyId=key_id)["items"]}


def test_a_dry_run_names_the_key_and_its_plans_and_changes_nothing(
    issued: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    key_id = issued["key"]["id"]

    assert _run(issued, "--key-id", key_id) == 0

    out = capsys.readouterr().out
    assert f"key {key_id} (standard-Acme): enabled" in out
    assert all(plan in out for plan in issued["plans"])
    assert "dry run" in out
    assert issued["key"]["value"] not in out
    assert _state(issued, key_id) == (True, set(issued["plans"]))


def test_apply_disables_the_key_and_detaches_it_from_every_plan(
    issued: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    key_id = issued["key"]["id"]

    assert _run(issued, "--key-id", key_id, "--apply") == 0

    assert _state(issued, key_id) == (False, set())
    out = capsys.readouterr().out
    assert "revoked" in out
    assert issued["key"]["value"] not in out
    assert _run(issued, "--key-id", key_id, "--apply") == 0  # again: already revoked, nothing to do


def test_the_verification_key_is_refused(issued: dict[str, Any]) -> None:
    assert _run(issued, "--key-id", issued["verification"], "--apply") == 2

    assert issued["apigateway"].get_api_key(apiKey=issued["verification"])["enabled"] is True


def test_an_unknown_key_fails_with_a_message(
    issued: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(issued, "--key-id", "nosuchkey", "--apply") == 1

    assert "NotFound" in capsys.readouterr().err
