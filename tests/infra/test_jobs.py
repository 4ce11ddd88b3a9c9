"""The async path: queue and DLQ settings, the worker and its event source, the job routes, the alarms."""

from __future__ import annotations

import json

from tests.infra.conftest import WORKER_HANDLER, SynthesizedStage, function_with_handler


def _queues(stage: SynthesizedStage) -> tuple[dict, dict]:
    queues = stage.service.find_resources("AWS::SQS::Queue")
    (queue,) = [q for lid, q in queues.items() if lid.startswith("JobsQueue")]
    (dlq,) = [q for lid, q in queues.items() if lid.startswith("JobsDeadLetters")]
    return queue["Properties"], dlq["Properties"]


def test_the_queue_is_kms_encrypted_with_a_long_enough_visibility_and_explicit_retention(
    stage: SynthesizedStage,
) -> None:
    queue, dlq = _queues(stage)
    jobs = stage.config.jobs
    # A key of their own: SQS grants carry no kms:ViaService, so they must never name the data key.
    (key_id,) = [k for k in stage.service.find_resources("AWS::KMS::Key") if k.startswith("JobsKey")]
    assert queue["KmsMasterKeyId"] == dlq["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert queue["VisibilityTimeout"] >= 6 * jobs.worker_timeout_seconds
    assert queue["MessageRetentionPeriod"] == jobs.retention_days * 86_400
    assert dlq["MessageRetentionPeriod"] == 14 * 86_400


def test_messages_move_to_the_dlq_after_the_configured_receives(stage: SynthesizedStage) -> None:
    queue, _ = _queues(stage)
    policy = queue["RedrivePolicy"]
    assert policy["maxReceiveCount"] == stage.config.jobs.max_receive_count
    assert "JobsDeadLetters" in json.dumps(policy["deadLetterTargetArn"])


def test_both_queues_refuse_plain_http(stage: SynthesizedStage) -> None:
    policies = json.dumps(stage.service.find_resources("AWS::SQS::QueuePolicy"))
    assert policies.count('"aws:SecureTransport": "false"') >= 2


def test_the_worker_reports_partial_batch_failures(stage: SynthesizedStage) -> None:
    worker_id, worker = function_with_handler(stage.service, WORKER_HANDLER)
    assert worker["Properties"]["Timeout"] == stage.config.jobs.worker_timeout_seconds
    (mapping,) = stage.service.find_resources("AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BatchSize"] == stage.config.jobs.batch_size == 1
    assert worker_id in json.dumps(props["FunctionName"])
    # polling never outruns the worker's reserved concurrency (throttles would spend receives)
    assert (
        props["ScalingConfig"]["MaximumConcurrency"] <= worker["Properties"]["ReservedConcurrentExecutions"]
    )


def test_the_job_routes_need_an_api_key(stage: SynthesizedStage) -> None:
    resources = stage.service.find_resources("AWS::ApiGateway::Resource")
    job_resources = {
        lid for lid, r in resources.items() if r["Properties"]["PathPart"] in ("jobs", "{jobId}")
    }
    methods = stage.service.find_resources("AWS::ApiGateway::Method")
    jobs = [
        m["Properties"]
        for m in methods.values()
        if m["Properties"]["ResourceId"].get("Ref") in job_resources
        and m["Properties"]["HttpMethod"] != "OPTIONS"
    ]
    assert sorted(m["HttpMethod"] for m in jobs) == ["GET", "POST"]
    assert all(m["ApiKeyRequired"] is True for m in jobs)
