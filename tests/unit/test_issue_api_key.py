"""scripts/issue_api_key.py with moto: a key in the tier's plan, its tier recorded, the value printed once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from scripts.issue_api_key import issue_key, main

REGION = "us-east-1"


@pytest.fixture
def stage() -> Iterator[dict[str, Any]]:
    with mock_aws():
        apigateway = boto3.client("apigateway", region_name=REGION)
        plan = apigateway.create_usage_plan(name="standard")
        table = boto3.resource("dynamodb", region_name=REGION).create_table(
            TableName=f"issue-key-{uuid.uuid4().hex[:8]}",  # the session's moto account may be active
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield {"apigateway": apigateway, "plan_id": plan["id"], "table": table}
        table.delete()


def test_a_key_is_issued_into_the_tier_and_the_tier_recorded(stage: dict[str, Any]) -> None:
    issued = issue_key(
        stage["apigateway"],
        stage["table"],
        usage_plan_id=stage["plan_id"],
        tier="standard",
        client="Acme Corp",
    )

    plan_keys = stage["apigateway"].get_usage_plan_keys(usagePlanId=stage["plan_id"])["items"]
    assert [k["id"] for k in plan_keys] == [issued.key_id]
    profile = stage["table"].get_item(Key={"pk": f"CLIENT#{issued.key_id}", "sk": "PROFILE"})["Item"]
    assert profile["tier"] == "standard"
    assert issued.value
    assert issued.value not in str(profile)


def test_a_key_whose_tier_cannot_be_recorded_is_withdrawn(stage: dict[str, Any]) -> None:
    missing_table = boto3.resource("dynamodb", region_name=REGION).Table("missing")
    with pytest.raises(ClientError, match="ResourceNotFound"):
        issue_key(
            stage["apigateway"],
            missing_table,
            usage_plan_id=stage["plan_id"],
            tier="standard",
            client="Withdrawn Co",
        )
    assert not [
        k for k in stage["apigateway"].get_api_keys()["items"] if k["name"] == "standard-Withdrawn-Co"
    ]


def test_a_strange_client_name_is_refused(stage: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="client name"):
        issue_key(
            stage["apigateway"],
            stage["table"],
            usage_plan_id=stage["plan_id"],
            tier="standard",
            client="x\n;rm",
        )


def test_the_cli_prints_the_value_once_on_stdout_only(
    stage: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        "scripts.issue_api_key.stage_outputs",
        lambda _cfn, _stage: {
            "UsagePlanStandard": stage["plan_id"],
            "ConversationTableName": stage["table"].name,
        },
    )

    assert main(["--stage", "dev", "--tier", "standard", "--client", "Acme Corp", "--region", REGION]) == 0

    out, err = capsys.readouterr()
    (value,) = out.split()
    assert value not in err
    keys = stage["apigateway"].get_api_keys(includeValues=True)["items"]
    assert value in [k["value"] for k in keys]


def test_an_unknown_tier_is_refused_with_the_list(
    stage: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        "scripts.issue_api_key.stage_outputs",
        lambda _cfn, _stage: {"UsagePlanFree": "a", "UsagePlanPremium": "b", "ConversationTableName": "t"},
    )
    assert main(["--stage", "dev", "--tier", "gold", "--client", "Acme", "--region", REGION]) == 2
    assert "free, premium" in capsys.readouterr().err
