"""Every log group of every stack: encrypted with a key that admits CloudWatch Logs of this account and
region only, kept for the stage's retention and removed (or retained, in prod) with the stage's policy;
both web ACLs log with credentials redacted."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.constructs.waf_rules import REDACTED_HEADERS
from tests.infra.conftest import SynthesizedStage

TEMPLATES = ("data", "service", "edge", "web", "edge_watch")


def _resources(stage: SynthesizedStage, name: str) -> dict[str, Any]:
    return stage.templates[name]["Resources"]


def _log_groups(stage: SynthesizedStage) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (name, logical_id, resource)
        for name in TEMPLATES
        for logical_id, resource in _resources(stage, name).items()
        if resource["Type"] == "AWS::Logs::LogGroup"
    ]


def test_every_stack_with_a_function_api_or_web_acl_logs_somewhere(stage: SynthesizedStage) -> None:
    where = {name for name, _, _ in _log_groups(stage)}
    assert {"service", "edge", "web"} <= where
    # Lambda x3 (chat, stream, worker), API access + execution, regional WAF, and the budget action's
    # function where there is one; edge WAF; the page deployment's function.
    expected = 6 + stage.config.budget_pauses_turns
    assert len([1 for name, _, _ in _log_groups(stage) if name == "service"]) == expected


@pytest.mark.parametrize("template", TEMPLATES)
def test_log_groups_are_encrypted_kept_and_removed_per_stage(stage: SynthesizedStage, template: str) -> None:
    retain = stage.config.removal_policy.name == "RETAIN"
    for name, logical_id, group in _log_groups(stage):
        if name != template:
            continue
        props = group["Properties"]
        assert props["RetentionInDays"] == stage.config.log_retention_days, logical_id
        assert group["DeletionPolicy"] == ("Retain" if retain else "Delete"), logical_id
        (key_id,) = props["KmsKeyId"]["Fn::GetAtt"][:1]
        key = _resources(stage, name)[key_id]
        assert key["Type"] == "AWS::KMS::Key"
        assert key["Properties"]["EnableKeyRotation"] is True
        assert key["DeletionPolicy"] == group["DeletionPolicy"], "a retained group needs its key"


def test_log_keys_admit_cloudwatch_logs_of_this_account_and_region_for_log_groups_only(
    stage: SynthesizedStage,
) -> None:
    account = stage.config.account
    for name, _, group in _log_groups(stage):
        resources = _resources(stage, name)
        key = resources[group["Properties"]["KmsKeyId"]["Fn::GetAtt"][0]]
        region = "us-east-1" if name == "edge" else stage.config.region
        services = [
            s for s in key["Properties"]["KeyPolicy"]["Statement"] if "Service" in s.get("Principal", {})
        ]
        (logs,) = services  # nothing but CloudWatch Logs
        assert logs["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}
        assert logs["Condition"] == {
            "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account}:log-group:*"}
        }


@pytest.mark.parametrize("template", ["edge", "service"])
def test_both_web_acls_log_to_waf_log_groups_with_credentials_redacted(
    stage: SynthesizedStage, template: str
) -> None:
    resources = _resources(stage, template)
    (acl_id,) = [i for i, r in resources.items() if r["Type"] == "AWS::WAFv2::WebACL"]
    (logging,) = [
        r["Properties"] for r in resources.values() if r["Type"] == "AWS::WAFv2::LoggingConfiguration"
    ]
    assert logging["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    redacted = {field["SingleHeader"]["Name"] for field in logging["RedactedFields"]}
    assert redacted == set(REDACTED_HEADERS)
    assert {"x-api-key", "authorization", "cookie", "x-origin-verify"} <= redacted
    ((group_id, _),) = (d["Fn::GetAtt"] for d in logging["LogDestinationConfigs"])
    assert resources[group_id]["Type"] == "AWS::Logs::LogGroup"
    assert resources[group_id]["Properties"]["LogGroupName"].startswith("aws-waf-logs-")
