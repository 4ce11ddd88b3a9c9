"""POST /chat and the gateway's own answers, as the README's API table promises them."""

from __future__ import annotations

import uuid

from tests.contract.target import Target

QUOTA_HEADERS = ("x-quota-tokens-remaining", "x-quota-session-requests-remaining")


def test_health_names_the_release_and_the_stage(target: Target) -> None:
    answer = target.call("GET", "/health", signed=False)
    assert answer.status == 200
    assert answer.body["status"] == "ok"
    assert isinstance(answer.body["version"], str)
    assert answer.body["version"]
    assert answer.body["stage"] == target.stage or (target.stage is None and answer.body["stage"])


def test_the_deep_health_probe_needs_a_key_and_names_each_part(target: Target) -> None:
    assert target.call("GET", "/health/deep", signed=False).status == 403

    answer = target.call("GET", "/health/deep")

    assert answer.status == 200, answer.body
    assert answer.body["status"] == "ok"
    assert answer.body["table"] == "ok"
    assert "ok" in answer.body["providers"].values()
    assert answer.body["turns"] in ("admitted", "paused")


def test_a_turn_answers_the_reply_its_usage_and_the_quota_left(target: Target, session: str) -> None:
    answer = target.chat(session, "Contract test: reply with one short sentence.")
    assert answer.status == 200, answer.body
    assert answer.body["sessionId"] == session
    assert isinstance(answer.body["reply"], str)
    assert answer.body["reply"].strip()
    usage = answer.body["usage"]
    assert {"inputTokens", "outputTokens", "totalTokens"} <= set(usage)
    assert all(isinstance(usage[k], int) and usage[k] >= 0 for k in usage)
    for name in QUOTA_HEADERS:
        assert answer.headers[name].isdigit(), name


def test_no_key_or_an_unknown_key_is_403_with_a_message(target: Target) -> None:
    body = {"sessionId": "integ-no-key-session", "message": "hello"}
    missing = target.call("POST", "/chat", body, signed=False)
    unknown = target.call("POST", "/chat", body, signed=False, headers={"x-api-key": uuid.uuid4().hex * 2})
    for answer in (missing, unknown):
        assert answer.status == 403
        answer.message()


def test_a_bad_body_is_400_with_a_message_that_does_not_echo_it(target: Target, session: str) -> None:
    canary = "contract-canary-" + uuid.uuid4().hex
    bodies = {
        "not JSON": b"{" + canary.encode(),
        "no message": f'{{"sessionId": "{session}"}}'.encode(),
        "a bad session id": f'{{"sessionId": "a b", "message": "{canary}"}}'.encode(),
        "an unknown field": f'{{"sessionId": "{session}", "message": "hi", "{canary}": 1}}'.encode(),
        "an empty message": f'{{"sessionId": "{session}", "message": ""}}'.encode(),
    }
    for case, raw in bodies.items():
        answer = target.call("POST", "/chat", raw=raw)
        assert answer.status == 400, (case, answer.status)
        assert canary not in answer.message(), case


def test_a_message_over_the_limit_is_400_and_a_body_over_the_edge_limit_is_413(
    target: Target, session: str
) -> None:
    too_long = target.chat(session, "x" * (target.config.max_message_chars + 1))
    assert too_long.status == 400
    too_long.message()
    over_the_edge = target.config.edge.max_chat_body_bytes + 1
    too_big = target.call("POST", "/chat", {"sessionId": session, "message": "y" * over_the_edge})
    assert too_big.status == 413
    too_big.message()


def test_an_unknown_route_is_a_json_404(target: Target) -> None:
    answer = target.call("GET", "/no-such-route")
    assert answer.status == 404
    assert "route" in answer.message().lower()


def test_an_idempotency_key_replays_the_first_answer_and_refuses_another_body(
    target: Target, session: str
) -> None:
    key = {"Idempotency-Key": f"integ-{uuid.uuid4().hex}"}
    first = target.chat(session, "Contract test: the idempotent question.", headers=key)
    again = target.chat(session, "Contract test: the idempotent question.", headers=key)
    assert first.status == again.status == 200, (first.body, again.body)
    assert again.body == first.body
    other = target.chat(session, "Contract test: another question.", headers=key)
    assert other.status == 422
    other.message()
    bad_key = target.chat(session, "hello", headers={"Idempotency-Key": "not a valid key!"})
    assert bad_key.status == 400
