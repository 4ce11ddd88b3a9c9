"""The stage probed from outside, as a client sees it. CloudWatch Synthetics runs this on a schedule
(stacks/constructs/stage_canary.py) against the stage's CloudFront URL; a run that raises is a failed run,
and failed runs page on-call.

A run:
1. GET /api/health, without a key: the function answers;
2. GET /api/health/deep, with the canary's key: the table, the LLM key and a provider answer;
3. POST /api/chat: one turn in a new session, with a message never sent before, so that no reply cache
   answers it. Skipped when step 2 says the kill switch is on: an operator's pause is not an outage;
4. DELETE /api/conversations/<session>: the turn leaves nothing behind.

The key is the stage's canary key, on the verification tier (never a client's quota), read from API
Gateway by its id and kept while the container lives; a 403 drops it, so the next run reads it again.
Every step runs even after one fails, so one run names every broken part. The log gets one line per step
(status and milliseconds) and never the key, the message or the reply.

Only the standard library and boto3, which the Synthetics runtime provides; Python 3.9 or later.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Seconds each request may wait; together under the canary's timeout (stacks/config_canary.py).
TIMEOUTS = {"health": 5, "deep health": 10, "chat": 30, "erase": 10}
USER_AGENT = "chatbot-canary"

Http = Callable[..., tuple[int, dict[str, Any]]]


class CanaryFailed(Exception):
    """Raised to fail the run; its text names the failed steps (no key, no message text)."""


@dataclass(frozen=True)
class Step:
    name: str
    status: int  # 0: no answer (timeout, connection refused, not JSON)
    ok: bool
    milliseconds: float
    detail: str = ""


def call(
    method: str, url: str, *, timeout: float, api_key: str | None = None, body: Any = None
) -> tuple[int, dict[str, Any]]:
    """(status, JSON body); status 0 when there was no HTTP answer."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - the stage's https URL
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", USER_AGENT)
    if api_key:
        request.add_header("x-api-key", api_key)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as error:
        try:
            raw = error.read()
            return error.code, json.loads(raw) if raw else {}
        except ValueError:
            return error.code, {}
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
        return 0, {"error": type(error).__name__}


class CanaryKey:
    """The canary's API key value, read by id on first use and after a 403."""

    def __init__(self, key_id: str, read: Callable[[str], str]) -> None:
        self._key_id = key_id
        self._read = read
        self._value: str | None = None

    def get(self) -> str:
        if self._value is None:
            self._value = self._read(self._key_id)
        return self._value

    def refused(self) -> None:
        self._value = None


def read_api_key(key_id: str) -> str:
    import boto3
    from botocore.config import Config

    # Short waits and few retries: the whole run has RUN_TIMEOUT_SECONDS (stacks/config_canary.py).
    quick = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"})
    client = boto3.client("apigateway", config=quick)
    return str(client.get_api_key(apiKey=key_id, includeValue=True)["value"])


def probe(
    site_url: str, key: CanaryKey, *, http: Http = call, clock: Callable[[], float] = time.monotonic
) -> list[Step]:
    api = site_url.rstrip("/") + "/api"
    steps: list[Step] = []

    def step(
        name: str,
        method: str,
        path: str,
        check: Callable[[int, dict[str, Any]], tuple[bool, str]],
        **kwargs: Any,
    ) -> dict[str, Any]:
        started = clock()
        status, body = http(method, api + path, timeout=TIMEOUTS[name], **kwargs)
        ok, detail = check(status, body)
        if status == 0:  # no answer at all: say why (a timeout, a refused connection)
            detail = str(body.get("error", ""))
        if status == 403 and "api_key" in kwargs:
            key.refused()
        steps.append(Step(name, status, ok, round((clock() - started) * 1000, 1), detail))
        return body

    step("health", "GET", "/health", lambda s, b: (s == 200 and b.get("status") == "ok", ""))
    try:
        api_key = key.get()  # once a run: a 403 below drops it, and the next run reads it again
    except Exception as error:
        steps.append(Step("api key", 0, False, 0.0, f"cannot read key: {type(error).__name__}"))
        return steps
    deep = step("deep health", "GET", "/health/deep", _deep_health, api_key=api_key)
    if deep.get("turns") == "paused":
        steps.append(Step("chat", 0, True, 0.0, "skipped: the kill switch is on"))
        return steps
    nonce = uuid.uuid4().hex
    session = f"canary-{nonce[:16]}"
    step(
        "chat",
        "POST",
        "/chat",
        _answered,
        api_key=api_key,
        body={"sessionId": session, "message": f"Canary check {nonce}: reply with the word OK."},
    )
    step(
        "erase",
        "DELETE",
        f"/conversations/{session}",
        lambda s, b: (s == 204, _refusal(b)),
        api_key=api_key,
    )
    return steps


def _deep_health(status: int, body: dict[str, Any]) -> tuple[bool, str]:
    """Which parts fail, by name (the probe's answer carries states, never error text)."""
    broken = [
        f"{part} {state}" for part, state in body.items() if part in ("table", "secret") and state != "ok"
    ]
    providers = body.get("providers") or {}
    broken += [
        f"provider {name} {state}" for name, state in providers.items() if state not in ("ok", "disabled")
    ]
    ok = status == 200 and body.get("status") == "ok"
    # No parts to name (a 403, a 429, the edge refusing): the API's own words.
    return ok, ", ".join(broken) or ("" if ok else _refusal(body))


def _answered(status: int, body: dict[str, Any]) -> tuple[bool, str]:
    reply = body.get("reply")
    ok = status == 200 and isinstance(reply, str) and reply.strip() != ""
    return ok, "" if ok else _refusal(body)


def _refusal(body: dict[str, Any]) -> str:
    """The API's own words and request id (quota, provider unavailable, paused), never a reply."""
    said = str(body.get("message") or body.get("error") or "")[:160]
    request = body.get("requestId")
    return f"{said} (request {request})" if request else said


def report(steps: list[Step]) -> str:
    return "; ".join(
        f"{s.name} {'ok' if s.ok else 'FAILED'} ({s.status}, {s.milliseconds:.0f} ms"
        + (f", {s.detail})" if s.detail else ")")
        for s in steps
    )


_KEY: CanaryKey | None = None


def handler(event: Any, context: Any) -> str:
    global _KEY
    if _KEY is None:
        _KEY = CanaryKey(os.environ["API_KEY_ID"], read_api_key)
    steps = probe(os.environ["SITE_URL"], _KEY, http=call)
    for s in steps:
        print(
            json.dumps(
                {"step": s.name, "status": s.status, "ok": s.ok, "ms": s.milliseconds, "detail": s.detail}
            )
        )
    summary = report(steps)
    if not all(s.ok for s in steps):
        raise CanaryFailed(summary)
    return summary
