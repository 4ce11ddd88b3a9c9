"""DELETE /conversations/{sessionId} erases everything of the session: transcript, jobs and their
replies, idempotent replays, cached answers; a turn still running writes nothing afterwards."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lambda_src.chat.quotas import Tier
from tests.unit.conftest import (
    DEFAULT_CLIENT,
    ChatEnv,
    HttpAnswer,
    chat,
    invoke,
    rest_event,
    work_queued_jobs,
)

SESSION = "session-0001"
SECRET_REPLY = "ERASED-REPLY-CANARY-51c2"


def _erase(session_id: str = SESSION) -> HttpAnswer:
    event = rest_event("DELETE", f"/conversations/{session_id}")
    event["resource"] = "/conversations/{sessionId}"
    event["pathParameters"] = {"sessionId": session_id}
    return invoke(event)


def _everything(env: ChatEnv) -> str:
    return json.dumps(env.all_items(), default=str)


def test_an_erased_sessions_job_no_longer_returns_its_reply(chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(reply=SECRET_REPLY)
    queued = invoke(rest_event("POST", "/chat/jobs", body={"sessionId": SESSION, "message": "later"}))
    job_id = queued.body["jobId"]
    work_queued_jobs()
    assert invoke(rest_event("GET", f"/chat/jobs/{job_id}")).body["reply"] == SECRET_REPLY

    assert _erase().status == 204

    assert invoke(rest_event("GET", f"/chat/jobs/{job_id}")).status == 404
    assert SECRET_REPLY not in _everything(chat_env)


def test_an_idempotency_key_replay_no_longer_returns_the_erased_answer(chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(reply=SECRET_REPLY)
    event = rest_event(
        "POST", "/chat", body={"sessionId": SESSION, "message": "hi"}, headers={"Idempotency-Key": "k-1"}
    )
    assert invoke(event).body["reply"] == SECRET_REPLY

    assert _erase().status == 204

    assert SECRET_REPLY not in _everything(chat_env)
    chat_env.fake_llm.answer(reply="A fresh answer.")
    assert invoke(event).body["reply"] == "A fresh answer."


def test_cached_answers_of_the_session_are_erased_with_it(chat_env: ChatEnv, monkeypatch: Any) -> None:
    monkeypatch.setenv("CACHE_TTL_SECONDS", "3600")
    chat_env.fake_llm.answer(reply=SECRET_REPLY)
    assert chat(SESSION, "What is the secret?").status == 200
    assert any(i["pk"].startswith("CACHE#") for i in chat_env.all_items())

    assert _erase().status == 204

    assert SECRET_REPLY not in _everything(chat_env)


def test_a_turn_still_running_when_the_session_is_erased_writes_nothing_afterwards(
    chat_env: ChatEnv,
) -> None:
    chat_env.fake_llm.answer(mode="slow", delay=1.0, reply=SECRET_REPLY)
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(chat, SESSION, "answer slowly")
        deadline = time.monotonic() + 5
        while not chat_env.fake_llm.requests:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert _erase().status == 204
        answer = running.result()

    assert answer.status == 409
    assert "erased" in answer.body["message"]
    assert SECRET_REPLY not in _everything(chat_env)
    assert chat_env.items() == []


def test_a_session_can_be_used_again_after_its_erasure(chat_env: ChatEnv) -> None:
    chat(SESSION, "before")
    assert _erase().status == 204
    assert chat(SESSION, "after").status == 200
    assert [i["content"] for i in chat_env.items() if i["role"] == "user"] == ["after"]


def _queue_job(message: str = "later") -> str:
    queued = invoke(rest_event("POST", "/chat/jobs", body={"sessionId": SESSION, "message": message}))
    assert queued.status == 202
    return str(queued.body["jobId"])


def test_a_job_queued_before_the_erasure_is_never_answered(chat_env: ChatEnv, log_lines: Any) -> None:
    _queue_job()
    assert _erase().status == 204

    assert work_queued_jobs() == {"batchItemFailures": []}  # its message is dropped, not retried

    assert chat_env.fake_llm.requests == []
    assert _everything(chat_env).count("CONV#") == 1  # the session's emptied state, nothing else
    assert chat_env.items() == []
    messages = [line["message"] for line in log_lines()]
    assert "job no longer exists (erased with its session, or expired); its message is dropped" in messages
    assert not any("already answered" in m for m in messages)


def test_a_job_claimed_before_the_erasure_but_not_yet_started_writes_nothing(
    chat_env: ChatEnv, monkeypatch: Any
) -> None:
    from lambda_src.chat.jobs import JobStore

    chat_env.fake_llm.answer(reply=SECRET_REPLY)
    job_id = _queue_job()
    claim = JobStore.claim

    def claim_then_erase(self: JobStore, owner: str, job: str, **kwargs: Any) -> None:
        claim(self, owner, job, **kwargs)
        assert _erase().status == 204  # between the worker's claim and its turn

    monkeypatch.setattr(JobStore, "claim", claim_then_erase)
    assert work_queued_jobs() == {"batchItemFailures": []}

    assert chat_env.fake_llm.requests == []
    assert chat_env.items() == []
    assert invoke(rest_event("GET", f"/chat/jobs/{job_id}")).status == 404


def test_messages_of_turns_started_before_the_erasure_go_whatever_their_clock_said(
    chat_env: ChatEnv,
) -> None:
    """Erasure goes by the session's generation, not by timestamps: a Lambda whose clock runs ahead
    (or a turn admitted just before the erasure began) leaves nothing behind."""
    from lambda_src.chat.session_store import SessionStore

    ahead = SessionStore(chat_env.table, retention_days=30, history_turns=5, clock=lambda: time.time() + 60)
    chat(SESSION, "first")
    snapshot = ahead.read(DEFAULT_CLIENT, SESSION, "sent by a clock a minute ahead", cache_key=None)
    ahead.admit(
        snapshot,
        turn_id="turn-ahead",
        tier=Tier(name="free", daily_tokens=100_000, session_requests=100),
        tokens=10,
        lease_seconds=30,
    )
    assert len(chat_env.items()) == 3

    assert _erase().status == 204

    assert chat_env.items() == []


def test_an_answer_finished_just_before_the_erasure_is_not_kept_for_idempotent_replays(
    chat_env: ChatEnv, monkeypatch: Any
) -> None:
    """The erasure may come between the turn's last write and Powertools saving the answer for replays:
    the save must not bring the erased answer back."""
    from lambda_src.handlers import chat as chat_handler

    chat_env.fake_llm.answer(reply=SECRET_REPLY)
    real_reply_to = chat_handler.reply_to

    def answered_then_erased(*args: Any, **kwargs: Any) -> Any:
        outcome = real_reply_to(*args, **kwargs)
        assert _erase().status == 204
        return outcome

    monkeypatch.setattr(chat_handler, "reply_to", answered_then_erased)
    event = rest_event(
        "POST", "/chat", body={"sessionId": SESSION, "message": "hi"}, headers={"Idempotency-Key": "k-2"}
    )
    first = invoke(event)
    assert first.status == 409
    assert "erased" in first.body["message"]
    assert SECRET_REPLY not in _everything(chat_env)

    monkeypatch.setattr(chat_handler, "reply_to", real_reply_to)
    chat_env.fake_llm.answer(reply="A fresh answer.")
    assert invoke(event).body["reply"] == "A fresh answer."
