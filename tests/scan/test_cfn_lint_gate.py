"""The cfn-lint gate fails on what CloudFormation would refuse, and allows only the warnings listed with
a reason in scan/cfn_lint_allowed.toml."""

from __future__ import annotations

import json
from typing import Any

from scan.cfn_lint_gate import Allowance, lint_template, load_allowances

FUNCTION_WITH_ROLE: dict[str, Any] = {
    "Resources": {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            },
        },
        "Function": {
            "Type": "AWS::Lambda::Function",
            "DependsOn": ["Role"],
            "Properties": {
                "Runtime": "python3.14",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": "def handler(event, context): pass"},
            },
        },
    }
}


def _lint(template: dict[str, Any], allowances: list[Allowance] | None = None) -> list:
    return lint_template(
        "probe.json",
        json.dumps(template, indent=1),
        region="us-east-1",
        allowances=load_allowances() if allowances is None else allowances,
    )


def test_a_property_outside_the_schema_pattern_is_a_blocking_error() -> None:
    template = {
        "Resources": {
            "WebAcl": {
                "Type": "AWS::WAFv2::WebACL",
                "Properties": {
                    "Scope": "REGIONAL",
                    "Description": "Chat API: CloudFront only (origin-verify generation 1)",
                    "DefaultAction": {"Allow": {}},
                    "VisibilityConfig": {
                        "CloudWatchMetricsEnabled": True,
                        "MetricName": "probe",
                        "SampledRequestsEnabled": False,
                    },
                },
            }
        }
    }
    (finding,) = [f for f in _lint(template) if f.rule == "E3031"]
    assert finding.blocking
    assert (finding.resource, finding.resource_type) == ("WebAcl", "AWS::WAFv2::WebACL")
    assert finding.line > 1  # points into the template


def test_a_listed_warning_is_allowed_with_its_reason() -> None:
    (finding,) = [f for f in _lint(FUNCTION_WITH_ROLE) if f.rule == "W3005"]
    assert finding.allowed_by is not None
    assert not finding.blocking


def test_the_same_warning_blocks_without_the_list() -> None:
    (finding,) = [f for f in _lint(FUNCTION_WITH_ROLE, allowances=[]) if f.rule == "W3005"]
    assert finding.blocking


def test_a_warning_on_a_resource_type_the_list_does_not_name_blocks() -> None:
    queue = {
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {}}},
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "DependsOn": ["Key"],
                "Properties": {"KmsMasterKeyId": {"Ref": "Key"}},
            },
        }
    }
    (finding,) = [f for f in _lint(queue) if f.rule == "W3005"]
    assert finding.blocking


def test_every_allowance_gives_a_specific_reason() -> None:
    allowances = load_allowances()
    assert allowances
    for allowance in allowances:
        assert len(allowance.reason) >= 80, allowance
        assert allowance.rule.startswith("W"), "errors are never allowed"
        assert allowance.resource_type.startswith("AWS::")
