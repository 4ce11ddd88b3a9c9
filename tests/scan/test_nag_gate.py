"""Each of the five cdk-nag packs reports a real finding, and the raw count ignores acknowledgements."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs

from scan.nag_gate import findings, pack_name
from stacks.nag import NAG_PACKS, acknowledge, acknowledgements_suspended
from tests.infra.conftest import cdk_context

REASON = "Probe: a stack that exists only to show that the gate reports what it should."


def _probe() -> cdk.Stack:
    app = cdk.App(context=cdk_context(), builtin_cloud_formation_validation=False)
    stack = cdk.Stack(app, "Probe")
    sqs.Queue(stack, "PlainQueue", enforce_ssl=False)
    logs.LogGroup(stack, "PlainLogs")  # no KMS key, no retention
    return stack


@pytest.mark.parametrize("pack", NAG_PACKS, ids=pack_name)
def test_each_pack_reports_a_finding_on_a_resource_that_breaks_its_rules(pack: type) -> None:
    assert findings(_probe(), packs=[pack]), f"{pack_name(pack)} found nothing"


def test_an_acknowledgement_answers_a_finding_unless_acknowledgements_are_suspended() -> None:
    rule = "NIST.800.53.R5-CloudWatchLogGroupEncrypted"
    stack = _probe()
    acknowledge(stack.node.find_child("PlainLogs"), rule, REASON)
    assert rule not in {f.rule for f in findings(stack)}
    with acknowledgements_suspended() as recorded:
        raw = _probe()
        acknowledge(raw.node.find_child("PlainLogs"), rule, REASON)
    assert rule in {f.rule for f in findings(raw)}
    assert recorded == [("Probe/PlainLogs", rule)]
