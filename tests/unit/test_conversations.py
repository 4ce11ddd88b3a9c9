"""GET and DELETE /conversations/{sessionId}: the owner's transcript, and its erasure."""

from __future__ import annotations

from tests.unit.conftest import DEFAULT_CLIENT, ChatEnv, HttpAnswer, chat, invoke, rest_event

SESSION = "session-0001"


def _conversation(method: str, session_id: str = SESSION, api_key_id: str = DEFAULT_CLIENT) -> HttpAnswer:
    event = rest_event(method, f"/conversations/{session_id}", api_key_id=api_key_id)
    event["resource"] = "/conversations/{sessionId}"
    event["pathParameters"] = {"sessionId": session_id}
    return invoke(event)


def test_the_owner_gets_the_transcript_in_order(chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(reply="first answer")
    chat(SESSION, "first question")
    chat_env.fake_llm.answer(reply="second answer")
    chat(SESSION, "second question")

    answer = _conversation("GET")

    assert answer.status == 200
    assert [(m["role"], m["content"]) for m in answer.body["messages"]] == [
        ("user", "first question"),
        ("assistant", "first answer"),
        ("user", "second question"),
        ("assistant", "second answer"),
    ]
    assert answer.body["truncated"] is False


def test_another_client_sees_nothing_of_it(chat_env: ChatEnv) -> None:
    chat(SESSION, "private")
    answer = _conversation("GET", api_key_id="another-client")
    assert answer.status == 200
    assert answer.body["messages"] == []


def test_delete_erases_the_session(chat_env: ChatEnv) -> None:
    chat(SESSION, "forget me")
    chat("session-0002", "keep me")

    assert _conversation("DELETE").status == 204

    assert _conversation("GET").body["messages"] == []
    assert [i["content"] for i in chat_env.items()] == ["keep me", "You said 7 characters."]


def test_another_client_cannot_erase_it(chat_env: ChatEnv) -> None:
    chat(SESSION, "mine")
    assert _conversation("DELETE", api_key_id="another-client").status == 204
    assert len(_conversation("GET").body["messages"]) == 2


def test_a_malformed_session_id_is_a_400(chat_env: ChatEnv) -> None:
    assert _conversation("GET", session_id="bad").status == 400
