"""GET /conversations: the caller's sessions, newest first, paginated; with GET /conversations/{id}
a caller can export everything held about it."""

from __future__ import annotations

import base64
import json
import time

from tests.unit.conftest import DEFAULT_CLIENT, ChatEnv, HttpAnswer, chat, invoke, rest_event


def _list(query: dict[str, str] | None = None, api_key_id: str = DEFAULT_CLIENT) -> HttpAnswer:
    event = rest_event("GET", "/conversations", api_key_id=api_key_id)
    event["queryStringParameters"] = query
    return invoke(event)


def test_the_callers_sessions_newest_first(chat_env: ChatEnv) -> None:
    for n in range(3):
        assert chat(f"session-000{n}", "hello").status == 200
        time.sleep(0.01)
    invoke(
        rest_event("POST", "/chat", body={"sessionId": "someone-else", "message": "x"}, api_key_id="other")
    )

    answer = _list()

    assert answer.status == 200
    assert [s["sessionId"] for s in answer.body["sessions"]] == [
        "session-0002",
        "session-0001",
        "session-0000",
    ]
    assert all(s["lastActiveAtMs"] >= s["createdAtMs"] for s in answer.body["sessions"])
    assert answer.body["nextCursor"] is None


def test_pages_follow_the_cursor_to_the_end(chat_env: ChatEnv) -> None:
    for n in range(5):
        chat(f"session-000{n}", "hello")
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        answer = _list({"limit": "2", **({"cursor": cursor} if cursor else {})})
        assert answer.status == 200
        assert len(answer.body["sessions"]) <= 2
        seen += [s["sessionId"] for s in answer.body["sessions"]]
        cursor = answer.body["nextCursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"session-000{n}" for n in range(5)]


def test_an_erased_session_is_no_longer_listed(chat_env: ChatEnv) -> None:
    chat("session-0001", "hello")
    chat("session-0002", "hello")
    event = rest_event("DELETE", "/conversations/session-0001")
    event["resource"] = "/conversations/{sessionId}"
    event["pathParameters"] = {"sessionId": "session-0001"}
    assert invoke(event).status == 204
    assert [s["sessionId"] for s in _list().body["sessions"]] == ["session-0002"]


def test_bad_paging_parameters_are_a_400(chat_env: ChatEnv) -> None:
    assert _list({"limit": "0"}).status == 400
    assert _list({"limit": "1000"}).status == 400
    assert _list({"cursor": "not-a-cursor"}).status == 400


def _cursor(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def test_odd_paging_values_are_a_400_never_a_500(chat_env: ChatEnv) -> None:
    for limit in ("²", "\u0661\u0660", "+5", " 5", "5.0", "-1", "9" * 40):
        assert _list({"limit": limit}).status == 400, limit
    partition = f"CONV#{DEFAULT_CLIENT}#session-0001"
    good = {
        "pk": partition,
        "sk": "STATE",
        "sessionOwner": DEFAULT_CLIENT,
        "lastActiveAtMs": 1_800_000_000_000,
    }
    assert _list({"cursor": _cursor(good)}).status == 200
    for active in (10**40, -1, True, 1.5, "1800000000000"):
        assert _list({"cursor": _cursor({**good, "lastActiveAtMs": active})}).status == 400, active
    for odd in ([good], "text", None, {**good, "extra": 1}):
        assert _list({"cursor": _cursor(odd)}).status == 400, odd
