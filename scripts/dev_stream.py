"""The stream function for `make dev`: the same ASGI app the Lambda Web Adapter runs (lambda_src/run.sh),
under uvicorn in a process of its own with the dev stage's environment, and the adapter's part: each
request is forwarded with API Gateway's request context (x-amzn-request-context) and the invocation's
id and deadline (x-amzn-lambda-context), and the response body is passed on as it arrives."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
READY_SECONDS = 30
# Headers the adapter passes on from the client's request.
FORWARDED = ("content-type", "idempotency-key", "origin")


@dataclass
class StreamAnswer:
    status: int
    headers: list[tuple[str, str]]
    chunks: Iterator[bytes]
    close: Any


class StreamContainer:
    def __init__(self, environment: Mapping[str, str], *, timeout_seconds: int) -> None:
        self._timeout_seconds = timeout_seconds
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        self.port = int(listener.getsockname()[1])
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and the app's module
            [
                sys.executable,
                "-m",
                "uvicorn",
                "lambda_src.handlers.chat_stream:app",
                f"--fd={listener.fileno()}",
                "--lifespan=off",
                "--no-access-log",
                "--log-level=warning",
            ],
            cwd=REPO_ROOT,
            env={**os.environ, **environment},
            pass_fds=(listener.fileno(),),
        )
        listener.close()
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        """As the adapter does: GET /ready until it answers."""
        deadline = time.monotonic() + READY_SECONDS
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/ready")
                if connection.getresponse().status == 200:
                    connection.close()
                    return
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the stream function did not start") from None
                time.sleep(0.1)

    def invoke(self, event: dict[str, Any], body: bytes, headers: Mapping[str, str]) -> StreamAnswer:
        forwarded = {name: value for name, value in headers.items() if name.lower() in FORWARDED}
        invocation = {
            "request_id": str(uuid.uuid4()),
            "deadline": int((time.time() + self._timeout_seconds) * 1000),
        }
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self._timeout_seconds)
        connection.request(
            "POST",
            event["path"],
            body=body,
            headers={
                **forwarded,
                "x-amzn-request-context": json.dumps(event["requestContext"]),
                "x-amzn-lambda-context": json.dumps(invocation),
            },
        )
        response = connection.getresponse()

        def chunks() -> Iterator[bytes]:
            while chunk := response.read1(65536):
                yield chunk

        return StreamAnswer(response.status, response.getheaders(), chunks(), connection.close)

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
