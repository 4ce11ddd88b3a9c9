"""OpenAI-compatible chat completions: OpenAI, Azure OpenAI (v1 API), vLLM, Ollama, LiteLLM."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import urllib3

from lambda_src.chat.models import Message, Usage
from lambda_src.chat.providers.base import (
    Completion,
    LlmBadResponse,
    LlmUnavailable,
    ReplyStream,
    StreamLimits,
    parse_retry_after,
    remaining_before,
)
from lambda_src.chat.providers.openai_stream import OpenAIReplyStream

CONNECT_TIMEOUT_SECONDS = 3.0
READ_CHUNK_BYTES = 64 * 1024
MAX_RESPONSE_BYTES = 4 * 1024 * 1024


class OpenAICompatibleClient:
    """Chat completions: whole answers with a wall-clock deadline that covers every byte of them, or
    streamed ones (openai_stream.py)."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        model: str,
        max_output_tokens: int,
        api_key: Callable[[], str],
        timeout_seconds: float | None = None,
        http: urllib3.PoolManager | None = None,
    ) -> None:
        self.name = name
        self._url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self._max_output_tokens = max_output_tokens
        self._api_key = api_key
        self._timeout_seconds = timeout_seconds
        self._http = http or urllib3.PoolManager(maxsize=4)

    def complete(self, messages: Sequence[Message], *, deadline: float) -> Completion:
        """Ask the model; ``deadline`` is a ``time.monotonic()`` instant by which all must be done."""
        started = time.monotonic()
        if self._timeout_seconds is not None:  # one attempt's own limit, within the request's deadline
            deadline = min(deadline, started + self._timeout_seconds)
        response = self._open(messages, deadline=deadline, read_timeout=None, stream=False)
        try:
            data = _read_before(response, deadline)
        finally:
            response.release_conn()
        try:
            completion = _completion_from(json.loads(data), default_model=self.model)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            raise LlmBadResponse("malformed_response", status=200) from None
        return replace(completion, latency_ms=(time.monotonic() - started) * 1000, provider=self.name)

    def stream(self, messages: Sequence[Message], *, limits: StreamLimits) -> ReplyStream:
        """Ask the model for a streamed reply: it must start by ``limits.first_token_by`` (and within
        this provider's own timeout), then never fall silent for ``limits.idle_seconds``."""
        first_token_by = limits.first_token_by
        if self._timeout_seconds is not None:
            first_token_by = min(first_token_by, time.monotonic() + self._timeout_seconds)
        response = self._open(
            messages, deadline=first_token_by, read_timeout=limits.idle_seconds, stream=True
        )
        return OpenAIReplyStream(
            response,
            limits=StreamLimits(first_token_by, limits.deadline, limits.idle_seconds),
            model=self.model,
        )

    def _open(
        self, messages: Sequence[Message], *, deadline: float, read_timeout: float | None, stream: bool
    ) -> urllib3.BaseHTTPResponse:
        """The provider's 200 response, its body unread; an LlmError for any other answer."""
        headers = {
            "Authorization": f"Bearer {self._api_key()}",  # may read Secrets Manager: inside the deadline
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if stream else "application/json",
        }
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": self._max_output_tokens,
        }
        if stream:
            request["stream"] = True
            request["stream_options"] = {"include_usage": True}
        remaining = remaining_before(deadline)
        try:
            response = self._http.request(
                "POST",
                self._url,
                body=json.dumps(request).encode(),
                headers=headers,
                timeout=urllib3.Timeout(
                    connect=min(remaining, CONNECT_TIMEOUT_SECONDS),
                    read=min(remaining, read_timeout or remaining),
                ),
                retries=False,
                redirect=False,
                preload_content=False,
            )
        except urllib3.exceptions.TimeoutError:
            raise LlmUnavailable("timeout") from None
        except urllib3.exceptions.HTTPError:
            raise LlmUnavailable("connection") from None
        status = response.status
        if status == 200:
            return response
        response.close()  # the error body is not read, so the connection cannot be reused
        response.release_conn()
        if status == 429:
            raise LlmUnavailable("rate_limited", status=status, retry_after=_retry_after(response))
        if status == 408:
            raise LlmUnavailable("timeout", status=status)
        if status >= 500:
            raise LlmUnavailable("server_error", status=status, retry_after=_retry_after(response))
        raise LlmBadResponse("rejected", status=status)


def _retry_after(response: urllib3.BaseHTTPResponse) -> int | None:
    return parse_retry_after(response.headers.get("Retry-After"))


def _read_before(response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
    """Read the body in single socket reads, each allowed only the time left before the deadline.

    A read timeout alone bounds the gap between bytes, not the total: a provider that trickles its
    answer could otherwise hold the function past its own timeout.
    """
    read_once = getattr(response, "read1", None) or response.read
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            remaining = remaining_before(deadline)
            sock = getattr(getattr(response, "connection", None), "sock", None)
            if sock is not None:
                sock.settimeout(remaining)
            chunk = read_once(READ_CHUNK_BYTES)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise LlmBadResponse("oversized_response", status=response.status)
            chunks.append(chunk)
    except (TimeoutError, urllib3.exceptions.TimeoutError):
        response.close()  # the connection is mid-body: never hand it back to the pool
        raise LlmUnavailable("timeout") from None
    except (OSError, urllib3.exceptions.HTTPError):
        response.close()
        raise LlmUnavailable("connection") from None


def _completion_from(payload: Any, *, default_model: str) -> Completion:
    text = payload["choices"][0]["message"]["content"]
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty completion")
    usage = payload.get("usage") or {}
    return Completion(
        text=text,
        usage=Usage.of(usage.get("prompt_tokens"), usage.get("completion_tokens"), usage.get("total_tokens")),
        model=str(payload.get("model") or default_model),
    )
