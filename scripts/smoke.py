"""Post-deploy smoke test: GET /health and one POST /chat through the stage's CloudFront URL.

    python -m scripts.smoke --stage staging            # reads the stage's stack outputs (credentials)
    python -m scripts.smoke --base-url http://127.0.0.1:8000 --api-key <key>   # any deployment

Exits 0 when both answer as they should, 1 otherwise; prints statuses and timings, never the key or
the reply text.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

TIMEOUT_SECONDS = 30


def call(
    method: str, url: str, *, api_key: str | None = None, body: Any = None
) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - https or loopback by design
    request.add_header("Content-Type", "application/json")
    if api_key:
        request.add_header("x-api-key", api_key)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read() or b"{}")
        except ValueError:
            return error.code, {}
    except (urllib.error.URLError, TimeoutError, ValueError) as error:
        return 0, {"error": type(error).__name__}


def smoke(base_url: str, api_key: str) -> bool:
    api = base_url.rstrip("/") + "/api"
    started = time.monotonic()
    status, body = call("GET", f"{api}/health")
    healthy = status == 200 and body.get("status") == "ok"
    elapsed_ms = (time.monotonic() - started) * 1000
    print(f"GET  /api/health -> {status} {body.get('version', '')} ({elapsed_ms:.0f} ms)")

    started = time.monotonic()
    session = f"smoke-{uuid.uuid4().hex[:12]}"
    status, body = call(
        "POST",
        f"{api}/chat",
        api_key=api_key,
        body={"sessionId": session, "message": "Smoke test: reply OK."},
    )
    answered = status == 200 and isinstance(body.get("reply"), str) and body["reply"].strip() != ""
    usage = body.get("usage", {})
    print(
        f"POST /api/chat   -> {status} ({(time.monotonic() - started) * 1000:.0f} ms, "
        f"{usage.get('totalTokens', 0)} tokens)"
    )
    if not answered and "message" in body:
        print(f"  {body['message']}", file=sys.stderr)
    return healthy and answered and streamed(api, api_key, session)


def streamed(api: str, api_key: str, session: str) -> bool:
    """One streamed turn: a 200 event stream that starts, carries text and ends with done."""
    from scripts.sse_client import post_stream

    started = time.perf_counter()
    try:
        answer = post_stream(
            f"{api}/chat/stream",
            {"sessionId": session, "message": "Smoke test: stream OK."},
            {"x-api-key": api_key},
        )
        if answer.status != 200:
            print(f"POST /api/chat/stream -> {answer.status}")
            answer.close()
            return False
        events = answer.all_events()
    except (OSError, ValueError) as error:
        print(f"POST /api/chat/stream -> {type(error).__name__}")
        return False
    names = [e.name for e in events]
    deltas = [e for e in events if e.name == "delta"]
    ok = bool(deltas) and names[0] == "start" and names[-1] == "done"
    first_token = f"first token {(deltas[0].at - started) * 1000:.0f} ms, " if deltas else ""
    print(
        f"POST /api/chat/stream -> 200 ({first_token}{len(deltas)} deltas, "
        f"ends with {names[-1] if names else 'nothing'}, {(time.perf_counter() - started) * 1000:.0f} ms)"
    )
    return ok


def stage_endpoint(stage: str, region: str | None) -> tuple[str, str]:
    import boto3

    session = boto3.Session(region_name=region)
    cloudformation = session.client("cloudformation")
    outputs: dict[str, str] = {}
    for stack in (f"{stage}-ChatbotService", f"{stage}-ChatbotWeb"):
        described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
        outputs.update({o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])})
    # The stage's verification key: its own usage plan and tier, never a client's quota.
    key = session.client("apigateway").get_api_key(apiKey=outputs["VerificationApiKeyId"], includeValue=True)
    return outputs["SiteUrl"], key["value"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--stage", choices=["dev", "staging", "prod"])
    target.add_argument("--base-url", help="the site URL (CloudFront, or make dev's)")
    parser.add_argument("--api-key", help="with --base-url: the key to use")
    parser.add_argument("--region")
    args = parser.parse_args(argv)
    if args.stage:
        base_url, api_key = stage_endpoint(args.stage, args.region)
    else:
        if not args.api_key:
            parser.error("--base-url needs --api-key")
        base_url, api_key = args.base_url, args.api_key
    ok = smoke(base_url, api_key)
    print("smoke test passed" if ok else "smoke test FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
