"""The checkov gate fails on a failed check, on a skip without a reason and on a template checkov could
not read; a skip written by stacks.nag.skip_checkov() is one checkov honours."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_logs as logs

from scan.checkov_gate import scan_templates
from stacks.nag import skip_checkov
from tests.infra.conftest import cdk_context

# Starts a browser, a server or a tool in a process of its own: make test-e2e runs it.
pytestmark = pytest.mark.e2e


def _write(tmp_path: Path, name: str, template: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(template, indent=1))
    return path


def _log_group(metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}}
    if metadata:
        resource["Metadata"] = metadata
    return resource


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One checkov run over: an unencrypted log group; the same skipped with a reason; skipped without one;
    a file that is not valid JSON."""
    tmp_path = tmp_path_factory.mktemp("checkov")
    reason = "Probe: this log group holds nothing and is encrypted elsewhere."
    paths = [
        _write(tmp_path, "failing.json", {"Resources": {"Plain": _log_group()}}),
        _write(
            tmp_path,
            "skipped.json",
            {
                "Resources": {
                    "WithReason": _log_group(
                        {"checkov": {"skip": [{"id": "CKV_AWS_158", "comment": reason}]}}
                    ),
                    "WithoutReason": _log_group({"checkov": {"skip": [{"id": "CKV_AWS_158"}]}}),
                }
            },
        ),
    ]
    broken = tmp_path / "broken.json"
    broken.write_text('{"Resources": {"Half": {"Type": "AWS::Logs::LogGroup", ')
    return scan_templates([*paths, broken]), reason


def test_a_failed_check_fails_the_gate(probe: Any) -> None:
    result, _ = probe
    assert [(c.check_id, c.resource) for c in result.failed if c.check_id == "CKV_AWS_158"] == [
        ("CKV_AWS_158", "AWS::Logs::LogGroup.Plain")
    ]
    assert any("CKV_AWS_158 failed on AWS::Logs::LogGroup.Plain" in line for line in result.problems)


def test_a_skip_with_a_reason_passes_and_one_without_fails(probe: Any) -> None:
    result, reason = probe
    skipped = {c.resource: c.reason for c in result.skipped}
    assert skipped["AWS::Logs::LogGroup.WithReason"] == reason
    unexplained = [c.resource for c in result.unexplained_skips]
    assert unexplained == ["AWS::Logs::LogGroup.WithoutReason"]
    assert not any("WithReason " in line for line in result.problems)


def test_a_template_checkov_could_not_read_fails_the_gate(probe: Any) -> None:
    result, _ = probe
    assert any("broken.json" in line or "passed over" in line for line in result.problems)


def test_skip_checkov_writes_metadata_checkov_honours(tmp_path: Path) -> None:
    app = cdk.App(context=cdk_context(), outdir=str(tmp_path), builtin_cloud_formation_validation=False)
    stack = cdk.Stack(app, "Probe")
    group = logs.LogGroup(stack, "Logs", retention=logs.RetentionDays.ONE_WEEK)
    skip_checkov(group, "CKV_AWS_158", "Probe: the log group of a probe stack that is never deployed.")
    skip_checkov(group, "CKV_AWS_66", "Probe: a second skip on the same resource is kept beside the first.")
    app.synth()
    result = scan_templates([tmp_path / "Probe.template.json"])
    assert {(c.check_id, c.resource.split(".")[0]) for c in result.skipped} == {
        ("CKV_AWS_158", "AWS::Logs::LogGroup"),
        ("CKV_AWS_66", "AWS::Logs::LogGroup"),
    }
    assert not [c for c in result.failed if c.check_id == "CKV_AWS_158"]
    assert result.problems == []


def test_skip_checkov_refuses_a_vague_reason_and_a_second_skip_of_one_check() -> None:
    stack = cdk.Stack(cdk.App())
    group = logs.LogGroup(stack, "Logs")
    with pytest.raises(ValueError, match="specific reason"):
        skip_checkov(group, "CKV_AWS_158", "n/a")
    skip_checkov(group, "CKV_AWS_158", "Probe: the log group of a probe stack that is never deployed.")
    with pytest.raises(ValueError, match="already skipped"):
        skip_checkov(group, "CKV_AWS_158", "Probe: the log group of a probe stack that is never deployed.")
