"""Entry points and jobs that page on their own: a failed backup job reaches on-call through an
EventBridge rule, and the job worker's crashes and throttles alarm."""

from __future__ import annotations

import json

from tests.infra.conftest import WORKER_HANDLER, SynthesizedStage, function_with_handler, role_statements


def _alarm_topic_id(stage: SynthesizedStage) -> str:
    (topic_id,) = [
        i for i in stage.service.find_resources("AWS::SNS::Topic") if i.startswith("OperationsAlarmTopic")
    ]
    return topic_id


def test_a_failed_backup_job_of_the_stages_vault_tells_on_call(stage: SynthesizedStage) -> None:
    rules = stage.service.find_resources(
        "AWS::Events::Rule", {"Properties": {"EventPattern": {"source": ["aws.backup"]}}}
    )
    if not stage.config.backup_retention_days:
        assert rules == {}
        return
    ((rule_id, rule),) = rules.items()
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail-type"] == ["Backup Job State Change"]
    assert pattern["detail"]["state"] == ["FAILED", "ABORTED", "EXPIRED"]
    (vault_id,) = stage.data.find_resources("AWS::Backup::BackupVault")
    assert vault_id in json.dumps(pattern["detail"]["backupVaultName"])
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": _alarm_topic_id(stage)}
    (undeliverable,) = [i for i in stage.service.find_resources("AWS::SQS::Queue") if "Undeliverable" in i]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [undeliverable, "Arn"]}}
    assert "<detail-state>" in target["InputTransformer"]["InputTemplate"]
    # Through the rule's own role, which may publish to that topic only: no topic policy for EventBridge.
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    (policy,) = stage.service.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}
    ).values()
    publish = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Action"] == "sns:Publish"]
    assert publish == [
        {"Action": "sns:Publish", "Effect": "Allow", "Resource": {"Ref": _alarm_topic_id(stage)}}
    ]
    assert "events.amazonaws.com" not in json.dumps(stage.service.find_resources("AWS::SNS::TopicPolicy"))
    assert rule_id.startswith("OperationsBackupJobFailed")


def test_the_worker_pages_on_crashes_and_throttles(stage: SynthesizedStage) -> None:
    worker_id, _ = function_with_handler(stage.service, WORKER_HANDLER)
    alarms = stage.service.find_resources("AWS::CloudWatch::Alarm")
    for name, metric in (("AlarmsWorkerErrors", "Errors"), ("AlarmsWorkerThrottles", "Throttles")):
        ((_, alarm),) = [(i, a) for i, a in alarms.items() if i.startswith(name)]
        assert alarm["Properties"]["MetricName"] == metric
        assert alarm["Properties"]["Namespace"] == "AWS/Lambda"
        assert alarm["Properties"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": worker_id}}]
        assert alarm["Properties"]["Threshold"] == 1
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": _alarm_topic_id(stage)}]
    assert role_statements(stage.service, WORKER_HANDLER)  # the worker exists in every stage
