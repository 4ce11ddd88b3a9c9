"""The transcript, the session list and erasure: what a client reads back and deletes."""

from __future__ import annotations

import time

from tests.contract.target import Target


def test_the_transcript_holds_the_turn_oldest_first(target: Target, session: str) -> None:
    message = "Contract test: remember the word heron."
    assert target.chat(session, message).status == 200
    transcript = target.call("GET", f"/conversations/{session}")
    assert transcript.status == 200
    assert transcript.body["sessionId"] == session
    messages = transcript.body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"] == message
    assert messages[0]["createdAtMs"] <= messages[1]["createdAtMs"]
    assert transcript.body["truncated"] is False


def test_the_session_appears_in_the_callers_list(target: Target, session: str) -> None:
    assert target.chat(session, "Contract test: list me.").status == 200
    deadline = time.monotonic() + 15  # the list reads an index: a new session may take a moment
    while True:
        listed = target.call("GET", "/conversations?limit=100")
        assert listed.status == 200
        assert "nextCursor" in listed.body
        if session in {s["sessionId"] for s in listed.body["sessions"]} or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert session in {s["sessionId"] for s in listed.body["sessions"]}


def test_a_bad_list_limit_is_400(target: Target) -> None:
    assert target.call("GET", "/conversations?limit=0").status == 400


def test_erasure_leaves_nothing_to_read_and_the_id_can_be_used_again(target: Target, session: str) -> None:
    assert target.chat(session, "Contract test: erase me.").status == 200
    assert target.call("DELETE", f"/conversations/{session}").status == 204
    after = target.call("GET", f"/conversations/{session}")
    assert after.status in {200, 404}
    if after.status == 200:
        assert after.body["messages"] == []
    again = target.chat(session, "Contract test: a new conversation.")
    assert again.status == 200
    assert [m["role"] for m in target.call("GET", f"/conversations/{session}").body["messages"]] == [
        "user",
        "assistant",
    ]  # the fixture erases this second conversation
