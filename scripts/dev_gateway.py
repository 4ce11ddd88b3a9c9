"""What CloudFront, the edge web ACL and API Gateway do to an /api/* request before the chat Lambda sees
it, for `make dev`: the same routes (tests/infra keeps them alike with the deployed API), API keys on
key routes, a Cognito token on /web/* routes, the edge's body limit, and a REST proxy event.

Answers the stage would give without calling the Lambda come back as a ``GatewayAnswer``.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any

API_PREFIX = "/api"
DEV_CLIENT_ID = "dev-client"
# (resource, methods, who may call it): the methods of stacks/constructs/chat_api.py, OPTIONS aside.
KEY, USER, ANYONE = "api key", "cognito user", "anyone"
ROUTES: tuple[tuple[str, frozenset[str], str], ...] = (
    ("/chat", frozenset({"POST"}), KEY),
    ("/chat/stream", frozenset({"POST"}), KEY),
    ("/chat/jobs", frozenset({"POST"}), KEY),
    ("/chat/jobs/{jobId}", frozenset({"GET"}), KEY),
    ("/conversations", frozenset({"GET"}), KEY),
    ("/conversations/{sessionId}", frozenset({"GET", "DELETE"}), KEY),
    ("/conversations/{sessionId}/messages/{messageId}/feedback", frozenset({"POST"}), KEY),
    ("/health", frozenset({"GET"}), ANYONE),
    ("/health/deep", frozenset({"GET"}), KEY),
    ("/web/chat", frozenset({"POST"}), USER),
    ("/web/chat/stream", frozenset({"POST"}), USER),
    ("/web/conversations", frozenset({"GET"}), USER),
    ("/web/conversations/{sessionId}", frozenset({"GET", "DELETE"}), USER),
    ("/web/conversations/{sessionId}/messages/{messageId}/feedback", frozenset({"POST"}), USER),
)
# The edge web ACL's ChatBodyTooLarge rule: these path prefixes, bodies over the stage's limit.
BODY_LIMITED_PREFIXES = ("/chat", "/web/chat")
_JSON = {"Content-Type": "application/json"}
NO_ROUTE_MESSAGE = "No such route: check the method and the path"


@dataclass(frozen=True)
class GatewayAnswer:
    status: int
    body: bytes
    headers: Mapping[str, str]

    @classmethod
    def json(cls, status: int, message: str, headers: Mapping[str, str] | None = None) -> GatewayAnswer:
        return cls(status, json.dumps({"message": message}).encode(), {**_JSON, **(headers or {})})


def _pattern(resource: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(resource)) + "$")


_COMPILED = [(resource, _pattern(resource), methods, caller) for resource, methods, caller in ROUTES]


def match(path: str) -> tuple[str, dict[str, str], frozenset[str], str] | None:
    """(resource, path parameters, methods, who may call) of the route that ``path`` is on."""
    for resource, pattern, methods, caller in _COMPILED:
        found = pattern.match(path)
        if found:
            parameters = {name: urllib.parse.unquote(value) for name, value in found.groupdict().items()}
            return resource, parameters, methods, caller
    return None


@dataclass(frozen=True)
class Gateway:
    api_key: str
    max_body_bytes: int
    # A bearer token's claims if it is valid (the Cognito authorizer's part), else {}.
    claims_of: Callable[[str], dict[str, Any]]

    def admit(
        self, method: str, target: str, headers: Message, body: bytes
    ) -> dict[str, Any] | GatewayAnswer:
        """The Lambda's event for an /api/* request, or the answer the stage gives without it.
        ``headers`` as http.server hands them over: names are looked up case-insensitively."""
        raw_path, _, query = target.partition("?")
        path = raw_path.removeprefix(API_PREFIX)
        if path.startswith(BODY_LIMITED_PREFIXES) and len(body) > self.max_body_bytes:
            return GatewayAnswer.json(413, "The request body is too large.")
        route = match(path)
        if route is None or method not in route[2]:
            # API Gateway knows no such method on the path (its MISSING_AUTHENTICATION_TOKEN answer).
            return GatewayAnswer.json(404, NO_ROUTE_MESSAGE)
        resource, parameters, _, caller = route
        event = rest_event(method, path, resource, parameters, headers, body, query)
        if caller == KEY:
            if headers.get("x-api-key") != self.api_key:
                return GatewayAnswer.json(403, "Forbidden")
        elif caller == USER:
            claims = self.claims_of(headers.get("Authorization") or "")
            if "sub" not in claims:
                return GatewayAnswer.json(401, "Unauthorized")
            event["requestContext"]["identity"]["apiKeyId"] = None
            event["requestContext"]["authorizer"] = {"claims": claims}
        return event


def rest_event(
    method: str,
    path: str,
    resource: str,
    parameters: dict[str, str],
    headers: Message,
    body: bytes,
    query: str,
) -> dict[str, Any]:
    """An API Gateway REST proxy event, as the /api stage delivers it."""
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for name, value in pairs:
        multi_query.setdefault(name, []).append(value)
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers.items():
        multi_headers.setdefault(name, []).append(value)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": parameters or None,
        "stageVariables": None,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "api",
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"{API_PREFIX}{path}",
            "identity": {"apiKeyId": DEV_CLIENT_ID, "sourceIp": "127.0.0.1"},
        },
        "body": body.decode("utf-8", "replace") if body else None,
        "isBase64Encoded": False,
    }
