"""Count the AWS calls a chat turn makes, with the real handler on moto and the fake LLM: the calls
before the model is asked (they add to the time the user waits) and after it.

    python -m scripts.count_aws_calls
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

AWS_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_SERVICE_NAME": "chatbot",
    "POWERTOOLS_METRICS_NAMESPACE": "Chatbot",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "AWS_LAMBDA_FUNCTION_NAME": "chat",
}


class _Context:
    function_name, memory_limit_in_mb = "chat", 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:chat"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 26_000


def _event(session_id: str, message: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "resource": "/chat",
        "path": "/chat",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "requestContext": {"requestId": str(uuid.uuid4()), "identity": {"apiKeyId": "bench"}, "stage": "api"},
        "body": json.dumps({"sessionId": session_id, "message": message}),
        "isBase64Encoded": False,
    }


def count_turn_calls() -> list[tuple[str, int, int, Counter[str]]]:
    """(case, calls before the model, calls after it, calls by operation) for each kind of turn."""
    os.environ.update(AWS_ENV)
    import boto3
    from botocore.client import BaseClient
    from moto import mock_aws

    from scripts.fake_llm_server import FakeLlm
    from scripts.local_aws import create_conversation_table

    calls: list[tuple[str, int]] = []
    fake = FakeLlm().start()
    original: Callable[..., Any] = BaseClient._make_api_call

    def counted(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        calls.append((f"{client.meta.service_model.service_name}:{operation}", len(fake.requests)))
        return original(client, operation, params)

    with mock_aws():
        table = create_conversation_table(boto3.resource("dynamodb"), "bench")
        secret = boto3.client("secretsmanager").create_secret(Name="llm", SecretString="sk-bench")
        os.environ.update(
            {
                "STAGE": "bench",
                "TABLE_NAME": table.name,
                "LLM_SECRET_ARN": secret["ARN"],
                "LLM_PROVIDERS": json.dumps(
                    [
                        {
                            "name": "fake",
                            "kind": "openai",
                            "model": "m",
                            "base_url": fake.base_url,
                            "timeout_seconds": 5,
                        }
                    ]
                ),
                "LLM_MAX_OUTPUT_TOKENS": "256",
                "LLM_TIMEOUT_SECONDS": "10",
                "QUOTA_TIERS": '[{"name": "free", "daily_tokens": 1000000, "session_requests": 1000}]',
                "DEFAULT_TIER": "free",
                "HISTORY_TURNS": "10",
                "TRANSCRIPT_RETENTION_DAYS": "7",
                "CACHE_TTL_SECONDS": "3600",
            }
        )
        from lambda_src.chat.dependencies import dependencies
        from lambda_src.handlers import chat

        dependencies.cache_clear()
        cases = [
            ("first turn of a new container (reads the LLM key)", _event("bench-0001", "hello")),
            ("first turn of a session", _event("bench-0002", "what is DynamoDB?")),
            ("follow-up turn", _event("bench-0002", "and TransactWriteItems?")),
            ("first turn answered from the cache (no model call)", _event("bench-0003", "what is DynamoDB?")),
            (
                "with an Idempotency-Key (Powertools idempotency)",
                _event("bench-0004", "hi", {"Idempotency-Key": "k1"}),
            ),
        ]
        rows = []
        BaseClient._make_api_call = counted
        try:
            for label, event in cases:
                calls.clear()
                fake.requests.clear()
                with contextlib.redirect_stdout(io.StringIO()):  # the EMF lines of the metrics
                    response = chat.handler(event, _Context())
                assert response["statusCode"] == 200, response
                before = sum(1 for _, asked in calls if asked == 0)
                rows.append((label, before, len(calls) - before, Counter(name for name, _ in calls)))
        finally:
            BaseClient._make_api_call = original
            fake.stop()
    return rows


def print_counts() -> None:
    print("AWS calls per turn, counted (moto and the fake LLM; before the model + after it):")
    for label, before, after, by_operation in count_turn_calls():
        operations = ", ".join(f"{name} x{n}" for name, n in sorted(by_operation.items()))
        print(f"  {label:52} {before} + {after} = {before + after}   ({operations})")


if __name__ == "__main__":
    print_counts()
