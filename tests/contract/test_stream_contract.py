"""POST /chat/stream: refusals before the first byte are POST /chat's JSON; a reply is start, deltas, and
exactly one done."""

from __future__ import annotations

import uuid

from tests.contract.target import Target


def test_a_streamed_turn_is_start_then_deltas_then_one_done(target: Target, session: str) -> None:
    answer = target.stream(session, "Contract test: stream three words.")
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert "no-cache" in answer.headers["cache-control"]
    assert answer.headers["x-quota-tokens-remaining"].isdigit()
    events = answer.all_events()
    names = [e.name for e in events]
    assert names[0] == "start", names
    assert names[-1] == "done", names
    assert set(names[1:-1]) == {"delta"}
    assert events[0].data["sessionId"] == session
    assert events[-1].data["usage"]["totalTokens"] >= 0
    reply = "".join(e.data["text"] for e in events if e.name == "delta")
    assert reply.strip()
    stored = target.call("GET", f"/conversations/{session}").body["messages"]
    assert stored[-1] == {**stored[-1], "role": "assistant", "content": reply}


def test_a_refusal_before_the_first_byte_is_json(target: Target, session: str) -> None:
    too_long = target.stream(session, "x" * (target.config.max_message_chars + 1))
    assert too_long.status == 400
    assert too_long.headers["content-type"].startswith("application/json")
    assert too_long.json()["message"]
    no_key = target.stream(session, "hello", headers={"x-api-key": uuid.uuid4().hex * 2})
    assert no_key.status == 403
    no_key.close()


def test_a_streamed_replay_with_the_same_idempotency_key_is_the_stored_reply(
    target: Target, session: str
) -> None:
    key = {"Idempotency-Key": f"integ-{uuid.uuid4().hex}"}
    first = target.stream(session, "Contract test: replay me.", headers=key).all_events()
    again = target.stream(session, "Contract test: replay me.", headers=key).all_events()
    assert [e.name for e in again] == ["start", "delta", "done"]
    assert again[0].data["replayed"] is True
    assert again[1].data["text"] == "".join(e.data["text"] for e in first if e.name == "delta")
