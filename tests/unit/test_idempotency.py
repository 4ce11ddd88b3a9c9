"""Idempotency-Key: a replayed POST /chat returns the first answer without another LLM call."""

from __future__ import annotations

import json

from tests.unit.conftest import DEFAULT_CLIENT, ChatEnv, HttpAnswer, invoke, rest_event

BODY = {"sessionId": "session-0001", "message": "What is 2 + 2?"}


def _post(key: str, body: dict | None = None, api_key_id: str = DEFAULT_CLIENT) -> HttpAnswer:
    event = rest_event(
        "POST", "/chat", body=body or BODY, headers={"Idempotency-Key": key}, api_key_id=api_key_id
    )
    return invoke(event)


def test_replays_make_one_llm_call_and_get_the_same_body(chat_env: ChatEnv) -> None:
    answers = [_post("key-123") for _ in range(4)]

    assert len(chat_env.fake_llm.requests) == 1
    assert {a.status for a in answers} == {200}
    assert len({json.dumps(a.body, sort_keys=True) for a in answers}) == 1
    assert [i["role"] for i in chat_env.items()] == ["user", "assistant"]


def test_a_key_reused_for_another_question_is_refused(chat_env: ChatEnv) -> None:
    _post("key-123")
    answer = _post("key-123", {"sessionId": "session-0001", "message": "Something else"})
    assert answer.status == 422
    assert len(chat_env.fake_llm.requests) == 1


def test_keys_belong_to_their_client(chat_env: ChatEnv) -> None:
    _post("key-123")
    _post("key-123", api_key_id="another-client")
    assert len(chat_env.fake_llm.requests) == 2


def test_a_failed_turn_can_be_retried_with_the_same_key(chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(mode="status", status=503)
    assert _post("key-123").status == 503
    chat_env.fake_llm.answer(reply="4")

    answer = _post("key-123")

    assert answer.status == 200
    assert answer.body["reply"] == "4"


def test_a_malformed_key_is_a_400(chat_env: ChatEnv) -> None:
    answer = _post("spaces are not allowed")
    assert answer.status == 400
    assert "Idempotency-Key" in answer.body["message"]
    assert chat_env.fake_llm.requests == []


def _raw(event: dict) -> tuple[int, str, dict]:
    from lambda_src.handlers import chat as handler
    from tests.unit.conftest import LambdaContext

    response = handler.handler(event, LambdaContext())
    headers = {**(response.get("headers") or {}), **(response.get("multiValueHeaders") or {})}
    return response["statusCode"], response["body"], headers


def test_a_replay_is_byte_identical_to_the_first_answer(chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(reply="Ünïcode «quotes», emoji 👨‍👩‍👧 and 4.0 as a number")
    event = rest_event("POST", "/chat", body=BODY, headers={"Idempotency-Key": "key-bytes"})
    first = _raw(event)
    replay = _raw(event)
    assert first[0] == replay[0] == 200
    assert replay[1] == first[1]
    assert {k: v for k, v in replay[2].items() if k.startswith("X-Quota")} == {
        k: v for k, v in first[2].items() if k.startswith("X-Quota")
    }
