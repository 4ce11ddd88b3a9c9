"""The edge watched from us-east-1: CloudFront's 5xx rate and the edge web ACL's blocks alarm on an
on-call topic of their own there, and a dashboard shows the edge, in every stage."""

from __future__ import annotations

import json
from typing import Any

from scan.synthesis import template_regions
from stacks.stage import APPLICATION_STACKS
from tests.infra.conftest import SynthesizedStage, only_resource


def _alarm(stage: SynthesizedStage, prefix: str) -> dict[str, Any]:
    (found,) = [
        a
        for i, a in stage.edge_watch.find_resources("AWS::CloudWatch::Alarm").items()
        if i.startswith(prefix)
    ]
    return dict(found["Properties"])


def _metric(alarm: dict[str, Any], metric_id: str) -> dict[str, Any]:
    (found,) = [m for m in alarm["Metrics"] if m["Id"] == metric_id]
    return dict(found["MetricStat"]["Metric"])


def test_the_edge_is_watched_from_us_east_1_by_make_deploy(stage: SynthesizedStage) -> None:
    assert stage.stage.edge_watch.region == "us-east-1"
    assert "ChatbotEdgeWatch" in APPLICATION_STACKS


def test_cloudfronts_5xx_rate_alarms_with_enough_requests(stage: SynthesizedStage) -> None:
    thresholds = stage.config.alarm_thresholds
    alarm = _alarm(stage, "CloudFront5xxRate")

    (expression,) = [m for m in alarm["Metrics"] if "Expression" in m]
    assert expression["Expression"] == f"IF(requests >= {thresholds.edge_min_requests}, rate, 0)"
    assert alarm["Threshold"] == thresholds.edge_5xx_percent
    rate, requests = _metric(alarm, "rate"), _metric(alarm, "requests")
    assert (rate["Namespace"], rate["MetricName"]) == ("AWS/CloudFront", "5xxErrorRate")
    assert requests["MetricName"] == "Requests"
    dimensions = {d["Name"]: d["Value"] for d in rate["Dimensions"]}
    assert dimensions["Region"] == "Global"
    # the web stack's distribution, read across stacks
    assert stage.stage.web.stack_name in json.dumps(dimensions["DistributionId"])
    assert "Distribution" in json.dumps(dimensions["DistributionId"])


def test_the_edge_web_acls_blocks_alarm_by_its_generated_name(stage: SynthesizedStage) -> None:
    alarm = _alarm(stage, "EdgeWafBlockedSpike")

    metric = _metric(alarm, "m1")
    assert (metric["Namespace"], metric["MetricName"]) == ("AWS/WAFV2", "BlockedRequests")
    dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
    assert dimensions["Rule"] == "ALL"
    # computed in the edge stack (no cross-stack output may sit inside Fn::Split), imported here
    export = dimensions["WebACL"]["Fn::ImportValue"]
    outputs = stage.edge.to_json()["Outputs"].values()
    (output,) = [o for o in outputs if o.get("Export", {}).get("Name") == export]
    select = output["Value"]["Fn::Select"]
    assert select[0] == 2  # arn:...:global/webacl/<name>/<id>
    web_acl_id, _ = only_resource(stage.edge, "AWS::WAFv2::WebACL")
    assert select[1] == {"Fn::Split": ["/", {"Fn::GetAtt": [web_acl_id, "Arn"]}]}
    assert alarm["Threshold"] == stage.config.alarm_thresholds.edge_blocked_per_5_minutes


def test_edge_alarms_page_an_encrypted_topic_in_us_east_1_with_the_stages_emails(
    stage: SynthesizedStage,
) -> None:
    topic_id, topic = only_resource(stage.edge_watch, "AWS::SNS::Topic")
    assert "KmsMasterKeyId" in topic["Properties"]
    for prefix in ("CloudFront5xxRate", "EdgeWafBlockedSpike"):
        alarm = _alarm(stage, prefix)
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["OKActions"] == [{"Ref": topic_id}]
    emails = stage.edge_watch.find_resources("AWS::SNS::Subscription", {"Properties": {"Protocol": "email"}})
    assert sorted(s["Properties"]["Endpoint"] for s in emails.values()) == sorted(stage.config.alarm_emails)


def test_the_edge_dashboard_shows_cloudfront_and_the_web_acl(stage: SynthesizedStage) -> None:
    _, dashboard = only_resource(stage.edge_watch, "AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    alarms = list(stage.edge_watch.find_resources("AWS::CloudWatch::Alarm"))
    for shown in ("AWS/CloudFront", "5xxErrorRate", "4xxErrorRate", "AWS/WAFV2", "AllowedRequests", *alarms):
        assert shown in body, shown


def test_the_scanners_read_every_template_the_stage_synthesizes(stage: SynthesizedStage) -> None:
    assembly = stage.stage.synth()

    scanned = {path.name: region for path, region in template_regions(stage.stage).items()}

    assert scanned == {s.template_file: s.environment.region for s in assembly.stacks}
    assert len(scanned) == 6  # data, service, edge, web, delivery and the edge's watch
