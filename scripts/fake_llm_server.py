"""A fake OpenAI-compatible chat-completions server on 127.0.0.1 for tests and offline `make dev`.

It can be told to answer normally, slowly, with an error status (429, 500, ...), to hang past the
client's timeout, or to send malformed JSON. Every request it receives is recorded.

    python -m scripts.fake_llm_server --port 8088   # then LLM_BASE_URL=http://127.0.0.1:8088/v1
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from scripts.fake_llm_stream import stream_answer, words

# Text a real provider might put in an error body; tests assert it never reaches a client or log.
PROVIDER_ERROR_TEXT = "upstream-internal-detail: shard 7 overloaded"
MAX_HANG_SECONDS = 10.0


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up on a slow answer is what the timeout tests want; stay silent."""


@dataclass
class Behaviour:
    mode: str = "ok"  # ok | slow | status | hang | trickle | malformed | empty | no_usage
    status: int = 200
    delay: float = 0.0
    retry_after: str | None = None
    reply: str | None = None
    # Streamed answers (a request with "stream": true): the pause before each word, and a fault
    # (fake_llm_stream.FAULTS) instead of the word numbered fault_after (0: before the first).
    token_delay: float = 0.0
    fault: str | None = None
    fault_after: int = 0


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    received_at: float = field(default_factory=time.perf_counter)
    first_chunk_at: float | None = None  # time.perf_counter() when a stream's first word was sent
    stream_end: str | None = None  # how a stream ended: complete, fault or client_gone
    ended_at: float | None = None  # time.perf_counter() when it ended

    def end(self, how: str) -> None:
        self.ended_at = time.perf_counter()
        self.stream_end = how


@dataclass
class FakeLlm:
    host: str = "127.0.0.1"
    port: int = 0
    behaviour: Behaviour = field(default_factory=Behaviour)
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = _QuietServer((self.host, self.port), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> FakeLlm:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
        self.behaviour = Behaviour()

    def answer(self, **behaviour: Any) -> None:
        self.behaviour = Behaviour(**behaviour)

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)


def _handler_for(fake: FakeLlm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests capture output
            return

        def do_GET(self) -> None:
            """GET /models, as OpenAI-compatible servers list their models (the deep health probe)."""
            fake.record(RecordedRequest(path=self.path, headers=dict(self.headers.items()), body={}))
            behaviour = fake.behaviour
            if not self.path.endswith("/models"):
                self._send(404, {"error": {"message": "unknown path"}})
            elif behaviour.mode == "status":
                self._send(behaviour.status, {"error": {"message": "refused"}})
            else:
                self._send(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = {}
            recorded = RecordedRequest(path=self.path, headers=dict(self.headers.items()), body=body)
            fake.record(recorded)
            if not self.path.endswith("/chat/completions"):
                self._send(404, {"error": {"message": "unknown path"}})
                return
            behaviour = fake.behaviour
            if behaviour.mode == "hang":
                time.sleep(min(behaviour.delay or MAX_HANG_SECONDS, MAX_HANG_SECONDS))
                return
            if behaviour.mode == "trickle":
                self._trickle(json.dumps(_completion(body, behaviour.reply)).encode(), behaviour.delay)
                return
            if behaviour.delay:
                time.sleep(behaviour.delay)
            if body.get("stream") is True and behaviour.mode in ("ok", "slow", "no_usage"):
                completion = _completion(body, behaviour.reply)
                if behaviour.mode == "no_usage":
                    body = {**body, "stream_options": {}}
                stream_answer(
                    self,
                    body,
                    completion,
                    token_delay=behaviour.token_delay,
                    fault=behaviour.fault,
                    fault_after=behaviour.fault_after,
                    first_chunk_sent=lambda: setattr(recorded, "first_chunk_at", time.perf_counter()),
                    ended=lambda how: recorded.end(how),
                )
                return
            if behaviour.mode == "status":
                headers = {"Retry-After": behaviour.retry_after} if behaviour.retry_after else {}
                self._send(behaviour.status, {"error": {"message": PROVIDER_ERROR_TEXT}}, headers)
            elif behaviour.mode == "malformed":
                self._send_raw(200, b'{"choices": [{"message": ', "application/json")
            elif behaviour.mode == "empty":
                self._send(200, {"choices": []})
            elif behaviour.mode == "no_usage":
                completion = _completion(body, behaviour.reply)
                del completion["usage"]
                self._send(200, completion)
            else:
                completion = _completion(body, behaviour.reply)
                if behaviour.token_delay:  # as long to write the whole answer as to stream it
                    time.sleep(
                        behaviour.token_delay * len(words(completion["choices"][0]["message"]["content"]))
                    )
                self._send(200, completion)

        def _trickle(self, data: bytes, seconds: float) -> None:
            """Headers at once, then the body a byte at a time over ``seconds``: each read is quick."""
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            pause = min(seconds, MAX_HANG_SECONDS) / max(len(data), 1)
            try:
                for byte in data:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(pause)
            except OSError:
                return  # the client gave up, as it should

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            self._send_raw(status, json.dumps(payload).encode(), "application/json", headers)

        def _send_raw(
            self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _completion(request: dict[str, Any], reply: str | None) -> dict[str, Any]:
    messages = request.get("messages") or [{"content": ""}]
    last = str(messages[-1].get("content", ""))
    text = reply if reply is not None else f"You said {len(last)} characters."
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
    completion_tokens = len(text.split())
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": request.get("model", "fake-model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8088)
    args = parser.parse_args()
    fake = FakeLlm(port=args.port).start()
    print(f"fake OpenAI-compatible LLM at {fake.base_url} (Ctrl-C stops)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
