"""Amazon Bedrock through the Converse API (whole answers) and ConverseStream (bedrock_stream.py):
IAM-authorized, no secret."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    ParamValidationError,
    ReadTimeoutError,
)

from lambda_src.chat.models import Message, Usage
from lambda_src.chat.providers.base import (
    Completion,
    LlmBadResponse,
    LlmError,
    LlmUnavailable,
    ReplyStream,
    StreamLimits,
    remaining_before,
)
from lambda_src.chat.providers.bedrock_stream import BedrockReplyStream

# Bedrock error codes a later attempt can cure, with the kind reported in metrics.
RETRYABLE_CODES = {
    "ThrottlingException": "rate_limited",
    "ServiceUnavailableException": "server_error",
    "InternalServerException": "server_error",
    "ModelTimeoutException": "timeout",
    "ModelNotReadyException": "server_error",
}


def converse_messages(messages: Sequence[Message]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Split out system prompts and make the turns alternate, starting with the user, as Converse wants.

    Consecutive messages of one role (a user message whose reply failed, then the next one) are joined.
    """
    system = [{"text": m.content} for m in messages if m.role == "system"]
    turns: list[dict[str, Any]] = []
    for message in (m for m in messages if m.role != "system"):
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"].append({"text": message.content})
        else:
            turns.append({"role": message.role, "content": [{"text": message.content}]})
    while turns and turns[0]["role"] != "user":
        turns.pop(0)
    return turns, system


def llm_error_from(error: Exception) -> LlmError:
    """What a botocore failure of a Converse call means for a retry; never the provider's text."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = code[:1].upper() + code[1:]  # the stream's error events are camelCase
        if code in RETRYABLE_CODES:
            return LlmUnavailable(RETRYABLE_CODES[code], status=status)
        if code == "ModelStreamErrorException" or (status is not None and status >= 500):
            return LlmUnavailable("server_error", status=status)
        return LlmBadResponse("rejected", status=status)
    if isinstance(error, ParamValidationError):
        return LlmBadResponse("rejected")
    if isinstance(error, (ReadTimeoutError, ConnectTimeoutError)):
        return LlmUnavailable("timeout")
    return LlmUnavailable("connection")


class BedrockConverseClient:
    def __init__(
        self,
        *,
        name: str,
        model: str,
        max_output_tokens: int,
        client_for: Callable[[int], Any],
        timeout_seconds: float,
    ) -> None:
        self.name = name
        self.model = model
        self._max_output_tokens = max_output_tokens
        # A bedrock-runtime client per whole-second read timeout: botocore fixes timeouts per client,
        # and each attempt may only wait for what is left before the deadline.
        self._client_for = client_for
        self._timeout_seconds = timeout_seconds

    def _request(self, messages: Sequence[Message]) -> dict[str, Any]:
        turns, system = converse_messages(messages)
        request: dict[str, Any] = {
            "modelId": self.model,
            "messages": turns,
            "inferenceConfig": {"maxTokens": self._max_output_tokens},
        }
        if system:
            request["system"] = system
        return request

    def stream(self, messages: Sequence[Message], *, limits: StreamLimits) -> ReplyStream:
        """ConverseStream: it must start by ``limits.first_token_by`` (and within this provider's own
        timeout), then never fall silent for ``limits.idle_seconds`` (the client's read timeout)."""
        first_token_by = min(limits.first_token_by, time.monotonic() + self._timeout_seconds)
        remaining_before(first_token_by)
        client = self._client_for(max(1, math.ceil(limits.idle_seconds)))
        try:
            response = client.converse_stream(**self._request(messages))
        except (ClientError, ParamValidationError, BotoCoreError) as error:
            raise llm_error_from(error) from None
        return BedrockReplyStream(
            response["stream"],
            limits=StreamLimits(first_token_by, limits.deadline, limits.idle_seconds),
            model=self.model,
        )

    def complete(self, messages: Sequence[Message], *, deadline: float) -> Completion:
        wait = math.floor(min(self._timeout_seconds, remaining_before(deadline)))
        if wait < 1:
            raise LlmUnavailable("no_time_left")
        started = time.monotonic()
        try:
            response = self._client_for(wait).converse(**self._request(messages))
        except (ClientError, ParamValidationError, BotoCoreError) as error:
            raise llm_error_from(error) from None
        if time.monotonic() > deadline:
            raise LlmUnavailable("timeout")  # the answer came too late to be of use
        try:
            blocks = response["output"]["message"]["content"]
            text = "".join(block["text"] for block in blocks if "text" in block)
            usage = response.get("usage") or {}
        except (KeyError, TypeError):
            raise LlmBadResponse("malformed_response") from None
        if not text.strip():
            raise LlmBadResponse("malformed_response")
        return Completion(
            text=text,
            usage=Usage.of(usage.get("inputTokens"), usage.get("outputTokens"), usage.get("totalTokens")),
            model=self.model,
            latency_ms=(time.monotonic() - started) * 1000,
            provider=self.name,
        )
