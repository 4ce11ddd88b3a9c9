"""The same message sent again in a session while its first turn is still running starts no second
model call: the resend waits for the first answer and returns it, or answers 409 with Retry-After."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor

from tests.unit.conftest import ChatEnv, HttpAnswer, chat

SESSION = "session-0001"


def _started(env: ChatEnv, calls: int = 1, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while len(env.fake_llm.requests) < calls:
        assert time.monotonic() < deadline, "the first turn never reached the model"
        time.sleep(0.02)


def test_a_resend_while_the_first_turn_runs_returns_the_first_answer(chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(mode="slow", delay=1.0, reply="The first and only answer.")
    with ThreadPoolExecutor(max_workers=2) as pool:
        first: Future[HttpAnswer] = pool.submit(chat, SESSION, "Tell me once")
        _started(chat_env)
        resend = chat(SESSION, "Tell me once")
        original = first.result()

    assert len(chat_env.fake_llm.requests) == 1
    assert original.status == 200
    assert resend.status == 200
    assert resend.body == original.body
    assert [(i["role"], i["content"]) for i in chat_env.items()] == [
        ("user", "Tell me once"),
        ("assistant", "The first and only answer."),
    ]


def test_a_resend_that_cannot_wait_long_enough_gets_409_with_retry_after(chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(mode="slow", delay=1.5)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(chat, SESSION, "Tell me once")
        _started(chat_env)
        # 3.5 s left, of which 3 are kept for answering: too little to wait for the first turn
        resend = chat(SESSION, "Tell me once", remaining_ms=3_500)
        assert first.result().status == 200

    assert resend.status == 409
    assert 1 <= int(resend.headers["Retry-After"]) <= 30
    assert "still being answered" in resend.body["message"]
    assert len(chat_env.fake_llm.requests) == 1


def test_a_different_message_in_the_same_session_is_not_held_up(chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(mode="slow", delay=1.0)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(chat, SESSION, "first question")
        _started(chat_env)
        other = chat(SESSION, "a different question")
        assert first.result().status == 200
    assert other.status == 200
    assert len(chat_env.fake_llm.requests) == 2


def test_the_same_message_after_the_first_answer_is_a_new_turn(chat_env: ChatEnv) -> None:
    """Saying "yes" twice in a row, to two questions, is a conversation, not a double submit."""
    assert chat(SESSION, "yes").status == 200
    assert chat(SESSION, "yes").status == 200
    assert len(chat_env.fake_llm.requests) == 2
    assert [i["role"] for i in chat_env.items()] == ["user", "assistant", "user", "assistant"]
