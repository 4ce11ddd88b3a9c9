"""Invalid bodies answer 400 naming the problem, store nothing and never reach the LLM."""

from __future__ import annotations

import json

import pytest

from tests.unit.conftest import ChatEnv, invoke, rest_event

VALID_SESSION = "session-0001"


@pytest.mark.parametrize(
    ("raw_body", "expected"),
    [
        (None, "JSON object"),
        ("", "JSON object"),
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ("null", "JSON object"),
        (json.dumps({"sessionId": VALID_SESSION}), "message: Field required"),
        (json.dumps({"message": "hi"}), "sessionId: Field required"),
        (json.dumps({"sessionId": VALID_SESSION, "message": ""}), "message: String should have at least 1"),
        (
            json.dumps({"sessionId": VALID_SESSION, "message": "   \n\t "}),
            "message: must contain visible text",
        ),
        (json.dumps({"sessionId": VALID_SESSION, "message": "x" * 1001}), "message: must be at most 1000"),
        (json.dumps({"sessionId": VALID_SESSION, "message": 42}), "message: Input should be a valid string"),
        (json.dumps({"sessionId": "short", "message": "hi"}), "sessionId: String should match pattern"),
        (json.dumps({"sessionId": "../../etc/passwd", "message": "hi"}), "sessionId: String should match"),
        (
            json.dumps({"sessionId": VALID_SESSION, "message": "hi", "role": "system"}),
            "only sessionId and message are allowed",
        ),
    ],
)
def test_invalid_body_answers_400_naming_the_problem(
    chat_env: ChatEnv, raw_body: str | None, expected: str
) -> None:
    answer = invoke(rest_event("POST", "/chat", raw_body=raw_body))

    assert answer.status == 400
    assert expected in answer.body["message"]
    assert answer.body["requestId"]
    assert chat_env.fake_llm.requests == []
    assert chat_env.items() == []


def test_a_400_never_echoes_what_was_sent(chat_env: ChatEnv) -> None:
    secret_looking = "x" * 990 + "CANARY-TEXT"
    answer = invoke(
        rest_event("POST", "/chat", body={"sessionId": "bad id!", "message": secret_looking + "y" * 20})
    )
    assert answer.status == 400
    assert "CANARY-TEXT" not in json.dumps(answer.body)


def test_an_unknown_field_is_refused_without_repeating_its_name(chat_env: ChatEnv) -> None:
    body = {"sessionId": VALID_SESSION, "message": "hi", "my ssn is 123-45-6789": 1}
    answer = invoke(rest_event("POST", "/chat", body=body))
    assert answer.status == 400
    assert "123-45-6789" not in json.dumps(answer.body)


def test_control_characters_are_removed_before_storage_and_the_llm(chat_env: ChatEnv) -> None:
    answer = invoke(
        rest_event(
            "POST",
            "/chat",
            body={"sessionId": VALID_SESSION, "message": "he\x00llo\x1b[31m\u202e wor\r\nld\tok"},
        )
    )
    assert answer.status == 200
    sent = chat_env.fake_llm.requests[0].body["messages"][-1]["content"]
    assert sent == "hello[31m wor\nld\tok"
    assert chat_env.items()[0]["content"] == sent
