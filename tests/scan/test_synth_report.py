"""`make synth` fails on what aws-cdk-lib's own validation report says, which `cdk synth --quiet` hides."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from scan.synth_report import REPORT_NAME, check, findings, main
from stacks.nag import acknowledge
from tests.infra.conftest import cdk_context


def _web_acl(scope: Construct, description: str) -> wafv2.CfnWebACL:
    return wafv2.CfnWebACL(
        scope,
        "WebAcl",
        scope="REGIONAL",
        description=description,
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True, metric_name="probe", sampled_requests_enabled=False
        ),
    )


@pytest.fixture(scope="module")
def probe_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One synth, with the built-in validator on as in `make synth`, of a property AWS refuses, a warning
    nobody answered and a warning acknowledged with a reason."""
    out = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(out), context=cdk_context())  # the feature flags of `make synth`
    stack = cdk.Stack(app, "Probe")
    _web_acl(stack, "Chat API: CloudFront only (origin-verify generation 1)")  # parentheses: refused
    warned = _web_acl(cdk.Stack(app, "Warned"), "a valid description")
    cdk.Annotations.of(warned).add_warning_v2("probe:unanswered", "nobody looked at this")
    answered = _web_acl(cdk.Stack(app, "Answered"), "a valid description")
    cdk.Annotations.of(answered).add_warning_v2("probe:answered", "looked at and accepted")
    acknowledge(answered, "probe:answered", "Accepted on purpose for this probe; the reason is recorded.")
    # In-process (pytest) synth raises once the report is written; under the CLI it exits 0, which is why
    # `make synth` reads the report.
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    return out


def test_a_property_aws_refuses_stops_the_synth(probe_out: Path) -> None:
    found = check(probe_out)
    (refused,) = [f for f in found if f.rule == "F3031"]
    assert refused.severity == "error"
    assert any(place.startswith("Probe/WebAcl") and "Description" in place for place in refused.where)


def test_an_unacknowledged_warning_stops_the_synth(probe_out: Path) -> None:
    rules = {f.rule for f in check(probe_out)}
    assert any("probe:unanswered" in rule for rule in rules)


def test_a_warning_acknowledged_with_a_reason_does_not(probe_out: Path) -> None:
    assert not any("probe:answered" in f.rule for f in check(probe_out))


def test_the_command_prints_what_it_found_and_exits_non_zero(
    probe_out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["synth_report", str(probe_out)]) == 1
    err = capsys.readouterr().err
    assert "F3031" in err
    assert "Probe/WebAcl" in err


def test_an_empty_report_passes(tmp_path: Path) -> None:
    (tmp_path / REPORT_NAME).write_text(json.dumps({"version": "55.0.0", "pluginReports": []}))
    assert check(tmp_path) == []
    assert main(["synth_report", str(tmp_path)]) == 0


def test_a_missing_report_fails(tmp_path: Path) -> None:
    (finding,) = check(tmp_path)
    assert finding.rule == "no-report"


def test_a_failed_plugin_fails_even_without_violations() -> None:
    report = {"pluginReports": [{"pluginName": "Some Plugin", "conclusion": "failure", "violations": []}]}
    (finding,) = findings(report)
    assert finding.plugin == "Some Plugin"


def test_a_severity_the_gate_does_not_know_blocks() -> None:
    odd = {"ruleName": "X1", "severity": "high", "description": "new kind", "violatingConstructs": []}
    report = {"pluginReports": [{"pluginName": "P", "conclusion": "success", "violations": [odd]}]}
    assert [f.rule for f in findings(report)] == ["X1"]


def test_informational_findings_pass() -> None:
    info = {"ruleName": "I1", "severity": "info", "description": "fyi", "violatingConstructs": []}
    report = {"pluginReports": [{"pluginName": "P", "conclusion": "success", "violations": [info]}]}
    assert findings(report) == []
