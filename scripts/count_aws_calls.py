"""Count the AWS calls a chat turn makes, with the real handler on moto and the fake LLM: the calls
before the model is asked (they add to the time the user waits) and after it; and what the cost model
(scripts/cost_model.py) needs of a turn: DynamoDB request units, from the size of what each call reads
and writes, and the bytes the handler logs.

    python -m scripts.count_aws_calls
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import os
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

AWS_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_SERVICE_NAME": "chatbot",
    "POWERTOOLS_METRICS_NAMESPACE": "Chatbot",
    "POWERTOOLS_TRACE_DISABLED": "true",
    # As deployed (metrics on, INFO), so that what a turn logs is measured; none of it reaches the console.
    "POWERTOOLS_METRICS_DISABLED": "false",
    "POWERTOOLS_LOG_LEVEL": "INFO",
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


@dataclass(frozen=True)
class TurnUsage:
    case: str
    before: int  # AWS calls before the model is asked
    after: int
    by_operation: Counter[str]
    read_units: float  # DynamoDB read request units
    write_units: float
    log_bytes: int  # what the handler wrote to its log (JSON lines and metrics)


FOLLOW_UP = "follow-up turn"


def _kb(value: Any, unit: int) -> int:
    """Request units of an item or result of about this size (DynamoDB rounds up per unit)."""
    return max(1, math.ceil(len(json.dumps(value, default=str)) / unit))


def request_units(operation: str, params: dict[str, Any], response: dict[str, Any]) -> tuple[float, float]:
    """(read, write) request units of one DynamoDB call, estimated from the sizes of what it moves:
    writes 1 per KB, reads 1 per 4 KB (half for an eventually consistent read), transactions twice."""
    if operation == "TransactWriteItems":
        return 0.0, float(sum(2 * _kb(item, 1024) for item in params["TransactItems"]))
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        return 0.0, float(_kb(params, 1024))
    if operation == "TransactGetItems":
        return float(sum(2 * _kb(r, 4096) for r in response.get("Responses", []) or [{}])), 0.0
    if operation == "BatchGetItem":
        consistent = [keys.get("ConsistentRead", False) for keys in params["RequestItems"].values()]
        asked = sum(len(keys["Keys"]) for keys in params["RequestItems"].values())
        items = [item for found in response.get("Responses", {}).values() for item in found]
        # a key that finds nothing still costs a unit
        units = sum(_kb(item, 4096) for item in items) + (asked - len(items))
        return (1.0 if all(consistent) else 0.5) * units, 0.0
    if operation in ("GetItem", "Query", "Scan"):
        factor = 1.0 if params.get("ConsistentRead") else 0.5
        return factor * _kb(response.get("Item") or response.get("Items") or {}, 4096), 0.0
    return 0.0, 0.0


def count_turn_calls() -> list[TurnUsage]:
    """What each kind of turn asks of AWS, and logs."""
    os.environ.update(AWS_ENV)
    import boto3
    from botocore.client import BaseClient
    from moto import mock_aws

    from scripts.fake_llm_server import FakeLlm
    from scripts.local_aws import create_conversation_table

    calls: list[tuple[str, int]] = []
    units = [0.0, 0.0]
    fake = FakeLlm().start()
    original: Callable[..., Any] = BaseClient._make_api_call

    def counted(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        service = client.meta.service_model.service_name
        calls.append((f"{service}:{operation}", len(fake.requests)))
        response = original(client, operation, params)
        if service == "dynamodb":
            read, write = request_units(operation, params, response)
            units[0] += read
            units[1] += write
        return response

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
        # Powertools' handler writes to the stdout of import time: point it at the buffer of each turn.
        log_handler = logging.getLogger(os.environ["POWERTOOLS_SERVICE_NAME"]).handlers[0]
        assert isinstance(log_handler, logging.StreamHandler)
        cases = [
            ("first turn of a new container (reads the LLM key)", _event("bench-0001", "hello")),
            ("first turn of a session", _event("bench-0002", "what is DynamoDB?")),
            (FOLLOW_UP, _event("bench-0002", "and TransactWriteItems?")),
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
                units[:] = [0.0, 0.0]
                logged = io.StringIO()
                previous = log_handler.setStream(logged)
                try:
                    with contextlib.redirect_stdout(logged):  # the EMF lines of the metrics
                        response = chat.handler(event, _Context())
                finally:
                    log_handler.setStream(previous)
                assert response["statusCode"] == 200, response
                before = sum(1 for _, asked in calls if asked == 0)
                rows.append(
                    TurnUsage(
                        case=label,
                        before=before,
                        after=len(calls) - before,
                        by_operation=Counter(name for name, _ in calls),
                        read_units=units[0],
                        write_units=units[1],
                        log_bytes=len(logged.getvalue().encode()),
                    )
                )
        finally:
            BaseClient._make_api_call = original
            fake.stop()
    return rows


def print_counts() -> None:
    print("AWS calls per turn, counted (moto and the fake LLM; before the model + after it):")
    for turn in count_turn_calls():
        operations = ", ".join(f"{name} x{n}" for name, n in sorted(turn.by_operation.items()))
        total = turn.before + turn.after
        print(f"  {turn.case:52} {turn.before} + {turn.after} = {total}   ({operations})")


if __name__ == "__main__":
    print_counts()
