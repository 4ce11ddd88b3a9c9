"""Feedback on a reply: POST /conversations/{sessionId}/messages/{messageId}/feedback takes thumbs up or
down, a category and a comment; it belongs to the reply's owner, may be changed, expires with the
transcript, goes with the conversation, and is counted by kind, model and provider."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from stacks.config_guardrail import GuardrailConfig
from tests.unit.conftest import ChatEnv, HttpAnswer, chat, invoke, rest_event


def _feedback(session: str, message: str, body: Any, **kwargs: Any) -> HttpAnswer:
    path = f"/conversations/{session}/messages/{message}/feedback"
    return invoke(rest_event("POST", path, body=body, **kwargs))


def _stored(env: ChatEnv) -> list[dict[str, Any]]:
    return [i for i in env.all_items() if str(i["sk"]).startswith("FEEDBACK#")]


def _emf(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{") and '"_aws"' in line]


@pytest.fixture
def answered(chat_env: ChatEnv) -> str:
    """The messageId of a reply in session-0001."""
    answer = chat("session-0001", "hello")
    return str(answer.body["messageId"])


def test_every_reply_names_its_message_id_and_the_transcript_gives_it_back(
    chat_env: ChatEnv, answered: str
) -> None:
    history = invoke(rest_event("GET", "/conversations/session-0001")).body["messages"]
    assert [m.get("messageId") for m in history] == [None, answered]


def test_thumbs_up_is_stored_with_the_replys_expiry_and_model(chat_env: ChatEnv, answered: str) -> None:
    answer = _feedback("session-0001", answered, {"rating": "up"})

    assert answer.status == 200
    assert answer.body == {"sessionId": "session-0001", "messageId": answered, "rating": "up"}
    (item,) = _stored(chat_env)
    reply = chat_env.items()[-1]
    assert item["expiresAt"] == reply["expiresAt"]  # kept as long as the transcript
    assert (item["model"], item["provider"]) == ("fake-model", "primary")


def test_feedback_may_be_changed_and_its_vote_moves(
    chat_env: ChatEnv, answered: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _feedback("session-0001", answered, {"rating": "up"})
    changed = _feedback(
        "session-0001", answered, {"rating": "down", "category": "incorrect", "comment": "Wrong year."}
    )

    assert changed.body["rating"] == "down"
    (item,) = _stored(chat_env)
    assert (item["rating"], item["category"], item["comment"]) == ("down", "incorrect", "Wrong year.")
    records = _emf(capsys.readouterr().out)
    votes = [(r["kind"], r["Feedback"][0]) for r in records if "Feedback" in r and "kind" in r]
    assert votes == [("up", 1.0), ("down", 1.0), ("up", -1.0)]
    assert {r["provider"] for r in records if "kind" in r} == {"primary"}
    assert "Wrong year." not in capsys.readouterr().out


def test_the_transcript_shows_the_feedback_given_on_each_reply(chat_env: ChatEnv, answered: str) -> None:
    second = str(chat("session-0001", "and again").body["messageId"])
    _feedback("session-0001", second, {"rating": "down", "category": "too_long", "comment": "Shorter."})

    history = invoke(rest_event("GET", "/conversations/session-0001")).body["messages"]

    given = {m["messageId"]: m.get("feedback") for m in history if m["role"] == "assistant"}
    assert given[answered] is None
    assert {k: v for k, v in given[second].items() if k != "updatedAtMs"} == {
        "rating": "down",
        "category": "too_long",
        "comment": "Shorter.",
    }
    assert "feedback" not in history[0]  # a user message takes none


def test_only_the_replys_owner_may_give_feedback(chat_env: ChatEnv, answered: str) -> None:
    other = _feedback("session-0001", answered, {"rating": "down"}, api_key_id="another-client")

    assert other.status == 404
    assert _stored(chat_env) == []


@pytest.mark.parametrize("which", ["unknown reply", "the reply in another session"])
def test_feedback_on_no_reply_is_a_404(chat_env: ChatEnv, answered: str, which: str) -> None:
    created = answered.split("-", 1)[0]
    message = f"{created}-no-such-turn" if which == "unknown reply" else answered
    session = "session-0001" if which == "unknown reply" else "session-0002"
    assert _feedback(session, message, {"rating": "up"}).status == 404


def test_feedback_goes_when_the_conversation_is_erased(chat_env: ChatEnv, answered: str) -> None:
    _feedback("session-0001", answered, {"rating": "up"})

    assert invoke(rest_event("DELETE", "/conversations/session-0001")).status == 204

    assert _stored(chat_env) == []
    assert _feedback("session-0001", answered, {"rating": "down"}).status == 404
    assert _stored(chat_env) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"rating": "meh"}, "rating"),
        ({}, "rating"),
        ({"rating": "up", "category": "boring"}, "category"),
        ({"rating": "up", "comment": "x" * 501}, "at most 500 characters"),
        ({"rating": "up", "score": 5}, "only rating, category and comment"),
        ("a string", "must be a JSON object with rating"),
    ],
)
def test_bad_feedback_is_a_400_that_names_the_field(
    chat_env: ChatEnv, answered: str, body: Any, problem: str
) -> None:
    answer = _feedback("session-0001", answered, body)

    assert answer.status == 400
    assert problem in answer.body["message"]
    assert _stored(chat_env) == []


def test_a_malformed_message_id_is_a_400(chat_env: ChatEnv) -> None:
    assert _feedback("session-0001", "12-abc", {"rating": "up"}).status == 400


def test_a_comment_of_500_characters_counted_as_stored_is_taken(chat_env: ChatEnv, answered: str) -> None:
    assert _feedback("session-0001", answered, {"rating": "up", "comment": "é" * 500}).status == 200


def test_where_the_guardrail_masks_messages_it_masks_comments(
    chat_env: ChatEnv, answered: str, guardrail: Callable[..., GuardrailConfig]
) -> None:
    guardrail(redact_transcripts=True)

    answer = _feedback("session-0001", answered, {"rating": "down", "comment": "Mail me at pat@example.com"})

    assert answer.body["comment"] == "Mail me at {EMAIL}"
    assert "pat@example.com" not in json.dumps(_stored(chat_env), default=str)
