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


def test_control_characters_are_removed_before_storage_and_the_llm_but_line_ends_are_kept(
    chat_env: ChatEnv,
) -> None:
    answer = invoke(
        rest_event(
            "POST",
            "/chat",
            body={"sessionId": VALID_SESSION, "message": "he\x00llo\x1b[31m\u202e wor\r\nld\tok"},
        )
    )
    assert answer.status == 200
    sent = chat_env.fake_llm.requests[0].body["messages"][-1]["content"]
    assert sent == "hello[31m wor\r\nld\tok"
    assert chat_env.items()[0]["content"] == sent


FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # man ZWJ woman ZWJ girl: one family emoji
ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"  # a flag tag sequence
RED_HEART = "\u2764\ufe0f"  # with variation selector 16: the emoji, not the text glyph
PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # ZWNJ inside a word


@pytest.mark.parametrize("text", [FAMILY, ENGLAND, RED_HEART, PERSIAN, "two\r\nlines\rand\nmore"])
def test_text_is_stored_and_sent_as_written(chat_env: ChatEnv, text: str) -> None:
    answer = invoke(rest_event("POST", "/chat", body={"sessionId": VALID_SESSION, "message": text}))
    assert answer.status == 200
    assert chat_env.fake_llm.requests[0].body["messages"][-1]["content"] == text
    assert chat_env.items()[0]["content"] == text


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("a\x00b\x07c\x1b[0m\x7fd\x85e", "abc[0mde"),  # C0 (but tab and line ends) and C1 controls
        ("safe \u202eevil\u202c \u2066x\u2069 \u202a\u202b\u202d", "safe evil x "),  # bidi overrides
        ("non\ufffecharacter\U0010ffff", "noncharacter"),
    ],
)
def test_only_unsafe_characters_are_removed(chat_env: ChatEnv, sent: str, stored: str) -> None:
    raw = json.dumps({"sessionId": VALID_SESSION, "message": sent})  # escapes keep the lone surrogate
    answer = invoke(rest_event("POST", "/chat", raw_body=raw))
    assert answer.status == 200
    assert chat_env.items()[0]["content"] == stored


def test_the_length_limit_counts_what_is_stored_in_code_points(chat_env: ChatEnv) -> None:
    # 1000 astral characters: 2000 UTF-16 units, 4000 UTF-8 bytes, 1000 code points
    at_limit = "\U0001f600" * 1000
    assert (
        invoke(rest_event("POST", "/chat", body={"sessionId": VALID_SESSION, "message": at_limit})).status
        == 200
    )
    stripped_to_limit = "x" * 1000 + "\x00" * 50  # the removed characters do not count
    answer = invoke(
        rest_event("POST", "/chat", body={"sessionId": "session-0002", "message": stripped_to_limit})
    )
    assert answer.status == 200
    over = invoke(rest_event("POST", "/chat", body={"sessionId": "session-0003", "message": "y" * 1001}))
    assert over.status == 400


def test_a_lone_surrogate_is_not_text_and_is_refused(chat_env: ChatEnv) -> None:
    raw = '{"sessionId": "session-0001", "message": "lone \\ud83d surrogate"}'
    answer = invoke(rest_event("POST", "/chat", raw_body=raw))
    assert answer.status == 400
    assert "not valid JSON" in answer.body["message"]
    assert chat_env.items() == []


@pytest.mark.parametrize("invisible", ["\u200d\u200d", "\ufe0f", " \u00a0\u2003", "\x00\u202e"])
def test_a_message_without_visible_text_is_refused(chat_env: ChatEnv, invisible: str) -> None:
    answer = invoke(rest_event("POST", "/chat", body={"sessionId": VALID_SESSION, "message": invisible}))
    assert answer.status == 400
    assert "visible text" in answer.body["message"]
