"""A client of the streamed chat route for tests, the bench and the smoke test: POST, then read the
server-sent events as they arrive, each with the time it arrived."""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

USER_AGENT = "chatbot-platform-tests (scripts/sse_client.py)"


@dataclass(frozen=True)
class StreamEvent:
    name: str
    data: dict[str, Any]
    at: float  # time.perf_counter() when its last byte arrived


@dataclass
class StreamAnswer:
    status: int
    headers: dict[str, str]
    response: http.client.HTTPResponse
    connection: http.client.HTTPConnection
    comments: list[str] = field(default_factory=list)
    raw: bytearray = field(default_factory=bytearray)

    def json(self) -> dict[str, Any]:
        """The body of a refusal (not a stream)."""
        data = self.response.read()
        self.raw += data
        self.close()
        return dict(json.loads(data))

    def events(self) -> Iterator[StreamEvent]:
        """The events, as they arrive; ends when the server ends the stream."""
        buffer = b""
        while True:
            chunk = self.response.read1(65536)
            if not chunk:
                return
            self.raw += chunk
            buffer += chunk
            while b"\n\n" in buffer:
                block, buffer = buffer.split(b"\n\n", 1)
                event = _parse(block.decode(), time.perf_counter(), self.comments)
                if event is not None:
                    yield event

    def all_events(self) -> list[StreamEvent]:
        try:
            return list(self.events())
        finally:
            self.close()

    def close(self) -> None:
        """Hang up, as a browser's Stop button does."""
        self.connection.close()


def _parse(block: str, at: float, comments: list[str]) -> StreamEvent | None:
    name, data = "message", []
    for line in block.splitlines():
        if line.startswith(":"):
            comments.append(line[1:].strip())
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if not data:
        return None
    return StreamEvent(name, json.loads("\n".join(data)), at)


def post_stream(
    url: str, body: dict[str, Any] | str, headers: dict[str, str] | None = None, *, timeout: float = 30
) -> StreamAnswer:
    parts = urllib.parse.urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.netloc, timeout=timeout)
    payload = body if isinstance(body, str) else json.dumps(body)
    connection.request(
        "POST",
        parts.path or "/",
        body=payload.encode(),
        # http.client sends no User-Agent, and the edge's managed Common rule set blocks a request without
        # one (NoUserAgent_HEADER): through CloudFront every streamed call would get WAF's plain 403.
        headers={
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            "User-Agent": USER_AGENT,
            **(headers or {}),
        },
    )
    response = connection.getresponse()
    return StreamAnswer(
        status=response.status,
        headers={name.lower(): value for name, value in response.getheaders()},
        response=response,
        connection=connection,
    )
