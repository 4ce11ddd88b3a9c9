"""POST /chat/stream through its ASGI app under uvicorn (as the Lambda Web Adapter runs it), with moto and
the fake LLM: the event contract, refusals before the first byte, cuts, disconnects, replays, quotas."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from scripts.fake_llm_server import PROVIDER_ERROR_TEXT
from scripts.sse_client import StreamEvent
from tests.unit.conftest import DEFAULT_CLIENT, LLM_API_KEY, ChatEnv, StreamApi, chat, provider_settings

LONG_REPLY = " ".join(f"word{n}" for n in range(40))
MAX_OUTPUT_TOKENS = 256  # LLM_MAX_OUTPUT_TOKENS of chat_env: every reservation holds at least this


def _body(session: str = "stream-session-1", message: str = "Tell me something") -> dict[str, str]:
    return {"sessionId": session, "message": message}


def _names(events: list[StreamEvent]) -> list[str]:
    return [e.name for e in events]


def _text(events: list[StreamEvent]) -> str:
    return "".join(e.data["text"] for e in events if e.name == "delta")


def _tokens_used(env: ChatEnv, client: str = DEFAULT_CLIENT) -> int:
    return sum(
        int(i.get("used", 0))
        for i in env.all_items()
        if i["pk"].startswith(f"QUOTA#{client}#") and i["sk"] == "TOKENS"
    )


def _running_marks(env: ChatEnv) -> list[dict[str, Any]]:
    return [i for i in env.all_items() if i.get("status") == "running"]


def _wait_for(condition: Callable[[], bool], seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_reply_streams_as_start_deltas_done_and_is_stored(stream_api: StreamApi, chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(reply="Streams arrive one word at a time.")
    answer = stream_api.post("/chat/stream", _body())
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert "no-cache" in answer.headers["cache-control"]
    assert int(answer.headers["x-quota-tokens-remaining"]) > 0
    events = answer.all_events()

    names = _names(events)
    assert names[0] == "start"
    assert names[-1] == "done"
    assert set(names[1:-1]) == {"delta"}
    assert len(names) == 2 + 7
    assert events[0].data["sessionId"] == "stream-session-1"
    assert _text(events) == "Streams arrive one word at a time."
    done = events[-1].data
    assert done["usage"]["outputTokens"] == 7
    assert done["quota"]["tokensRemaining"] == 100_000 - done["usage"]["totalTokens"]
    assert [(i["role"], i["content"]) for i in chat_env.items()] == [
        ("user", "Tell me something"),
        ("assistant", "Streams arrive one word at a time."),
    ]
    assert _tokens_used(chat_env) == done["usage"]["totalTokens"]
    assert chat_env.fake_llm.requests[-1].body["stream"] is True


def test_words_reach_the_client_while_the_model_is_still_generating(
    stream_api: StreamApi, chat_env: ChatEnv
) -> None:
    chat_env.fake_llm.answer(reply="one two three four five six", token_delay=0.25)
    events = stream_api.post("/chat/stream", _body()).all_events()
    deltas = [e for e in events if e.name == "delta"]
    assert deltas[-1].at - deltas[0].at >= 1.0  # five gaps of 0.25 s, none of them held back


def test_a_quiet_stream_is_kept_open_with_comments(stream_api: StreamApi, chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(reply="slow thought", token_delay=0.8)
    answer = stream_api.post("/chat/stream", _body())
    events = answer.all_events()
    assert _names(events)[-1] == "done"
    assert "keep-alive" in answer.comments


@pytest.mark.parametrize(
    ("body", "headers", "kwargs", "status"),
    [
        ("{not json", {}, {}, 400),
        (_body(message=""), {}, {}, 400),
        (_body(), {}, {"api_key_id": None}, 403),
        (_body(), {"Idempotency-Key": "bad key!"}, {}, 400),
    ],
)
def test_refusals_before_the_first_byte_keep_their_status_and_json(
    stream_api: StreamApi,
    chat_env: ChatEnv,
    body: Any,
    headers: dict[str, str],
    kwargs: dict[str, Any],
    status: int,
) -> None:
    answer = stream_api.post("/chat/stream", body, headers=headers, **kwargs)
    assert answer.status == status
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["message"]
    assert chat_env.fake_llm.requests == []


def test_over_quota_is_a_429_with_its_wait_before_any_event(
    stream_api: StreamApi, chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "QUOTA_TIERS", json.dumps([{"name": "free", "daily_tokens": 100, "session_requests": 5}])
    )
    answer = stream_api.post("/chat/stream", _body())
    assert answer.status == 429
    assert int(answer.headers["retry-after"]) > 0
    assert "daily token budget" in answer.json()["message"]


def test_the_web_route_belongs_to_the_signed_in_user(stream_api: StreamApi, chat_env: ChatEnv) -> None:
    answer = stream_api.post("/web/chat/stream", _body(), api_key_id=None, user="sub-123")
    assert _names(answer.all_events())[-1] == "done"
    assert all(i["pk"].startswith("CONV#user-sub-123#") for i in chat_env.items())
    assert stream_api.post("/web/chat/stream", _body(), api_key_id="key-id").status == 403


@pytest.mark.parametrize("fault", ["drop", "malformed", "error", "hang"])
def test_a_cut_reply_ends_with_an_incomplete_error_never_done(
    stream_api: StreamApi, chat_env: ChatEnv, fault: str
) -> None:
    chat_env.fake_llm.answer(reply=LONG_REPLY, fault=fault, fault_after=3)
    answer = stream_api.post("/chat/stream", _body())
    events = answer.all_events()

    assert _names(events) == ["start", "delta", "delta", "delta", "error"]
    error = events[-1].data
    assert error["incomplete"] is True
    assert "cut off" in error["message"]
    assert error["retryable"] is True
    assert error["retryAfter"] >= 1
    assert PROVIDER_ERROR_TEXT not in answer.raw.decode()
    # The part is not stored; the message is, once; the running mark is gone; the tokens spent count.
    assert [i["role"] for i in chat_env.items()] == ["user"]
    assert _running_marks(chat_env) == []
    # Settled to what was spent: less than the reservation, which held the whole output cap.
    assert 0 < _tokens_used(chat_env) < MAX_OUTPUT_TOKENS


def test_a_retry_after_a_cut_answers_the_message_and_stores_it_once(
    stream_api: StreamApi, chat_env: ChatEnv
) -> None:
    chat_env.fake_llm.answer(reply=LONG_REPLY, fault="drop", fault_after=2)
    assert _names(stream_api.post("/chat/stream", _body()).all_events())[-1] == "error"
    chat_env.fake_llm.answer(reply="Complete this time.")
    events = stream_api.post("/chat/stream", _body()).all_events()
    assert _names(events)[-1] == "done"
    assert [(i["role"], i["content"]) for i in chat_env.items()] == [
        ("user", "Tell me something"),
        ("assistant", "Complete this time."),
    ]


def test_a_provider_that_never_starts_ends_the_stream_with_a_retryable_error(
    stream_api: StreamApi, chat_env: ChatEnv
) -> None:
    chat_env.fake_llm.answer(mode="status", status=503)
    events = stream_api.post("/chat/stream", _body()).all_events()
    assert _names(events) == ["start", "error"]
    assert events[-1].data["incomplete"] is False
    assert events[-1].data["retryable"] is True
    assert _tokens_used(chat_env) == 0  # nothing was spent: the reservation is released
    assert _running_marks(chat_env) == []


def test_a_client_that_hangs_up_stops_the_model_call_and_is_charged_what_was_spent(
    stream_api: StreamApi, chat_env: ChatEnv
) -> None:
    chat_env.fake_llm.answer(reply=LONG_REPLY, token_delay=0.2)  # 40 words: 8 s if nobody stops it
    answer = stream_api.post("/chat/stream", _body())
    events = answer.events()
    assert next(events).name == "start"
    assert next(events).name == "delta"
    hung_up = time.monotonic()
    answer.close()

    _wait_for(lambda: chat_env.fake_llm.requests[-1].stream_end == "client_gone")
    assert time.monotonic() - hung_up < 4
    _wait_for(lambda: not _running_marks(chat_env) and _tokens_used(chat_env) > 0)
    assert 0 < _tokens_used(chat_env) < MAX_OUTPUT_TOKENS  # what was spent, not the reservation
    assert [i["role"] for i in chat_env.items()] == ["user"]


def test_a_replay_of_a_finished_stream_is_the_stored_reply_in_one_delta(
    stream_api: StreamApi, chat_env: ChatEnv
) -> None:
    chat_env.fake_llm.answer(reply="Asked exactly once.")
    headers = {"Idempotency-Key": "stream-key-1"}
    first = stream_api.post("/chat/stream", _body(), headers=headers).all_events()
    replay = stream_api.post("/chat/stream", _body(), headers=headers).all_events()

    assert _names(replay) == ["start", "delta", "done"]
    assert replay[0].data["replayed"] is True
    assert replay[1].data["text"] == _text(first) == "Asked exactly once."
    assert replay[-1].data == first[-1].data
    assert len(chat_env.fake_llm.requests) == 1
    other = stream_api.post("/chat/stream", _body(message="Something else"), headers=headers)
    assert other.status == 422


def test_a_cut_stream_leaves_its_idempotency_key_free_to_ask_again(
    stream_api: StreamApi, chat_env: ChatEnv
) -> None:
    headers = {"Idempotency-Key": "stream-key-2"}
    chat_env.fake_llm.answer(reply=LONG_REPLY, fault="drop", fault_after=1)
    assert _names(stream_api.post("/chat/stream", _body(), headers=headers).all_events())[-1] == "error"
    chat_env.fake_llm.answer(reply="Second try.")
    assert _text(stream_api.post("/chat/stream", _body(), headers=headers).all_events()) == "Second try."


def test_concurrent_streams_each_get_their_own_whole_reply(stream_api: StreamApi, chat_env: ChatEnv) -> None:
    chat_env.fake_llm.answer(reply="alpha beta gamma delta", token_delay=0.05)

    def one(number: int) -> list[StreamEvent]:
        return stream_api.post("/chat/stream", _body(session=f"concurrent-{number:04d}")).all_events()

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(one, range(6)))

    for events in results:
        assert _names(events)[-1] == "done"
        assert _text(events) == "alpha beta gamma delta"
    used = sum(events[-1].data["usage"]["totalTokens"] for events in results)
    assert _tokens_used(chat_env) == used
    assert len([i for i in chat_env.items() if i["role"] == "assistant"]) == 6


def test_the_same_message_streamed_while_it_runs_gets_that_answer(
    stream_api: StreamApi, chat_env: ChatEnv
) -> None:
    chat_env.fake_llm.answer(reply="only one model call", token_delay=0.2)
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(lambda: stream_api.post("/chat/stream", _body()).all_events())
        time.sleep(0.3)
        second = pool.submit(lambda: stream_api.post("/chat/stream", _body()).all_events())
        results = [first.result(), second.result()]
    assert [_text(r) for r in results] == ["only one model call"] * 2
    assert len(chat_env.fake_llm.requests) == 1


def test_a_buffered_turn_after_a_streamed_one_sees_it_in_the_history(
    stream_api: StreamApi, chat_env: ChatEnv
) -> None:
    chat_env.fake_llm.answer(reply="First answer.")
    stream_api.post("/chat/stream", _body()).all_events()
    assert chat("stream-session-1", "And then?").status == 200
    sent = chat_env.fake_llm.requests[-1].body["messages"]
    assert {"role": "assistant", "content": "First answer."} in sent


def test_no_text_or_secret_reaches_the_logs(
    stream_api: StreamApi, chat_env: ChatEnv, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    # The whole number: four digits alone turn up in timestamps, ids and latencies.
    secret_message = "MESSAGE-CANARY-5521 my card is 4111 1111 1111 1111"
    chat_env.fake_llm.answer(reply="REPLY-CANARY-9034 and more words", fault="drop", fault_after=2)
    answer = stream_api.post("/chat/stream", _body(message=secret_message))
    answer.all_events()
    chat_env.fake_llm.answer(reply="REPLY-CANARY-9034 complete")
    stream_api.post("/chat/stream", _body(message=secret_message)).all_events()

    lines = log_lines()
    logged = json.dumps(lines)
    assert "streamed reply ended part-way" in logged
    (answered,) = [line for line in lines if line.get("message") == "chat turn answered"]
    assert (answered["tier"], answered["caller"]) == ("free", "program")  # the usage figures' fields
    for canary in (
        "MESSAGE-CANARY-5521",
        "4111 1111 1111 1111",
        "REPLY-CANARY-9034",
        LLM_API_KEY,
        PROVIDER_ERROR_TEXT,
    ):
        assert canary not in logged
    assert LLM_API_KEY not in answer.raw.decode()


def test_a_client_that_hangs_up_before_the_first_token_stops_the_wait_for_it(
    stream_api: StreamApi, chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Neither the idle limit nor the provider's own timeout may end the wait: only the hang-up.
    monkeypatch.setenv("STREAM_IDLE_SECONDS", "10")
    monkeypatch.setenv(
        "LLM_PROVIDERS",
        json.dumps([provider_settings("primary", chat_env.fake_llm.base_url, timeout_seconds=10)]),
    )
    chat_env.fake_llm.answer(reply=LONG_REPLY, token_delay=5)  # the first word comes after 5 s
    answer = stream_api.post("/chat/stream", _body())
    assert next(answer.events()).name == "start"
    hung_up = time.monotonic()
    answer.close()

    _wait_for(lambda: not _running_marks(chat_env), seconds=3)
    assert time.monotonic() - hung_up < 3  # not the 5 s the provider takes to its first word
    assert _tokens_used(chat_env) == 0  # nothing was generated: the reservation is given back
    assert [i["role"] for i in chat_env.items()] == ["user"]


def test_a_resend_waits_for_the_running_turn_only_briefly_then_gets_409(
    stream_api: StreamApi, chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAM_ADMISSION_WAIT_SECONDS", "0.5")  # CloudFront would give up on a silent wait
    chat_env.fake_llm.answer(reply=LONG_REPLY, token_delay=0.2)
    first = stream_api.post("/chat/stream", _body())
    assert next(first.events()).name == "start"
    started = time.monotonic()
    resend = stream_api.post("/chat/stream", _body())
    assert resend.status == 409
    assert int(resend.headers["retry-after"]) >= 1
    assert time.monotonic() - started < 3
    assert "still being answered" in resend.json()["message"]
    first.close()


def test_nothing_is_sent_after_the_stream_has_ended() -> None:
    from lambda_src.chat.models import ChatRequest
    from lambda_src.handlers.stream_producer import Event, Invocation, StreamProducer

    sent: list[Any] = []
    producer = StreamProducer(
        request=ChatRequest(sessionId="stream-session-1", message="hi"),
        owner=DEFAULT_CLIENT,
        route="/chat/stream",
        idempotency_key=None,
        body="{}",
        invocation=Invocation("request-1", time.time() + 60),
        received_at=time.monotonic(),
        put=sent.append,
    )
    producer._emit("start", {})
    producer._emit("done", {})
    producer._emit("error", {"message": "saving the idempotency record failed"})
    assert [e.name for e in sent if isinstance(e, Event)] == ["start", "done"]


def test_first_token_time_is_also_published_for_the_version_that_ran(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lambda_src.chat.telemetry import record_stream_start

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "7")
    record_stream_start("primary", 123.0)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    by_version = [line for line in lines if line.get("version") == "7"]
    assert len(by_version) == 1
    assert by_version[0]["TimeToFirstToken"] == [123.0]
    assert by_version[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["version", "service"]]
