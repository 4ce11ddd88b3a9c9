"""The streamed answers of the fake LLM (scripts/fake_llm_server.py): an OpenAI-compatible event stream,
a word at a time with a settable pause between words, the usage chunk and ``[DONE]``; or a fault after
``fault_after`` words: the connection dropped, a malformed chunk, an error chunk, or a hang."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

# A hang lasts at most this long, so a test that forgets to stop the fake never waits forever.
MAX_HANG_SECONDS = 10.0
FAULTS = ("drop", "malformed", "error", "hang")


def words(text: str) -> list[str]:
    """The pieces the fake streams: each word with the spaces after it."""
    return re.findall(r"\S+\s*", text) or [text]


def stream_answer(
    handler: BaseHTTPRequestHandler,
    request: dict[str, Any],
    completion: dict[str, Any],
    *,
    token_delay: float,
    fault: str | None,
    fault_after: int,
    first_chunk_sent: Callable[[], None],
    ended: Callable[[str], None] = lambda _: None,
) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Cache-Control", "no-cache")
    handler.end_headers()
    handler.close_connection = True  # no Content-Length: the stream ends when the connection does
    model = completion["model"]

    def send(data: str) -> None:
        handler.wfile.write(f"data: {data}\n\n".encode())
        handler.wfile.flush()

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return json.dumps(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    try:
        handler.wfile.write(b": the fake is thinking\n\n")  # a comment, as real servers send keep-alives
        send(chunk({"role": "assistant", "content": ""}))
        for number, piece in enumerate(words(completion["choices"][0]["message"]["content"])):
            if fault is not None and number == fault_after:
                _fail(handler, fault, send)
                ended("fault")
                return
            if token_delay:
                time.sleep(token_delay)
            send(chunk({"content": piece}))
            if number == 0:
                first_chunk_sent()
        send(chunk({}, finish="stop"))
        if (request.get("stream_options") or {}).get("include_usage"):
            send(
                json.dumps(
                    {"id": "chatcmpl-fake", "model": model, "choices": [], "usage": completion["usage"]}
                )
            )
        send("[DONE]")
        ended("complete")
    except OSError:
        ended("client_gone")  # the client went away, as a cancelled stream does


def _fail(handler: BaseHTTPRequestHandler, fault: str, send: Callable[[str], None]) -> None:
    if fault == "malformed":
        send('{"choices": [{"delta": {"content": ')
    elif fault == "error":
        send(json.dumps({"error": {"message": "upstream-internal-detail: shard 7 overloaded"}}))
    elif fault == "hang":
        time.sleep(MAX_HANG_SECONDS)
    # "drop", and after any of them: the connection closes without [DONE]
