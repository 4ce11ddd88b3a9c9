"""Streamed replies in every stage: the STREAM integrations, the function behind the Lambda Web Adapter,
CloudFront that neither caches nor compresses nor times out a quiet stream, the alarms and the widgets."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from stacks.config_stream import API_GATEWAY_STREAM_IDLE_SECONDS, STREAM_INTEGRATION_LIMIT_SECONDS
from stacks.constructs.chat_function import RUNTIME
from stacks.stream_layer import built_stream_layer, pins
from tests.infra.conftest import CHAT_HANDLER, SynthesizedStage, function_with_handler, only_resource

STREAM_HANDLER = "lambda_src/run.sh"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _stream_methods(stage: SynthesizedStage) -> list[dict[str, Any]]:
    methods = stage.service.find_resources("AWS::ApiGateway::Method").values()
    return [m["Properties"] for m in methods if m["Properties"]["Integration"].get("ResponseTransferMode")]


def _stream_function(stage: SynthesizedStage) -> dict[str, Any]:
    return dict(function_with_handler(stage.service, STREAM_HANDLER)[1]["Properties"])


def test_both_stream_routes_stream_through_response_streaming_invocations(stage: SynthesizedStage) -> None:
    methods = _stream_methods(stage)
    assert len(methods) == (2 if stage.config.browser_sign_in else 1)
    for method in methods:
        integration = method["Integration"]
        assert integration["ResponseTransferMode"] == "STREAM"
        assert integration["Type"] == "AWS_PROXY"
        uri = json.dumps(integration["Uri"])
        assert "2021-11-15/functions/" in uri
        assert uri.endswith('"/response-streaming-invocations"]]}')
        # Past the 29 s of a buffered integration, within the 15 minutes a streamed one may take.
        assert integration["TimeoutInMillis"] == stage.config.stream.function_timeout_seconds * 1000
        assert 29_000 < integration["TimeoutInMillis"] <= STREAM_INTEGRATION_LIMIT_SECONDS * 1000
        assert method["RequestModels"] == {"$default": {"Ref": method["RequestModels"]["$default"]["Ref"]}}
    assert {m.get("ApiKeyRequired", False) for m in methods} == (
        {True, False} if stage.config.browser_sign_in else {True}
    )


def test_the_stream_function_runs_the_app_behind_the_web_adapter(stage: SynthesizedStage) -> None:
    props = _stream_function(stage)
    stream = stage.config.stream
    assert props["Runtime"] == RUNTIME.name
    assert props["Architectures"] == ["arm64"]
    assert props["Timeout"] == stream.function_timeout_seconds
    assert stream.reply_seconds < props["Timeout"]
    layers = json.dumps(props["Layers"])
    assert (
        f":753240598075:layer:LambdaAdapterLayerArm64:{stream.web_adapter_layer_version}" in layers
    )  # the adapter's public arm64 layer, pinned
    assert "powertools" in layers.lower()
    variables = props["Environment"]["Variables"]
    assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert variables["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert variables["AWS_LWA_READINESS_CHECK_PATH"] == "/ready"
    assert float(variables["STREAM_REPLY_SECONDS"]) == stream.reply_seconds
    assert float(variables["STREAM_IDLE_SECONDS"]) == stream.idle_seconds < API_GATEWAY_STREAM_IDLE_SECONDS
    assert float(variables["STREAM_HEARTBEAT_SECONDS"]) == stream.heartbeat_seconds
    # The same turn settings as the chat function: one stage, one set of rules.
    chat = function_with_handler(stage.service, CHAT_HANDLER)[1]["Properties"]["Environment"]["Variables"]
    for name, value in chat.items():
        if name != "JOBS_QUEUE_URL":
            assert variables[name] == value, name


def test_the_dependency_layer_is_pure_python_at_the_pinned_versions() -> None:
    layer = built_stream_layer() / "python"
    for name, version in pins().items():
        assert (layer / f"{name}-{version}.dist-info").is_dir(), name
    assert not [p for p in layer.rglob("*") if p.suffix in (".so", ".pyd")]
    assert (layer / "starlette" / "responses.py").is_file()
    assert (layer / "uvicorn" / "main.py").is_file()


def test_the_handler_script_starts_the_app_and_is_executable() -> None:
    script = REPO_ROOT / "lambda_src" / "run.sh"
    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert "uvicorn lambda_src.handlers.chat_stream:app" in text
    assert "AWS_LWA_PORT" in text


def test_the_stream_function_reads_and_writes_what_the_chat_function_does(stage: SynthesizedStage) -> None:
    resources = stage.service.to_json()["Resources"]

    def statements(handler: str) -> str:
        role = function_with_handler(stage.service, handler)[1]["Properties"]["Role"]["Fn::GetAtt"][0]
        policies = [
            r["Properties"]["PolicyDocument"]["Statement"]
            for r in resources.values()
            if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
        ]
        text = json.dumps(policies)
        return text.replace(role, "ROLE")

    stream, chat = statements(STREAM_HANDLER), statements(CHAT_HANDLER)
    for action in ("dynamodb:UpdateItem", "dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem"):
        assert action in stream
    assert ("secretsmanager:GetSecretValue" in stream) == stage.config.llm.needs_secret
    assert "sqs:SendMessage" not in stream  # jobs are queued by the chat function only
    bedrock = any(p.kind == "bedrock" for p in stage.config.llm.providers)
    # ConverseStream needs its own action; the buffered function does not get it.
    assert ("bedrock:InvokeModelWithResponseStream" in stream) == bedrock
    assert "bedrock:InvokeModelWithResponseStream" not in chat


def test_cloudfront_neither_caches_compresses_nor_times_out_a_quiet_stream(stage: SynthesizedStage) -> None:
    _, distribution = only_resource(stage.web, "AWS::CloudFront::Distribution")
    config = distribution["Properties"]["DistributionConfig"]
    (api,) = [b for b in config["CacheBehaviors"] if b["PathPattern"] == "/api/*"]
    assert api["Compress"] is False
    policies = stage.web.find_resources("AWS::CloudFront::CachePolicy")
    (policy,) = [
        p["Properties"]["CachePolicyConfig"]
        for lid, p in policies.items()
        if lid == api["CachePolicyId"]["Ref"]
    ]
    assert policy["DefaultTTL"] == policy["MinTTL"] == 0
    (origin,) = [o for o in config["Origins"] if "execute-api" in json.dumps(o["DomainName"])]
    read_timeout = origin["CustomOriginConfig"]["OriginReadTimeout"]
    assert read_timeout == stage.config.stream.origin_read_timeout_seconds
    assert stage.config.stream.heartbeat_seconds < read_timeout


def test_time_to_first_token_and_cut_streams_are_alarmed(stage: SynthesizedStage) -> None:
    alarms = stage.service.find_resources("AWS::CloudWatch::Alarm")
    (ttft,) = [
        a["Properties"] for lid, a in alarms.items() if lid.startswith("AlarmsStreamTimeToFirstTokenP90")
    ]
    assert ttft["MetricName"] == "TimeToFirstToken"
    assert ttft["ExtendedStatistic"] == "p90"
    assert ttft["Threshold"] == stage.config.stream.ttft_p90_alarm_ms
    assert ttft["Namespace"] == f"Chatbot/{stage.config.name}"
    (cut,) = [a["Properties"] for lid, a in alarms.items() if lid.startswith("AlarmsStreamIncompleteRate")]
    expression = next(m["Expression"] for m in cut["Metrics"] if "Expression" in m)
    assert f">= {stage.config.stream.incomplete_alarm_min_streams}" in expression
    assert {m["MetricStat"]["Metric"]["MetricName"] for m in cut["Metrics"] if "MetricStat" in m} == {
        "StreamsStarted",
        "IncompleteStreams",
    }


def test_the_dashboard_shows_streams_by_provider(stage: SynthesizedStage) -> None:
    _, dashboard = only_resource(stage.service, "AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in ("Time to first token", "Tokens per second", "Streams started and cut"):
        assert title in body
    for provider in stage.config.llm.providers:
        assert f'\\\\"provider\\\\",\\\\"{provider.name}\\\\"' in body or provider.name in body
