"""Handler tests: DynamoDB and Secrets Manager from moto, the LLM from a fake server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# Powertools reads these when the handler's modules are imported, before any fixture runs.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Chatbot")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "chatbot")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

import boto3
import pytest
from moto import mock_aws

from lambda_src.chat.dependencies import dependencies
from scripts.fake_llm_server import FakeLlm
from scripts.local_aws import create_conversation_table, create_job_queues, sqs_event
from stacks.config_guardrail import GuardrailConfig

REGION = "us-east-1"
LLM_API_KEY = "sk-test-canary-4f1c9a7e2b8d4c6a"  # a leak canary: must never show up in logs or bodies
DEFAULT_CLIENT = "apikeyid-client-a"
SYSTEM_PROMPT = "You are a test assistant. PROMPT-CANARY-77"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "chatbot",
        "POWERTOOLS_METRICS_NAMESPACE": "Chatbot",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLlm]:
    fake = FakeLlm().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_llm(fake_llm_server: FakeLlm) -> FakeLlm:
    fake_llm_server.reset()
    return fake_llm_server


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The handlers' JSON log lines, parsed. Powertools binds its handler to the stdout of import time,
    which pytest's capsys never sees: the handler's stream is pointed at a buffer instead."""
    import io
    import logging

    from lambda_src.handlers import chat, worker  # noqa: F401 - their loggers register the handler

    handler = logging.getLogger(os.environ["POWERTOOLS_SERVICE_NAME"]).handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
    finally:
        handler.setStream(previous)


@dataclass
class ChatEnv:
    table: Any
    secret_arn: str
    fake_llm: FakeLlm

    def all_items(self) -> list[dict[str, Any]]:
        return sorted(self.table.scan(ConsistentRead=True)["Items"], key=lambda i: (i["pk"], i["sk"]))

    def items(self) -> list[dict[str, Any]]:
        """The stored conversation messages (not the session's state, quota counters, cache entries or
        idempotency records)."""
        return [i for i in self.all_items() if i["pk"].startswith("CONV#") and i["sk"].startswith("TURN#")]


@pytest.fixture(scope="session")
def aws_resources() -> Iterator[tuple[Any, str]]:
    """One moto account for the session: creating tables is the slow part, so tests share one and
    ``chat_env`` empties it before each test."""
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        table = create_conversation_table(dynamodb, "conversations")
        secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="llm-api-key", SecretString=LLM_API_KEY
        )
        create_job_queues(boto3.client("sqs", region_name=REGION), "chat-jobs", max_receive_count=3)
        yield table, secret["ARN"]


@pytest.fixture
def chat_env(
    monkeypatch: pytest.MonkeyPatch, fake_llm: FakeLlm, aws_resources: tuple[Any, str]
) -> Iterator[ChatEnv]:
    """A deployed stage in miniature: table, secret and environment as the stack sets them."""
    table, secret_arn = aws_resources
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.get_queue_url(QueueName="chat-jobs")["QueueUrl"]
    for url in (queue_url, sqs.get_queue_url(QueueName="chat-jobs-dlq")["QueueUrl"]):
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:  # PurgeQueue may run once a minute only
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    with table.batch_writer() as batch:
        for item in table.scan(ProjectionExpression="pk, sk")["Items"]:
            batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId=secret_arn, SecretString=LLM_API_KEY
    )
    for name, value in {
        "STAGE": "test",
        "TABLE_NAME": table.name,
        "LLM_SECRET_ARN": secret_arn,
        "LLM_PROVIDERS": json.dumps([provider_settings("primary", fake_llm.base_url)]),
        "LLM_MAX_OUTPUT_TOKENS": "256",
        "LLM_TIMEOUT_SECONDS": "2",
        # Retries are tested on FailoverChat itself; here one attempt keeps each test to one call.
        "LLM_MAX_ATTEMPTS": "1",
        "LLM_SYSTEM_PROMPT": SYSTEM_PROMPT,
        "QUOTA_TIERS": json.dumps([{"name": "free", "daily_tokens": 100_000, "session_requests": 100}]),
        "DEFAULT_TIER": "free",
        "HISTORY_TURNS": "10",
        "MAX_MESSAGE_CHARS": "1000",
        "TRANSCRIPT_RETENTION_DAYS": "30",
        "JOBS_QUEUE_URL": queue_url,
        "JOBS_MAX_RECEIVE_COUNT": "3",  # as the moto queue's redrive policy above
    }.items():
        monkeypatch.setenv(name, value)
    dependencies.cache_clear()
    yield ChatEnv(table=table, secret_arn=secret_arn, fake_llm=fake_llm)
    dependencies.cache_clear()


@pytest.fixture
def backup(chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLlm]:
    """A second provider after chat_env's, on a fake LLM of its own."""
    fake = FakeLlm().start()
    monkeypatch.setenv(
        "LLM_PROVIDERS",
        json.dumps(
            [
                provider_settings("primary", chat_env.fake_llm.base_url),
                provider_settings("backup", fake.base_url),
            ]
        ),
    )
    dependencies.cache_clear()
    yield fake
    fake.stop()


def provider_settings(name: str, base_url: str, timeout_seconds: float = 2) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "openai",
        "model": "fake-model",
        "base_url": base_url,
        "timeout_seconds": timeout_seconds,
    }


class LambdaContext:
    function_name = "chat"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:chat"

    def __init__(self, remaining_ms: int = 28_000) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining_ms


def rest_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | None = None,
    api_key_id: str | None = DEFAULT_CLIENT,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event as the /api stage delivers it."""
    if raw_body is None and body is not None:
        raw_body = json.dumps(body)
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "api",
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/api{path}",
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "protocol": "HTTP/1.1",
            "identity": {"apiKeyId": api_key_id, "sourceIp": "127.0.0.1", "userAgent": "pytest"},
        },
        "body": raw_body,
        "isBase64Encoded": False,
    }


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]


def invoke(event: dict[str, Any], *, remaining_ms: int = 28_000) -> HttpAnswer:
    from lambda_src.handlers import chat

    response = chat.handler(event, LambdaContext(remaining_ms))
    headers = dict(response.get("headers") or {})
    # The REST resolver answers with multiValueHeaders; API Gateway turns them into plain headers.
    headers.update(
        {name: ",".join(values) for name, values in (response.get("multiValueHeaders") or {}).items()}
    )
    return HttpAnswer(
        status=response["statusCode"],
        headers=headers,
        body=json.loads(response["body"]) if response.get("body") else {},
    )


def chat(session_id: str, message: str, **kwargs: Any) -> HttpAnswer:
    return invoke(rest_event("POST", "/chat", body={"sessionId": session_id, "message": message}), **kwargs)


def work_queued_jobs(name: str = "chat-jobs") -> dict[str, Any]:
    """Deliver what the queue holds to the worker handler, as Lambda's event source would (the
    messages become visible again at once, so a failed one can be delivered again)."""
    from lambda_src.handlers import worker

    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
    ).get("Messages", [])
    event = sqs_event(messages, queue_arn=f"arn:aws:sqs:{REGION}:123456789012:{name}", region=REGION)
    result: dict[str, Any] = worker.handler(event, LambdaContext())
    return result


@dataclass
class StreamApi:
    base_url: str

    def post(
        self,
        path: str,
        body: dict[str, Any] | str,
        *,
        api_key_id: str | None = DEFAULT_CLIENT,
        user: str | None = None,
        headers: dict[str, str] | None = None,
        remaining_seconds: float = 60,
    ) -> Any:
        """POST as the Web Adapter forwards an API Gateway request: identity in x-amzn-request-context,
        the invocation (request id, deadline) in x-amzn-lambda-context."""
        from scripts.sse_client import post_stream

        context: dict[str, Any] = {"identity": {"apiKeyId": api_key_id}}
        if user is not None:
            context["authorizer"] = {"claims": {"sub": user}}
        invocation = {
            "request_id": str(uuid.uuid4()),
            "deadline": int((time.time() + remaining_seconds) * 1000),
        }
        return post_stream(
            self.base_url + path,
            body,
            {
                "x-amzn-request-context": json.dumps(context),
                "x-amzn-lambda-context": json.dumps(invocation),
                **(headers or {}),
            },
        )


@pytest.fixture(scope="session")
def stream_server(aws_resources: tuple[Any, str]) -> Iterator[StreamApi]:
    """The streamed route's ASGI app under uvicorn on 127.0.0.1, as run.sh starts it in Lambda.

    Its turns run in threads. In-process moto is not safe under threads (a transaction copies a table
    another thread is writing), so its request dispatch is serialized: each call then stands alone, as
    each DynamoDB request does."""
    import threading

    from moto.core.botocore_stubber import BotocoreStubber

    from scripts.stream_server import serve_stream_app

    lock = threading.Lock()
    dispatch = BotocoreStubber.__call__

    def serialized(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        with lock:
            return dispatch(self, event_name, request, **kwargs)

    BotocoreStubber.__call__ = serialized  # type: ignore[method-assign]
    base_url, stop = serve_stream_app()
    yield StreamApi(base_url)
    stop()
    BotocoreStubber.__call__ = dispatch  # type: ignore[method-assign]


@pytest.fixture
def stream_api(chat_env: ChatEnv, stream_server: StreamApi, monkeypatch: pytest.MonkeyPatch) -> StreamApi:
    monkeypatch.setenv("STREAM_HEARTBEAT_SECONDS", "0.3")
    monkeypatch.setenv("STREAM_IDLE_SECONDS", "1")
    return stream_server


@pytest.fixture
def guardrail(chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch) -> Callable[..., GuardrailConfig]:
    """Turns the stage's guardrail on as the offline stand-in (GUARDRAIL_LOCAL_POLICY), from the stage
    config's defaults with the given changes, as `make dev` runs it."""

    def use(**changes: Any) -> GuardrailConfig:
        config = GuardrailConfig(**changes)
        monkeypatch.setenv("GUARDRAIL_LOCAL_POLICY", json.dumps(config.local_policy()))
        for name, value in config.runtime_environment().items():
            monkeypatch.setenv(name, value)
        dependencies.cache_clear()
        return config

    return use


@dataclass
class FailingGuardrail:
    """ApplyGuardrail as boto3 answers it when Bedrock is down for the given sources (INPUT, OUTPUT),
    and finding nothing otherwise."""

    failing: tuple[str, ...]
    calls: list[str] = field(default_factory=list)

    def apply_guardrail(self, **request: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        self.calls.append(request["source"])
        if request["source"] in self.failing:
            raise ClientError(
                {"Error": {"Code": "ServiceUnavailableException", "Message": "down"}}, "ApplyGuardrail"
            )
        return {"action": "NONE", "outputs": [], "assessments": []}


@pytest.fixture
def guardrail_down(chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch) -> Callable[..., FailingGuardrail]:
    """The stage's Bedrock guardrail (by id and version), failing for the given sources."""
    from lambda_src.chat import dependencies as module

    def use(*failing: str, fail_open: bool = False) -> FailingGuardrail:
        client = FailingGuardrail(failing)
        monkeypatch.setenv("GUARDRAIL_ID", "gr-test")
        monkeypatch.setenv("GUARDRAIL_VERSION", "1")
        monkeypatch.setenv("GUARDRAIL_FAIL_OPEN", "true" if fail_open else "false")
        monkeypatch.setattr(module, "_guardrail_client", lambda: client)
        dependencies.cache_clear()
        return client

    return use
