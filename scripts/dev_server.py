"""Local development: the chat page and the real chat handler on http://127.0.0.1:<port>.

AWS (DynamoDB, Secrets Manager) is emulated in-process by moto; the LLM is any OpenAI-compatible URL,
or the fake one from scripts/fake_llm_server.py when none is given (offline). /api/* is handled like
CloudFront + API Gateway would: the x-api-key header is checked, the path loses its /api prefix, and
the handler receives a REST proxy event. Pages get the same security headers as in CloudFront.

    make dev                                   # fake LLM, a printed dev API key
    python -m scripts.dev_server --llm-url http://127.0.0.1:11434/v1 --llm-model llama3.2 --api-key dev
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
import tempfile
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from scripts import fake_sign_in as fake_cognito
from stacks.page_build import build_site

CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}
DEV_CLIENT_ID = "dev-client"
_CONVERSATION = re.compile(r"^/conversations/([^/]+)$")


def security_headers() -> dict[str, str]:
    from stacks.constructs.response_headers import (
        CONTENT_SECURITY_POLICY,  # the policy CloudFront sends, verbatim
    )

    return {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }


class LocalContext:
    function_name = "chat-dev"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:chat-dev"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 26_000


def start_backend(*, llm_url: str | None, llm_model: str, session_requests: int, daily_tokens: int) -> str:
    """Start moto and the fake LLM as needed, point the handler's environment at them; returns the LLM URL."""
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "dev",
            "AWS_SECRET_ACCESS_KEY": "dev",
            "POWERTOOLS_SERVICE_NAME": "chatbot",
            "POWERTOOLS_METRICS_NAMESPACE": "Chatbot",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    import boto3
    from moto import mock_aws

    mock_aws().start()
    from scripts.local_aws import create_conversation_table

    table = create_conversation_table(boto3.resource("dynamodb"), "chatbot-dev")
    llm_key = os.environ.get("DEV_LLM_API_KEY", "dev-llm-key")
    secret = boto3.client("secretsmanager").create_secret(Name="dev-llm-key", SecretString=llm_key)
    if llm_url is None:
        from scripts.fake_llm_server import FakeLlm

        llm_url = FakeLlm().start().base_url
    os.environ.update(
        {
            "STAGE": "local",
            "TABLE_NAME": table.name,
            "LLM_SECRET_ARN": secret["ARN"],
            "LLM_PROVIDERS": json.dumps(
                [
                    {
                        "name": "local",
                        "kind": "openai",
                        "model": llm_model,
                        "base_url": llm_url,
                        "timeout_seconds": 15,
                    }
                ]
            ),
            "LLM_MAX_OUTPUT_TOKENS": "512",
            "LLM_TIMEOUT_SECONDS": "20",
            "LLM_SYSTEM_PROMPT": "You are a helpful assistant. Answer concisely.",
            "QUOTA_TIERS": json.dumps(
                [{"name": "dev", "daily_tokens": daily_tokens, "session_requests": session_requests}]
            ),
            "DEFAULT_TIER": "dev",
            "HISTORY_TURNS": "10",
            "TRANSCRIPT_RETENTION_DAYS": "1",
        }
    )
    return llm_url


def rest_event(method: str, path: str, headers: dict[str, str], body: str | None) -> dict[str, Any]:
    resource, path_parameters = path, None
    match = _CONVERSATION.match(path)
    if match:
        resource, path_parameters = "/conversations/{sessionId}", {"sessionId": match.group(1)}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "pathParameters": path_parameters,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "api",
            "resourcePath": resource,
            "httpMethod": method,
            "identity": {"apiKeyId": DEV_CLIENT_ID, "sourceIp": "127.0.0.1"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def make_handler(site: Path, api_key: str, *, fake_sign_in: bool = False) -> type[BaseHTTPRequestHandler]:
    from lambda_src.handlers import chat

    class Handler(BaseHTTPRequestHandler):
        server_version = "chatbot-dev"

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(
                f"{self.command} {self.path.split('?')[0]} -> {args[1] if len(args) > 1 else ''}\n"
            )

        def do_GET(self) -> None:
            self._dispatch()

        def do_POST(self) -> None:
            self._dispatch()

        def do_DELETE(self) -> None:
            self._dispatch()

        def _dispatch(self) -> None:
            # A page on another site that resolves its own name to 127.0.0.1 (DNS rebinding) must not
            # reach this server: only loopback names are served.
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
            if host not in ("127.0.0.1", "localhost"):
                self._send(421, b"Misdirected request", {"Content-Type": "text/plain"})
                return
            path = self.path.split("?", 1)[0]
            if fake_sign_in and path.startswith(fake_cognito.PREFIX):
                self._fake_sign_in(path.removeprefix(fake_cognito.PREFIX))
            elif path.startswith("/api/"):
                self._api(path.removeprefix("/api"))
            elif self.command == "GET":
                self._static(path)
            else:
                self._send(405, b'{"message": "Method Not Allowed"}', {"Content-Type": "application/json"})

        def _api(self, path: str) -> None:
            headers = {name: value for name, value in self.headers.items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else None
            event = rest_event(self.command, path, headers, body)
            if path.startswith("/web/"):
                # The Cognito authorizer's part: a valid token's claims reach the handler, others get 401.
                claims = fake_cognito.claims(headers.get("Authorization", "")) if fake_sign_in else {}
                if "sub" not in claims:
                    self._send(401, b'{"message": "Unauthorized"}', {"Content-Type": "application/json"})
                    return
                event["requestContext"]["identity"]["apiKeyId"] = None
                event["requestContext"]["authorizer"] = {"claims": claims}
            elif path != "/health" and headers.get("x-api-key", headers.get("X-Api-Key")) != api_key:
                # API Gateway refuses a missing or unknown key before the Lambda sees the request.
                self._send(403, b'{"message": "Forbidden"}', {"Content-Type": "application/json"})
                return
            response = chat.handler(event, LocalContext())
            out = dict(response.get("headers") or {})
            out.update({k: ",".join(v) for k, v in (response.get("multiValueHeaders") or {}).items()})
            self._send(response["statusCode"], (response.get("body") or "").encode(), out)

        def _static(self, path: str) -> None:
            if path == "/config.json":  # an API key locally, unless the fake sign-in stands in for Cognito
                origin = f"http://{self.headers.get('Host')}"
                sign_in = (
                    {
                        "domain": origin + fake_cognito.PREFIX,
                        "clientId": "dev-client",
                        "redirectUri": origin + "/",
                    }
                    if fake_sign_in
                    else None
                )
                payload = json.dumps({"signIn": sign_in}).encode()
                self._send(200, payload, {"Content-Type": "application/json", "Cache-Control": "no-cache"})
                return
            relative = "entry/index.html" if path in ("/", "/index.html") else path.lstrip("/")
            file = (site / relative).resolve()
            if site.resolve() not in file.parents or not file.is_file():
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

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in {**headers, **security_headers()}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def main(argv: list[str] | None = None) -> None:
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
    args = parser.parse_args(argv)

    api_key = args.api_key or secrets.token_urlsafe(18)
    llm_url = start_backend(
        llm_url=args.llm_url,
        llm_model=args.llm_model,
        session_requests=args.session_requests,
        daily_tokens=args.daily_tokens,
    )
    site = Path(tempfile.mkdtemp(prefix="chat-site-"))
    build_site(out=site)
    server = HTTPServer(("127.0.0.1", args.port), make_handler(site, api_key, fake_sign_in=args.fake_sign_in))
    print(f"chat page: http://127.0.0.1:{server.server_address[1]}/  (LLM: {llm_url})", flush=True)
    print(f"API key for the page: {api_key}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.server_close()


if __name__ == "__main__":
    main()
