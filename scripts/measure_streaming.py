"""Print what the streamed route adds to a reply: time to first token over the provider's own first
chunk (p50, p99), the overhead per token, and beside them the time to first byte of the buffered route
(POST /chat) for the same reply. The stream app runs under uvicorn on 127.0.0.1 (as the Web Adapter
runs it), DynamoDB and Secrets Manager are moto, the provider is the fake LLM writing one word every
``--token-ms``. A benchmark: it prints figures, it does not pass or fail.

    python -m scripts.measure_streaming [--turns 40] [--words 30] [--token-ms 20]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import time
import uuid
from typing import Any

REGION = "us-east-1"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _environment(table: str, secret_arn: str, llm_url: str) -> None:
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "POWERTOOLS_SERVICE_NAME": "chatbot",
            "POWERTOOLS_METRICS_NAMESPACE": "Chatbot",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "STAGE": "bench",
            "TABLE_NAME": table,
            "LLM_SECRET_ARN": secret_arn,
            "LLM_PROVIDERS": json.dumps(
                [{"name": "fake", "kind": "openai", "model": "m", "base_url": llm_url, "timeout_seconds": 20}]
            ),
            "LLM_MAX_OUTPUT_TOKENS": "256",
            "LLM_TIMEOUT_SECONDS": "20",
            "QUOTA_TIERS": json.dumps([{"name": "t", "daily_tokens": 10**9, "session_requests": 10**6}]),
            "DEFAULT_TIER": "t",
            "HISTORY_TURNS": "5",
            "TRANSCRIPT_RETENTION_DAYS": "1",
            "CACHE_TTL_SECONDS": "0",
        }
    )


def streamed(base: str, fake: Any, turns: int) -> tuple[list[float], list[float], list[float]]:
    """Per turn, in ms: the time to first token the stack adds (the client's TTFT minus the provider's
    own: from the request it got to its first chunk), the delivery of that chunk alone, and the
    overhead per token."""
    from scripts.sse_client import post_stream

    added, delivery, per_token = [], [], []
    for _ in range(turns):
        sent = time.perf_counter()
        answer = post_stream(
            base + "/chat/stream",
            {"sessionId": f"bench-{uuid.uuid4().hex[:12]}", "message": "Tell me a story"},
            {
                "x-amzn-request-context": json.dumps({"identity": {"apiKeyId": "bench-client"}}),
                "x-amzn-lambda-context": json.dumps({"request_id": str(uuid.uuid4())}),
            },
        )
        deltas = [e for e in answer.all_events() if e.name == "delta"]
        provider = fake.requests[-1]
        provider_ttft = provider.first_chunk_at - provider.received_at
        added.append(((deltas[0].at - sent) - provider_ttft) * 1000)
        delivery.append((deltas[0].at - provider.first_chunk_at) * 1000)
        client_span = deltas[-1].at - deltas[0].at
        provider_span = provider.ended_at - provider.first_chunk_at  # to [DONE], after the last word
        per_token.append(max(0.0, client_span - provider_span) * 1000 / max(1, len(deltas) - 1))
    return added, delivery, per_token


def buffered(turns: int) -> list[float]:
    """Time to the first byte of POST /chat, ms: the whole reply, since nothing is sent before it."""
    from lambda_src.handlers import chat

    class Context:
        function_name, memory_limit_in_mb = "chat", 512
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:chat"

        def __init__(self) -> None:
            self.aws_request_id = str(uuid.uuid4())

        def get_remaining_time_in_millis(self) -> int:
            return 27_000

    figures = []
    for _ in range(turns):
        body = json.dumps({"sessionId": f"bench-{uuid.uuid4().hex[:12]}", "message": "Tell me a story"})
        event = {
            "resource": "/chat",
            "path": "/chat",
            "httpMethod": "POST",
            "headers": {"Content-Type": "application/json"},
            "requestContext": {"requestId": "r", "stage": "api", "identity": {"apiKeyId": "bench-client"}},
            "body": body,
            "isBase64Encoded": False,
        }
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # its cold-start metric line
            response = chat.handler(event, Context())
        figures.append((time.perf_counter() - started) * 1000)
        assert response["statusCode"] == 200, response
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--words", type=int, default=30)
    parser.add_argument("--token-ms", type=float, default=20.0)
    args = parser.parse_args()

    import boto3
    from moto import mock_aws

    from scripts.fake_llm_server import FakeLlm
    from scripts.local_aws import create_conversation_table
    from scripts.stream_server import serve_stream_app

    with mock_aws():
        table = create_conversation_table(boto3.resource("dynamodb", region_name=REGION), "bench")
        secret = boto3.client("secretsmanager", region_name=REGION).create_secret(Name="k", SecretString="sk")
        fake = FakeLlm().start()
        reply = " ".join(f"word{n}" for n in range(args.words))
        fake.answer(reply=reply, token_delay=args.token_ms / 1000)
        _environment(table.name, secret["ARN"], fake.base_url)
        base, _ = serve_stream_app()
        streamed(base, fake, 2)  # warm: imports, connections, the secret's cache
        added, delivery, per_token = streamed(base, fake, args.turns)
        buffered(2)
        first_byte = buffered(max(5, args.turns // 4))
        fake.stop()

    generation = args.words * args.token_ms
    print(
        f"streamed replies: {args.turns} turns of {args.words} words, "
        f"the fake writing one every {args.token_ms:g} ms"
    )
    print(
        "  time to first token the stack adds over the provider's own: "
        f"p50 {statistics.median(added):.1f} ms, p99 {_percentile(added, 0.99):.1f} ms "
        "(admission on moto included)"
    )
    print(
        f"    of which delivering the provider's first chunk: p50 {statistics.median(delivery):.1f} ms, "
        f"p99 {_percentile(delivery, 0.99):.1f} ms"
    )
    print(
        "  overhead per token (delivery beyond the provider's own pace): "
        f"p50 {statistics.median(per_token):.2f} ms"
    )
    print(
        f"buffered POST /chat, same reply: time to first byte p50 {statistics.median(first_byte):.0f} ms "
        f"(the whole reply: about {generation:.0f} ms of generation)"
    )


if __name__ == "__main__":
    main()
