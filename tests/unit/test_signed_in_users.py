"""/web/* routes: people signed in to the chat page own their sessions by Cognito subject."""

from __future__ import annotations

from typing import Any

from tests.unit.conftest import ChatEnv, HttpAnswer, invoke, rest_event

BODY = {"sessionId": "session-0001", "message": "hello"}


def _web(method: str, path: str, *, sub: str | None, body: Any = None) -> HttpAnswer:
    event = rest_event(method, path, body=body, api_key_id=None)
    if sub is not None:
        event["requestContext"]["authorizer"] = {"claims": {"sub": sub, "email": "person@example.com"}}
    if path.startswith("/web/conversations/"):
        event["resource"] = "/web/conversations/{sessionId}"
        event["pathParameters"] = {"sessionId": path.rsplit("/", 1)[1]}
    return invoke(event)


def test_a_signed_in_user_chats_and_owns_the_session(chat_env: ChatEnv) -> None:
    assert _web("POST", "/web/chat", sub="user-a", body=BODY).status == 200
    assert chat_env.items()[0]["pk"] == "CONV#user-user-a#session-0001"

    mine = _web("GET", "/web/conversations/session-0001", sub="user-a")
    theirs = _web("GET", "/web/conversations/session-0001", sub="user-b")
    assert len(mine.body["messages"]) == 2
    assert theirs.body["messages"] == []


def test_web_routes_need_a_user_even_with_an_api_key(chat_env: ChatEnv) -> None:
    event = rest_event("POST", "/web/chat", body=BODY)  # carries an apiKeyId, but no Cognito claims
    assert invoke(event).status == 403
    assert chat_env.fake_llm.requests == []


def test_a_user_cannot_reach_sessions_of_an_api_key_client(chat_env: ChatEnv) -> None:
    invoke(rest_event("POST", "/chat", body=BODY))
    answer = _web("GET", "/web/conversations/session-0001", sub="apikeyid-client-a")
    assert answer.body["messages"] == []
