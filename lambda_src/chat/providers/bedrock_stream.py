"""A Bedrock ConverseStream reply: ``contentBlockDelta`` events carry the text, ``messageStop`` says the
reply is complete, ``metadata`` carries the usage. An error event, a broken or silent connection, or a
stream that ends before ``messageStop`` raises an LlmError: a cut reply never looks like a finished one.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import urllib3
from botocore.eventstream import ParserError
from botocore.exceptions import BotoCoreError, ClientError

from lambda_src.chat.models import Usage
from lambda_src.chat.providers.base import LlmBadResponse, LlmUnavailable, StreamLimits
from lambda_src.chat.providers.sockets import shut_down

# Error events of a ConverseStream (camelCase), with the kind reported in metrics.
STREAM_ERROR_EVENTS = {
    "throttlingException": "rate_limited",
    "serviceUnavailableException": "server_error",
    "internalServerException": "server_error",
    "modelStreamErrorException": "server_error",
    "validationException": "rejected",
}


class BedrockReplyStream:
    def __init__(self, events: Iterable[dict[str, Any]], *, limits: StreamLimits, model: str) -> None:
        self._events = events
        self._limits = limits
        self.model = model
        self.usage: Usage | None = None
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[str]:
        from lambda_src.chat.providers.bedrock import llm_error_from

        stopped = started = False
        try:
            for event in self._events:
                if time.monotonic() > (self._limits.deadline if started else self._limits.first_token_by):
                    raise LlmUnavailable("timeout")
                for name, kind in STREAM_ERROR_EVENTS.items():
                    if name in event:
                        if kind == "rejected":
                            raise LlmBadResponse(kind)
                        raise LlmUnavailable(kind)
                if "contentBlockDelta" in event:
                    text = event["contentBlockDelta"].get("delta", {}).get("text")
                    if text:
                        if not isinstance(text, str):
                            raise LlmBadResponse("malformed_response")
                        started = True
                        yield text
                elif "messageStop" in event:
                    stopped = True
                elif "metadata" in event:
                    usage = event["metadata"].get("usage") or {}
                    self.usage = Usage.of(
                        usage.get("inputTokens"), usage.get("outputTokens"), usage.get("totalTokens")
                    )
        except (ClientError, BotoCoreError) as error:
            if self._closed.is_set():
                raise LlmUnavailable("interrupted") from None
            raise llm_error_from(error) from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            # botocore's EventStream reads the raw urllib3 response: its errors come through untranslated.
            if self._closed.is_set():
                raise LlmUnavailable("interrupted") from None
            if isinstance(error, (urllib3.exceptions.ReadTimeoutError, TimeoutError)):
                raise LlmUnavailable("idle_timeout" if started else "timeout") from None
            raise LlmUnavailable("connection") from None
        except (AttributeError, TypeError, ParserError):  # ParserError: a frame's CRC or layout is wrong
            raise LlmBadResponse("malformed_response") from None
        finally:
            self.close()
        if not stopped:
            raise LlmUnavailable("interrupted" if started else "connection")

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        # The socket first: closing the response would wait for a read blocked in another thread.
        shut_down(getattr(self._events, "_raw_stream", None))
        close = getattr(self._events, "close", None)
        if callable(close):
            with contextlib.suppress(Exception):  # closing a stream that already broke
                close()
