"""The dev server's gateway: what CloudFront, the edge web ACL and API Gateway would answer, and the
event the chat Lambda gets otherwise."""

from __future__ import annotations

from email.message import Message
from typing import Any

from scripts.dev_gateway import DEV_CLIENT_ID, NO_ROUTE_MESSAGE, Gateway, GatewayAnswer

KEY = "the-key"
LIMIT = 1024


def _headers(**values: str) -> Message:
    """Headers as http.server hands them over: names looked up case-insensitively."""
    headers = Message()
    for name, value in values.items():
        headers[name.replace("_", "-")] = value
    return headers


def _claims(token: str) -> dict[str, Any]:
    return {"sub": "person-1"} if token == "Bearer good" else {}


GATEWAY = Gateway(api_key=KEY, max_body_bytes=LIMIT, claims_of=_claims)


def test_a_keyed_route_becomes_a_rest_event_with_path_and_query_parameters() -> None:
    event = GATEWAY.admit(
        "GET", "/api/conversations/session%2D0001?limit=5&limit=7&cursor=", _headers(X_API_KEY=KEY), b""
    )
    assert isinstance(event, dict)
    assert event["resource"] == "/conversations/{sessionId}"
    assert event["path"] == "/conversations/session%2D0001"
    assert event["pathParameters"] == {"sessionId": "session-0001"}
    assert event["queryStringParameters"] == {"limit": "7", "cursor": ""}
    assert event["multiValueQueryStringParameters"] == {"limit": ["5", "7"], "cursor": [""]}
    assert event["requestContext"]["identity"]["apiKeyId"] == DEV_CLIENT_ID
    assert event["headers"]["X-API-KEY"] == KEY  # names as the client sent them, as API Gateway passes them


def test_no_or_a_wrong_key_is_refused_before_the_lambda() -> None:
    for headers in (_headers(), _headers(x_api_key="other")):
        answer = GATEWAY.admit("POST", "/api/chat", headers, b"{}")
        assert answer == GatewayAnswer.json(403, "Forbidden")


def test_health_needs_no_key() -> None:
    assert isinstance(GATEWAY.admit("GET", "/api/health", _headers(), b""), dict)


def test_a_web_route_needs_a_signed_in_user_and_carries_their_claims() -> None:
    refused = GATEWAY.admit("GET", "/api/web/conversations", _headers(x_api_key=KEY), b"")
    assert isinstance(refused, GatewayAnswer)
    assert refused.status == 401
    event = GATEWAY.admit("GET", "/api/web/conversations", _headers(Authorization="Bearer good"), b"")
    assert isinstance(event, dict)
    assert event["requestContext"]["authorizer"] == {"claims": {"sub": "person-1"}}
    assert event["requestContext"]["identity"]["apiKeyId"] is None


def test_unknown_paths_and_methods_get_the_deployed_404() -> None:
    for method, target in (("GET", "/api/chat"), ("PATCH", "/api/conversations"), ("GET", "/api/admin")):
        answer = GATEWAY.admit(method, target, _headers(x_api_key=KEY), b"")
        assert answer == GatewayAnswer.json(404, NO_ROUTE_MESSAGE), (method, target)


def test_the_edge_body_limit_applies_to_the_chat_paths_only() -> None:
    big = b"x" * (LIMIT + 1)
    for target in ("/api/chat", "/api/chat/jobs", "/api/web/chat"):
        answer = GATEWAY.admit("POST", target, _headers(x_api_key=KEY), big)
        assert isinstance(answer, GatewayAnswer)
        assert answer.status == 413, target
    assert isinstance(GATEWAY.admit("POST", "/api/chat", _headers(x_api_key=KEY), b"x" * LIMIT), dict)
    assert isinstance(
        GATEWAY.admit("DELETE", "/api/conversations/session-0001", _headers(x_api_key=KEY), big), dict
    )
