"""Amazon Bedrock through the Converse API: IAM-authorized, no secret."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)

from lambda_src.chat.models import Message, Usage
from lambda_src.chat.providers.base import Completion, LlmBadResponse, LlmUnavailable, remaining_before

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

    def complete(self, messages: Sequence[Message], *, deadline: float) -> Completion:
        wait = math.floor(min(self._timeout_seconds, remaining_before(deadline)))
        if wait < 1:
            raise LlmUnavailable("no_time_left")
        client = self._client_for(wait)
        turns, system = converse_messages(messages)
        request: dict[str, Any] = {
            "modelId": self.model,
            "messages": turns,
            "inferenceConfig": {"maxTokens": self._max_output_tokens},
        }
        if system:
            request["system"] = system
        started = time.monotonic()
        try:
            response = client.converse(**request)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in RETRYABLE_CODES:
                raise LlmUnavailable(RETRYABLE_CODES[code], status=status) from None
            if status is not None and status >= 500:
                raise LlmUnavailable("server_error", status=status) from None
            raise LlmBadResponse("rejected", status=status) from None
        except ParamValidationError:
            raise LlmBadResponse("rejected") from None
        except (ReadTimeoutError, ConnectTimeoutError):
            raise LlmUnavailable("timeout") from None
        except (EndpointConnectionError, BotoCoreError):
            raise LlmUnavailable("connection") from None
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
