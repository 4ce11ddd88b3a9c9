"""The project's own streamed-route client (smoke test, contract tests, bench) is one the edge admits: the
managed Common rule set blocks a request without a User-Agent, and http.client sends none by itself."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from scripts.sse_client import post_stream


def test_a_streamed_request_names_its_user_agent_and_asks_for_an_event_stream() -> None:
    seen: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.update({name.lower(): value for name, value in self.headers.items()})
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b'event: done\ndata: {"ok": true}\n\n'
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        answer = post_stream(f"http://127.0.0.1:{server.server_port}/api/chat/stream", {"message": "hi"})
        assert [e.name for e in answer.all_events()] == ["done"]
    finally:
        server.shutdown()
    assert seen["user-agent"].startswith("chatbot-platform-tests")
    assert seen["accept"] == "text/event-stream"
