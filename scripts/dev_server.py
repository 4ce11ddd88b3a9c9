"""Local development: the chat page, the real chat and worker handlers, on http://127.0.0.1:<port>.

It behaves like the dev stage:
- /api/* goes through what CloudFront, the edge web ACL and API Gateway do (scripts/dev_gateway.py):
  the deployed routes, API keys, the body limit, JSON 4xx answers;
- each Lambda runs in containers of its own that scale out as requests overlap (scripts/dev_lambda.py),
  with the dev stage's environment, so a slow model holds up only its own request;
- POST /api/chat/stream and /api/web/chat/stream stream from the stream function's ASGI app under
  uvicorn, as the Lambda Web Adapter runs it (scripts/dev_stream.py);
- POST /api/chat/jobs queues on SQS, and the real worker handler answers from the queue, with a
  dead-letter queue behind it (scripts/dev_jobs.py);
- DynamoDB, SQS and Secrets Manager are moto, as a server all containers share (scripts/dev_aws.py).
The LLM is any OpenAI-compatible URL, or the fake one from scripts/fake_llm_server.py (offline).

    make dev [PORT=8000]                      # fake LLM, a printed dev API key
    python -m scripts.dev_server --port 8000 --llm-url http://127.0.0.1:11434/v1 --llm-model llama3.2
"""

# Imports stay light at the top: every Lambda container (a fresh interpreter) imports this module again.
from __future__ import annotations

import argparse
import base64
import errno
import json
import multiprocessing
import secrets
import signal
import sys
import tempfile
import urllib.parse
from concurrent.futures import BrokenExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from scripts import fake_sign_in as fake_cognito
from scripts.dev_gateway import GatewayAnswer
from scripts.dev_lambda import GATEWAY_TIMEOUT_SECONDS, InvocationFailed

if TYPE_CHECKING:
    from scripts.dev_stage import DevStage

CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}
# API Gateway refuses a payload over 10 MB before anything reads it.
API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024
STATIC_METHODS = ("GET", "HEAD")


def make_handler(stage: DevStage) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "chatbot-dev"

        def log_message(self, format: str, *args: Any) -> None:
            status = args[1] if len(args) > 1 else ""
            sys.stderr.write(f"{self.command} {self.path.split('?')[0]} -> {status}\n")

        def do_GET(self) -> None:
            self._dispatch()

        do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET  # noqa: N815 - http.server names

        def _dispatch(self) -> None:
            # A page on another site that resolves its own name to 127.0.0.1 (DNS rebinding) must not
            # reach this server: only loopback names are served.
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
            if host not in ("127.0.0.1", "localhost"):
                self._send(421, b"Misdirected request", {"Content-Type": "text/plain"})
                return
            path = self.path.split("?", 1)[0]
            if stage.fake_sign_in and path.startswith(fake_cognito.PREFIX):
                self._fake_sign_in(path.removeprefix(fake_cognito.PREFIX))
            elif path.startswith("/api/"):
                self._api()
            elif self.command in STATIC_METHODS:
                self._static(path)
            else:
                self._answer(
                    GatewayAnswer.json(405, "Method Not Allowed", {"Allow": ", ".join(STATIC_METHODS)})
                )

        def _api(self) -> None:
            body = self._body()
            if isinstance(body, GatewayAnswer):
                self.close_connection = True  # what is left of the body stays unread
                self._answer(body)
                return
            event = stage.gateway.admit(self.command, self.path, self.headers, body)
            if isinstance(event, GatewayAnswer):
                self._answer(event)
                return
            if event["resource"].endswith("/chat/stream"):
                self._stream(event, body)
                return
            invocation = stage.lambdas.invoke(stage.chat, event)
            try:
                response = invocation.result(timeout=GATEWAY_TIMEOUT_SECONDS)
            except FutureTimeout:
                self._answer(GatewayAnswer.json(504, "Endpoint request timed out"))
                return
            except (InvocationFailed, BrokenExecutor) as error:
                sys.stderr.write(f"chat: {error}\n")
                self._answer(GatewayAnswer.json(502, "Internal server error"))
                return
            headers = dict(response.get("headers") or {})
            headers.update({k: ",".join(v) for k, v in (response.get("multiValueHeaders") or {}).items()})
            raw = response.get("body") or ""
            payload = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
            self._send(int(response["statusCode"]), payload, headers)

        def _stream(self, event: dict[str, Any], body: bytes) -> None:
            """A STREAM integration: the stream function's body is passed on as it arrives (the
            connection's end ends it, as HTTP/1.0 has it)."""
            try:
                answer = stage.stream.invoke(event, body, dict(self.headers.items()))
            except OSError as error:
                sys.stderr.write(f"stream: {error}\n")
                self._answer(GatewayAnswer.json(502, "Internal server error"))
                return
            try:
                self.send_response(answer.status)
                for name, value in [*answer.headers, *stage.security_headers.items()]:
                    if name.lower() not in (
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "date",
                        "server",
                    ):
                        self.send_header(name, value)
                self.end_headers()
                for chunk in answer.chunks:
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except OSError:
                pass  # the browser went away: closing our side tells the stream function
            finally:
                answer.close()
                self.close_connection = True

        def _body(self) -> bytes | GatewayAnswer:
            """The request body, by Content-Length or chunked; what API Gateway answers when it cannot
            be read or is over its 10 MB."""
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                return self._chunked()
            declared = (self.headers.get("Content-Length") or "0").strip()
            if not (declared.isascii() and declared.isdigit()):
                return GatewayAnswer.json(400, "Content-Length must be a whole number of bytes")
            if int(declared) > API_GATEWAY_MAX_BODY_BYTES:
                return GatewayAnswer.json(413, "Request Too Long")
            return self.rfile.read(int(declared)) if int(declared) else b""

        def _chunked(self) -> bytes | GatewayAnswer:
            body = b""
            while True:
                size_line = self.rfile.readline(64).split(b";", 1)[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    return GatewayAnswer.json(400, "The chunked body is malformed")
                if size < 0 or len(body) + size > API_GATEWAY_MAX_BODY_BYTES:
                    return GatewayAnswer.json(413, "Request Too Long")
                if size == 0:
                    while self.rfile.readline(1024).strip():  # trailers, up to the blank line
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline(8)  # the chunk's CRLF

        def _static(self, path: str) -> None:
            if path == "/config.json":  # an API key locally, unless the fake sign-in stands in for Cognito
                origin = f"http://{self.headers.get('Host')}"
                sign_in = (
                    {
                        "domain": origin + fake_cognito.PREFIX,
                        "clientId": "dev-client",
                        "redirectUri": origin + "/",
                    }
                    if stage.fake_sign_in
                    else None
                )
                payload = json.dumps({"signIn": sign_in, "maxMessageChars": stage.max_message_chars}).encode()
                self._send(200, payload, {"Content-Type": "application/json", "Cache-Control": "no-cache"})
                return
            relative = "entry/index.html" if path in ("/", "/index.html") else path.lstrip("/")
            file = (stage.site / relative).resolve()
            if stage.site.resolve() not in file.parents or not file.is_file():
                self._send(404, b"Not found", {"Content-Type": "text/plain"})
                return
            cache = "no-cache" if relative.startswith("entry/") else "public, max-age=31536000, immutable"
            content_type = CONTENT_TYPES.get(file.suffix, "application/octet-stream")
            self._send(200, file.read_bytes(), {"Content-Type": content_type, "Cache-Control": cache})

        def _fake_sign_in(self, path: str) -> None:
            query = dict(urllib.parse.parse_qsl(self.path.split("?", 1)[1] if "?" in self.path else ""))
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode())) if length else {}
            self._send(*fake_cognito.answer(self.command, path, query, form))

        def _answer(self, answer: GatewayAnswer) -> None:
            self._send(answer.status, answer.body, dict(answer.headers))

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in {**headers, **stage.security_headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    return Handler


class DevHttpServer(ThreadingHTTPServer):
    daemon_threads = True  # a request waiting on a slow model never holds up the others, nor the exit


def bind(port: int) -> DevHttpServer:
    """The server's socket on 127.0.0.1:port, before anything else starts; exits with a clear message
    when the port is taken."""
    try:
        return DevHttpServer(("127.0.0.1", port), BaseHTTPRequestHandler)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        _exit(
            f"port {port} is already in use: stop what holds it, or choose another (make dev PORT={port + 1})"
        )


def _exit(message: str) -> NoReturn:
    print(f"dev server: {message}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--llm-url", help="an OpenAI-compatible base URL (default: the built-in fake LLM)")
    parser.add_argument("--llm-model", default="fake-model")
    parser.add_argument("--api-key", help="the key the page must send (default: random, printed)")
    parser.add_argument("--session-requests", type=int, default=50, help="per-session request cap per day")
    parser.add_argument("--daily-tokens", type=int, default=200_000)
    parser.add_argument(
        "--fake-sign-in",
        action="store_true",
        help="stand in for Cognito so the page's sign-in flow runs locally",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    server = bind(args.port)
    from scripts.dev_stage import start_stage  # CDK's config and moto: slow imports, after the port check

    api_key = args.api_key or secrets.token_urlsafe(18)
    stage, poller, llm_url = start_stage(
        api_key=api_key,
        llm_url=args.llm_url,
        llm_model=args.llm_model,
        session_requests=args.session_requests,
        daily_tokens=args.daily_tokens,
        fake_sign_in=args.fake_sign_in,
        site=Path(tempfile.mkdtemp(prefix="chat-site-")),
    )
    server.RequestHandlerClass = make_handler(stage)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"chat page: http://127.0.0.1:{server.server_address[1]}/  (LLM: {llm_url})", flush=True)
    print(f"API key for the page: {api_key}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        poller.stop()
        stage.stream.stop()
        server.server_close()
        stage.lambdas.shutdown()
        for container in multiprocessing.active_children():
            container.terminate()


if __name__ == "__main__":
    main()
