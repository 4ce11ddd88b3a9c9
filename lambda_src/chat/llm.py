"""A client for OpenAI-compatible chat-completions APIs (OpenAI, Azure OpenAI, vLLM, Ollama, LiteLLM).

Every failure becomes an ``LlmError`` that says whether a retry can help; the provider's own error
text is never carried into it, so it cannot reach a caller or a log line by accident.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import urllib3

from lambda_src.chat.models import Message, Usage

DEFAULT_RETRY_AFTER_SECONDS = 5
MAX_RETRY_AFTER_SECONDS = 120


class LlmError(Exception):
    """The model did not produce a usable reply. ``kind`` is a short label for metrics."""

    retryable = True

    def __init__(self, kind: str, *, status: int | None = None, retry_after: int | None = None) -> None:
        super().__init__(kind if status is None else f"{kind} (HTTP {status})")
        self.kind = kind
        self.status = status
        self.retry_after = retry_after


class LlmUnavailable(LlmError):
    """Rate limited, timed out, unreachable or failing on the provider's side: worth a retry later."""


class LlmBadResponse(LlmError):
    """The provider refused the request or answered something we cannot use: a retry will not help."""

    retryable = False


@dataclass(frozen=True)
class Completion:
    text: str
    usage: Usage
    model: str
    latency_ms: float = 0.0


class ChatModel(Protocol):
    def complete(self, messages: Sequence[Message], *, timeout: float) -> Completion: ...


def parse_retry_after(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        seconds = int(float(value))
    except ValueError:
        return None  # an HTTP date: rare from LLM providers, and the default wait is safe
    return max(1, min(seconds, MAX_RETRY_AFTER_SECONDS))


class OpenAICompatibleClient:
    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        max_output_tokens: int,
        api_key: Callable[[], str],
        http: urllib3.PoolManager | None = None,
    ) -> None:
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        self._max_output_tokens = max_output_tokens
        self._api_key = api_key
        self._http = http or urllib3.PoolManager(maxsize=4)

    def complete(self, messages: Sequence[Message], *, timeout: float) -> Completion:
        body = json.dumps(
            {
                "model": self._model,
                "messages": [{"role": m.role, "content": m.content} for m in messages],
                "max_tokens": self._max_output_tokens,
            }
        ).encode()
        headers = {
            "Authorization": f"Bearer {self._api_key()}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        started = time.monotonic()
        try:
            response = self._http.request(
                "POST",
                self._url,
                body=body,
                headers=headers,
                timeout=urllib3.Timeout(total=timeout),
                retries=False,
                redirect=False,
            )
        except urllib3.exceptions.TimeoutError:
            raise LlmUnavailable("timeout") from None
        except urllib3.exceptions.HTTPError:
            raise LlmUnavailable("connection") from None
        completion = self._read(response)
        return replace(completion, latency_ms=(time.monotonic() - started) * 1000)

    def _read(self, response: urllib3.BaseHTTPResponse) -> Completion:
        status = response.status
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise LlmUnavailable("rate_limited", status=status, retry_after=retry_after)
        if status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise LlmUnavailable("server_error", status=status, retry_after=retry_after)
        if status != 200:
            raise LlmBadResponse("rejected", status=status)
        try:
            payload = json.loads(response.data)
            return _completion_from(payload, default_model=self._model)
        except (ValueError, TypeError, KeyError, IndexError):
            raise LlmBadResponse("malformed_response", status=status) from None


def _completion_from(payload: Any, *, default_model: str) -> Completion:
    text = payload["choices"][0]["message"]["content"]
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty completion")
    usage = payload.get("usage") or {}
    input_tokens = int(usage.get("prompt_tokens", 0))
    output_tokens = int(usage.get("completion_tokens", 0))
    return Completion(
        text=text,
        usage=Usage(
            inputTokens=input_tokens,
            outputTokens=output_tokens,
            totalTokens=int(usage.get("total_tokens", input_tokens + output_tokens)),
        ),
        model=str(payload.get("model") or default_model),
    )
