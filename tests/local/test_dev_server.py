"""`make dev` behaves like the deployed stage: overlapping requests are answered side by side, jobs are
answered by the worker from the queue, routes, keys and limits are the gateway's, and a port in use
is said so. The server runs as `make dev` runs it, against a fake LLM this test controls."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripts.fake_llm_server import FakeLlm
from tests.dev_process import REPO_ROOT, dev_server

# Starts a browser, a server or a tool in a process of its own: make test-e2e runs it.
pytestmark = pytest.mark.e2e

API_KEY = "local-test-key"
MODEL = "model-from-the-command-line"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLlm]:
    fake = FakeLlm().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def server(llm: FakeLlm) -> Iterator[str]:
    with dev_server("--api-key", API_KEY, "--llm-url", llm.base_url, "--llm-model", MODEL) as base:
        yield base


@pytest.fixture(autouse=True)
def _fresh_llm(llm: FakeLlm) -> None:
    llm.reset()


def _call(
    base: str,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 15,
    raw: bytes | None = None,
) -> Answer:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(  # noqa: S310 - loopback only
        base + path, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, payload, got = response.status, response.read(), dict(response.headers.items())
    except urllib.error.HTTPError as error:
        status, payload, got = error.code, error.read(), dict(error.headers.items())
    is_json = got.get("Content-Type") == "application/json" and payload
    return Answer(status, json.loads(payload) if is_json else payload, got)


def _chat(
    base: str, session: str, message: str, headers: dict[str, str] | None = None, **kwargs: Any
) -> Answer:
    body = {"sessionId": session, "message": message}
    return _call(base, "POST", "/api/chat", body, headers or {"x-api-key": API_KEY}, **kwargs)


def _wait_for(condition: Any, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_llm_url_and_model_of_the_command_line_are_used(server: str, llm: FakeLlm) -> None:
    answer = _chat(server, "session-model", "hello")
    assert answer.status == 200, answer
    assert llm.requests[-1].body["model"] == MODEL


def test_overlapping_requests_reach_the_model_side_by_side_and_a_hanging_one_blocks_no_other_route(
    server: str, llm: FakeLlm
) -> None:
    llm.answer(mode="hang", delay=6)
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        for n in range(2):
            pool.submit(_chat, server, f"session-hang-{n}", "wait for me", timeout=40)
        _wait_for(lambda: len(llm.requests) == 2)  # both turns are with the model at once

        assert _call(server, "GET", "/api/health", timeout=5).status == 200
        listed = _call(server, "GET", "/api/conversations", headers={"x-api-key": API_KEY}, timeout=5)
        assert listed.status == 200
        assert {"session-hang-0", "session-hang-1"} <= {s["sessionId"] for s in listed.body["sessions"]}
        assert _call(server, "GET", "/", timeout=5).status == 200
    finally:
        pool.shutdown(wait=False)  # the hanging turns end on their own, in containers of their own


def test_a_job_is_queued_and_answered_by_the_worker_from_the_queue(server: str, llm: FakeLlm) -> None:
    llm.answer(reply="Answered in the background.")
    queued = _call(
        server,
        "POST",
        "/api/chat/jobs",
        {"sessionId": "session-job", "message": "later"},
        {"x-api-key": API_KEY},
    )
    assert queued.status == 202, queued
    job = f"/api/chat/jobs/{queued.body['jobId']}"

    def done() -> bool:
        return _call(server, "GET", job, headers={"x-api-key": API_KEY}).body["status"] == "done"

    _wait_for(done, seconds=20)
    assert (
        _call(server, "GET", job, headers={"x-api-key": API_KEY}).body["reply"]
        == "Answered in the background."
    )


def test_header_names_are_case_insensitive(server: str) -> None:
    for name in ("x-api-key", "X-API-KEY", "X-Api-Key"):
        assert _chat(server, "session-case", "hi", headers={name: API_KEY}).status == 200, name
    assert _chat(server, "session-case", "hi", headers={"X-API-KEY": "not-the-key"}).status == 403


def test_unrouted_methods_and_paths_get_json_404_or_405(server: str) -> None:
    for method, path, status in (
        ("PUT", "/api/chat", 404),
        ("GET", "/api/chat", 404),
        ("DELETE", "/api/chat/jobs", 404),
        ("GET", "/api/nowhere", 404),
        ("POST", "/", 405),
        ("DELETE", "/index.html", 405),
    ):
        answer = _call(server, method, path, headers={"x-api-key": API_KEY})
        assert answer.status == status, (method, path)
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.body["message"]


def test_a_body_over_the_edge_limit_gets_413_and_never_reaches_the_handler(server: str, llm: FakeLlm) -> None:
    from stacks.config import STAGES

    limit = STAGES["dev"].edge.max_chat_body_bytes
    body = json.dumps({"sessionId": "session-big", "message": "a" * limit}).encode()
    answer = _call(server, "POST", "/api/chat", headers={"x-api-key": API_KEY}, raw=body)
    assert answer.status == 413
    assert answer.body == {"message": "The request body is too large."}
    assert llm.requests == []


def test_a_port_in_use_is_said_so(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "scripts.dev_server", "--port", str(port)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert f"port {port} is already in use" in result.stderr
    assert "make dev PORT=" in result.stderr


def _raw(base: str, request: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_a_malformed_content_length_is_a_json_400(server: str) -> None:
    for length in (b"abc", b"-1", b"1e3"):
        answer = _raw(
            server,
            b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: " + API_KEY.encode() + b"\r\n"
            b"Content-Length: " + length + b"\r\n\r\n{}",
        )
        assert answer.startswith(b"HTTP/1.0 400"), (length, answer[:60])
        assert b'"message"' in answer


def test_a_chunked_body_is_read_like_any_other(server: str) -> None:
    body = json.dumps({"sessionId": "session-chunked", "message": "sent in chunks"}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:])) + b"0\r\n\r\n"
    answer = _raw(
        server,
        b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: " + API_KEY.encode() + b"\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks,
    )
    assert answer.startswith(b"HTTP/1.0 200"), answer[:200]
    assert b"You said 14 characters." in answer


def test_a_reply_streams_through_the_dev_gateway_as_it_is_generated(server: str, llm: FakeLlm) -> None:
    from scripts.sse_client import post_stream

    # The dev stage's guardrail releases a streamed reply in checked chunks, the first from 120 characters
    # at a sentence end (README, "Guardrails"): a first sentence that long, then words still to come.
    first_sentence = " ".join(f"word{n}" for n in range(25)) + "."
    reply = first_sentence + " " + " ".join(f"more{n}" for n in range(10))
    llm.answer(reply=reply, token_delay=0.1)
    body = {"sessionId": "session-stream", "message": "stream please"}
    refused = post_stream(server + "/api/chat/stream", body, {"x-api-key": "wrong"})
    assert refused.status == 403
    refused.close()

    answer = post_stream(server + "/api/chat/stream", body, {"x-api-key": API_KEY})
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = answer.events()
    first = next(e for e in events if e.name == "delta")
    # The first word is here while the model is still generating the rest.
    assert llm.requests[-1].stream_end is None
    rest = list(events)
    answer.close()
    assert first.data["text"] == first_sentence
    assert first.data["text"] + "".join(e.data["text"] for e in rest if e.name == "delta") == reply
    assert rest[-1].name == "done"
    transcript = _call(server, "GET", "/api/conversations/session-stream", headers={"x-api-key": API_KEY})
    assert [m["content"] for m in transcript.body["messages"]] == ["stream please", reply]
