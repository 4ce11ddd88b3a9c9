"""Print the chat handler's import time beside `import boto3` (same run, fresh interpreters), and the
per-turn overhead of the handler with stubbed AWS and LLM, and the AWS calls each kind of turn makes
(counted on moto). A benchmark: it prints figures, it does not pass or fail.

    python -m scripts.measure_cold_start [--runs 7] [--turns 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
LAMBDA_LIKE_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "chat",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "chatbot",
    "POWERTOOLS_METRICS_NAMESPACE": "Chatbot",
}
IMPORT_PROBE = (
    "import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1000)"
)


def _import_once(module: str, extra_env: dict[str, str]) -> float:
    env = {**os.environ, **LAMBDA_LIKE_ENV, **extra_env}
    out = subprocess.run(  # noqa: S603 - our own interpreter and a fixed probe
        [sys.executable, "-c", IMPORT_PROBE.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env=env,
    ).stdout
    return float(out.strip().splitlines()[-1])


def import_times(cases: Sequence[tuple[str, str, dict[str, str]]], *, runs: int) -> dict[str, float]:
    """Median import time per case; the cases take turns in every round, so drift in the machine's
    load falls on all of them alike."""
    samples: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    for _ in range(runs):
        for label, module, extra_env in cases:
            samples[label].append(_import_once(module, extra_env))
    return {label: statistics.median(values) for label, values in samples.items()}


def per_turn_overhead(turns: int) -> list[float]:
    """Handler time per POST /chat with in-memory collaborators: routing, validation, building the
    session store's reads and transactions, metrics, logging and serialization; no network, no AWS, an
    instant model."""
    os.environ.update(
        {**LAMBDA_LIKE_ENV, "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}
    )
    from lambda_src.chat import dependencies as deps_module
    from lambda_src.chat.controls import ControlsReader
    from lambda_src.chat.feedback import FeedbackStore
    from lambda_src.chat.history import ConversationHistory
    from lambda_src.chat.models import Message, Usage
    from lambda_src.chat.providers.base import Completion
    from lambda_src.chat.session_store import SessionStore
    from lambda_src.chat.settings import Settings
    from lambda_src.handlers import chat as handler_module

    class Model:
        name, model = "stub", "stub-model"

        def complete(self, messages: Sequence[Message], *, deadline: float) -> Completion:
            return Completion(
                text="ok", usage=Usage(inputTokens=5, outputTokens=1, totalTokens=6), model="stub-model"
            )

    class Client:
        """DynamoDB answering at once: a session with two earlier messages, every transaction applied."""

        def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 - boto3's name
            (keys,) = (request["Keys"] for request in RequestItems.values())
            state = next(key for key in keys if key["sk"] == "STATE")
            now_ms = int(time.time() * 1000)
            recent = [
                {"role": "user", "content": "earlier", "at": now_ms},
                {"role": "assistant", "content": "reply", "at": now_ms},
            ]
            return {"Responses": {"t": [{**state, "recent": recent, "gen": 0, "ver": 1}]}}

        def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
            return {}

    class Table:
        name = "t"

        class meta:  # noqa: N801 - boto3's shape
            client = Client()

    settings = Settings.model_validate(
        {
            "stage": "bench",
            "table_name": "t",
            "llm_secret_arn": "arn",
            "llm_providers": '[{"name":"stub","kind":"openai","model":"m","base_url":"http://127.0.0.1:9/v1",'
            '"timeout_seconds":5}]',
            "llm_max_output_tokens": 256,
            "llm_timeout_seconds": 5,
            "quota_tiers": '[{"name":"free","daily_tokens":100000,"session_requests":1000}]',
            "default_tier": "free",
            "history_turns": 10,
            "transcript_retention_days": 7,
        }
    )
    table = Table()
    stub = deps_module.Dependencies(
        settings=settings,
        table=table,
        history=ConversationHistory(table, clock=time.time),
        store=SessionStore(table, retention_days=7, history_turns=10, clock=time.time),
        llm=Model(),
        controls=ControlsReader("", fetch=lambda name, max_age: "{}"),  # no parameter: no SSM call
        feedback=FeedbackStore(table, clock=time.time),
    )
    handler_module.dependencies = lambda: stub  # type: ignore[assignment]

    class Context:
        function_name, memory_limit_in_mb = "chat", 1024
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:chat"
        aws_request_id = "bench"

        def get_remaining_time_in_millis(self) -> int:
            return 28_000

    body = '{"sessionId": "session-0001", "message": "How long does a turn take?"}'
    durations = []
    # Log and EMF lines are written as in Lambda (their cost counts), into /dev/null instead of stdout.
    sys.stdout.flush()
    saved_stdout = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        for _ in range(turns):
            event = {
                "resource": "/chat",
                "path": "/chat",
                "httpMethod": "POST",
                "headers": {},
                "requestContext": {
                    "requestId": str(uuid.uuid4()),
                    "identity": {"apiKeyId": "k"},
                    "stage": "api",
                },
                "body": body,
                "isBase64Encoded": False,
            }
            started = time.perf_counter()
            response = handler_module.handler(event, Context())
            durations.append((time.perf_counter() - started) * 1000)
            assert response["statusCode"] == 200, response
    finally:
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)
        os.close(devnull)
        os.close(saved_stdout)
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per import measurement")
    parser.add_argument("--turns", type=int, default=300)
    args = parser.parse_args()

    cases = [
        ("import boto3", "boto3", {}),
        ("import handler, X-Ray SDK subsegments on", "lambda_src.handlers.chat", {}),
        (
            "import handler, X-Ray SDK off (prod default)",
            "lambda_src.handlers.chat",
            {"POWERTOOLS_TRACE_DISABLED": "true"},
        ),
    ]
    times = import_times(cases, runs=args.runs)
    boto3_ms = times["import boto3"]
    print(f"import time, median of {args.runs} fresh interpreters (Python {sys.version.split()[0]}):")
    for label, ms in times.items():
        print(f"  {label:46} {ms:7.1f} ms  ({ms / boto3_ms:.1f}x boto3)")

    durations = per_turn_overhead(args.turns)
    warm = sorted(durations[1:])
    p99 = warm[int(len(warm) * 0.99) - 1]
    print(
        f"per-turn handler overhead, stubbed AWS and LLM, first turn {durations[0]:.1f} ms, then {len(warm)}:"
    )
    print(f"  mean {statistics.mean(warm):.2f} ms   p50 {warm[len(warm) // 2]:.2f} ms   p99 {p99:.2f} ms")
    print()
    # In its own interpreter: this one's handler now runs on the stubs above.
    counts = subprocess.run(
        [sys.executable, "-m", "scripts.count_aws_calls"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    print(counts.stdout, end="")


if __name__ == "__main__":
    main()
