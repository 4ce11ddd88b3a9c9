"""First-turn answers are cached: the same question again costs no LLM call and no tokens."""

from __future__ import annotations

import pytest

from lambda_src.chat.cache import cache_key, normalize
from tests.unit.conftest import ChatEnv, chat, invoke, rest_event


@pytest.fixture(autouse=True)
def cache_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_TTL_SECONDS", "3600")


def test_the_same_first_question_is_answered_from_the_cache(
    chat_env: ChatEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    chat_env.fake_llm.answer(reply="Paris.")
    first = chat("session-0001", "What is the capital of France?")
    second = chat("session-0002", "  what is the CAPITAL of   France? ")

    assert len(chat_env.fake_llm.requests) == 1
    assert second.status == 200
    assert second.body["reply"] == first.body["reply"] == "Paris."
    assert second.body["usage"]["totalTokens"] == 0
    out = capsys.readouterr().out
    assert '"CacheMiss":[1.0]' in out
    assert '"CacheHit":[1.0]' in out


def test_the_cached_turn_is_still_part_of_the_conversation(chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(reply="Paris.")
    chat("session-0001", "What is the capital of France?")
    chat("session-0002", "What is the capital of France?")

    roles = [(i["pk"].endswith("session-0002"), i["role"]) for i in chat_env.items()]
    assert (True, "user") in roles
    assert (True, "assistant") in roles


def test_follow_up_questions_are_never_served_from_the_cache(chat_env: ChatEnv) -> None:
    chat("session-0001", "Tell me a joke")
    chat("session-0001", "Another one")
    chat("session-0002", "Tell me a joke")
    chat("session-0002", "Another one")

    assert len(chat_env.fake_llm.requests) == 3  # only the second "Tell me a joke" was cached


def test_by_default_one_client_never_gets_another_clients_cached_answer(chat_env: ChatEnv) -> None:
    chat("session-0001", "What is the capital of France?")
    other = invoke(
        rest_event(
            "POST",
            "/chat",
            body={"sessionId": "session-0002", "message": "What is the capital of France?"},
            api_key_id="another-client",
        )
    )
    assert other.body["usage"]["totalTokens"] > 0
    assert len(chat_env.fake_llm.requests) == 2


def test_a_stage_may_share_the_cache_across_clients(
    chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CACHE_SHARED", "true")
    chat("session-0001", "What is the capital of France?")
    invoke(
        rest_event(
            "POST",
            "/chat",
            body={"sessionId": "session-0002", "message": "What is the capital of France?"},
            api_key_id="another-client",
        )
    )
    assert len(chat_env.fake_llm.requests) == 1


def test_the_key_depends_on_the_model_and_the_system_prompt() -> None:
    base = cache_key("hi", provider="p", model="m", system_prompt="s")
    assert base == cache_key(" HI ", provider="p", model="m", system_prompt="s")
    assert base != cache_key("hi", provider="p", model="other", system_prompt="s")
    assert base != cache_key("hi", provider="p", model="m", system_prompt="other")
    assert normalize("\uff26\uff55\uff4c\uff4c\u3000width") == "full width"
