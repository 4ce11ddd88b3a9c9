"""A streamed OpenAI-compatible chat completion (``stream: true`` with ``stream_options.include_usage``):
server-sent events, each a JSON chunk with a piece of the reply, the last one the usage, then
``data: [DONE]``.

The reply is complete only when ``[DONE]`` arrives, or a chunk says why the reply finished
(``finish_reason``) and the connection then closes. Anything else that ends the stream (a dropped
connection, a malformed chunk, an error chunk, silence past the idle limit, the deadline) raises an
LlmError: a cut reply never looks like a finished one.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import urllib3

from lambda_src.chat.models import Usage
from lambda_src.chat.providers.base import LlmBadResponse, LlmUnavailable, StreamLimits
from lambda_src.chat.providers.sockets import shut_down, socket_of
from lambda_src.chat.providers.sse import SseError, SseParser

READ_CHUNK_BYTES = 16 * 1024
MAX_STREAM_BYTES = 4 * 1024 * 1024


class OpenAIReplyStream:
    def __init__(self, response: urllib3.BaseHTTPResponse, *, limits: StreamLimits, model: str) -> None:
        self._response = response
        self._limits = limits
        self.model = model
        self.usage: Usage | None = None
        self._closed = threading.Event()
        self._finish_reason: str | None = None

    def __iter__(self) -> Iterator[str]:
        parser = SseParser()
        received = 0
        started = False
        try:
            while True:
                chunk = self._read(until=self._limits.deadline if started else self._limits.first_token_by)
                if not chunk:
                    if self._finish_reason is not None:
                        return  # finished, without the [DONE] some servers leave out
                    raise LlmUnavailable("interrupted" if started else "connection")
                received += len(chunk)
                if received > MAX_STREAM_BYTES:
                    raise LlmBadResponse("oversized_response", status=200)
                try:
                    events = parser.feed(chunk)
                except SseError:
                    raise LlmBadResponse("malformed_response", status=200) from None
                for data in events:
                    if data.strip() == "[DONE]":
                        return
                    for piece in self._pieces(data):
                        started = True
                        yield piece
        finally:
            self.close()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        shut_down(self._response)  # unblocks a read waiting in another thread
        with contextlib.suppress(Exception):  # a response the reading thread is closing too
            self._response.close()
            self._response.release_conn()

    def _read(self, *, until: float) -> bytes:
        """One socket read of what has arrived; the wait is bounded by the idle limit and ``until``."""
        remaining = until - time.monotonic()
        if remaining <= 0:
            raise LlmUnavailable("timeout")
        wait = min(remaining, self._limits.idle_seconds)
        read_once = getattr(self._response, "read1", None) or self._response.read
        try:
            sock = socket_of(self._response)
            if sock is not None:
                sock.settimeout(wait)
            chunk: bytes = read_once(READ_CHUNK_BYTES)
        except Exception as error:
            if self._closed.is_set():
                return b""  # close() from another thread pulled the connection from under this read
            if isinstance(error, (TimeoutError, urllib3.exceptions.TimeoutError)):
                raise LlmUnavailable("timeout" if wait >= remaining else "idle_timeout") from None
            if isinstance(error, (OSError, urllib3.exceptions.HTTPError)):
                raise LlmUnavailable("connection") from None
            raise
        return chunk

    def _pieces(self, data: str) -> Iterator[str]:
        try:
            payload: Any = json.loads(data)
            if not isinstance(payload, dict):
                raise TypeError
            if payload.get("error"):
                raise LlmUnavailable("server_error", status=200)  # the provider gave up mid-answer
            usage = payload.get("usage")
            if isinstance(usage, dict):
                self.usage = Usage.of(
                    usage.get("prompt_tokens"), usage.get("completion_tokens"), usage.get("total_tokens")
                )
            if payload.get("model"):
                self.model = str(payload["model"])
            for choice in payload.get("choices") or []:
                text = (choice.get("delta") or {}).get("content")
                if choice.get("finish_reason"):
                    self._finish_reason = str(choice["finish_reason"])
                if text:
                    if not isinstance(text, str):
                        raise TypeError
                    yield text
        except (ValueError, TypeError, AttributeError):
            raise LlmBadResponse("malformed_response", status=200) from None
