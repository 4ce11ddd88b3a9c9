"""Streamed replies from the providers: the OpenAI-compatible client against the fake server (words, usage,
every mid-stream fault, silence, a close from another thread), and FailoverChat.stream (failover only
before the first piece; after it, a cut)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from lambda_src.chat.models import Message, Usage
from lambda_src.chat.providers.base import (
    Completion,
    LlmBadResponse,
    LlmError,
    LlmUnavailable,
    StreamLimits,
)
from lambda_src.chat.providers.openai_compatible import OpenAICompatibleClient
from lambda_src.chat.resilience import AllProvidersFailed, CircuitBreaker, FailoverChat, RetryPolicy
from lambda_src.chat.started_stream import StreamCut
from scripts.fake_llm_server import PROVIDER_ERROR_TEXT, FakeLlm

PROMPT = [Message(role="user", content="hi")]
REPLY = "one two three four five six"


def _client(fake: FakeLlm) -> OpenAICompatibleClient:
    return OpenAICompatibleClient(
        name="fake", base_url=fake.base_url, model="fake-model", max_output_tokens=64, api_key=lambda: "sk-x"
    )


def _limits(first: float = 5, whole: float = 10, idle: float = 2) -> StreamLimits:
    now = time.monotonic()
    return StreamLimits(first_token_by=now + first, deadline=now + whole, idle_seconds=idle)


def test_an_openai_stream_yields_the_words_then_the_usage(fake_llm: FakeLlm) -> None:
    fake_llm.answer(reply=REPLY)
    stream = _client(fake_llm).stream(PROMPT, limits=_limits())
    pieces = list(stream)
    assert pieces == ["one ", "two ", "three ", "four ", "five ", "six"]
    assert stream.usage is not None
    assert stream.usage.outputTokens == 6
    sent = fake_llm.requests[-1]
    assert sent.body["stream"] is True
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.headers["Accept"] == "text/event-stream"


def test_pieces_arrive_as_the_provider_sends_them_not_at_the_end(fake_llm: FakeLlm) -> None:
    fake_llm.answer(reply=REPLY, token_delay=0.1)
    arrivals = [time.monotonic() for _ in _client(fake_llm).stream(PROMPT, limits=_limits())]
    assert arrivals[-1] - arrivals[0] >= 0.4  # five gaps of 0.1 s: nothing was held back


def test_a_stream_without_a_usage_chunk_ends_with_no_usage(fake_llm: FakeLlm) -> None:
    fake_llm.answer(reply=REPLY, mode="no_usage")
    stream = _client(fake_llm).stream(PROMPT, limits=_limits())
    assert "".join(stream) == REPLY
    assert stream.usage is None


@pytest.mark.parametrize(
    ("fault", "error", "kind"),
    [
        ("drop", LlmUnavailable, "interrupted"),
        ("malformed", LlmBadResponse, "malformed_response"),
        ("error", LlmUnavailable, "server_error"),
        ("hang", LlmUnavailable, "idle_timeout"),
    ],
)
def test_a_fault_mid_stream_raises_after_the_words_already_sent(
    fake_llm: FakeLlm, fault: str, error: type[LlmError], kind: str
) -> None:
    fake_llm.answer(reply=REPLY, fault=fault, fault_after=2)
    pieces: list[str] = []
    with pytest.raises(error) as raised:
        pieces.extend(_client(fake_llm).stream(PROMPT, limits=_limits(idle=0.5)))
    assert pieces == ["one ", "two "]
    assert raised.value.kind == kind
    assert PROVIDER_ERROR_TEXT not in str(raised.value)


def test_a_drop_before_the_first_word_is_a_connection_failure(fake_llm: FakeLlm) -> None:
    fake_llm.answer(reply=REPLY, fault="drop", fault_after=0)
    with pytest.raises(LlmUnavailable) as raised:
        list(_client(fake_llm).stream(PROMPT, limits=_limits()))
    assert raised.value.kind == "connection"


def test_the_whole_reply_deadline_holds_however_often_words_arrive(fake_llm: FakeLlm) -> None:
    fake_llm.answer(reply=REPLY, token_delay=0.3)
    pieces: list[str] = []
    with pytest.raises(LlmUnavailable) as raised:
        pieces.extend(_client(fake_llm).stream(PROMPT, limits=_limits(first=1, whole=1.0, idle=2)))
    assert raised.value.kind == "timeout"
    assert 1 <= len(pieces) < 6


def test_an_error_status_is_raised_before_any_piece(fake_llm: FakeLlm) -> None:
    fake_llm.answer(mode="status", status=429, retry_after="3")
    with pytest.raises(LlmUnavailable) as raised:
        _client(fake_llm).stream(PROMPT, limits=_limits())
    assert (raised.value.kind, raised.value.retry_after) == ("rate_limited", 3)


def test_close_from_another_thread_ends_a_read_that_waits(fake_llm: FakeLlm) -> None:
    fake_llm.answer(reply=REPLY, fault="hang", fault_after=1)
    stream = _client(fake_llm).stream(PROMPT, limits=_limits(idle=8))
    pieces = iter(stream)
    assert next(pieces) == "one "
    threading.Timer(0.2, stream.close).start()
    started = time.monotonic()
    with pytest.raises((LlmUnavailable, StopIteration)):
        next(pieces)
    assert time.monotonic() - started < 3  # not the 8 s idle limit, nor the fake's 10 s hang


# --- FailoverChat.stream -----------------------------------------------------------------------


class ScriptedStream:
    def __init__(self, pieces: list[str], error: LlmError | None) -> None:
        self._pieces, self._error = pieces, error
        self.usage: Usage | None = Usage.of(3, len(pieces), None)
        self.model = "scripted-model"
        self.closed = False

    def __iter__(self) -> Iterator[str]:
        yield from self._pieces
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self.closed = True


class StreamingProvider:
    def __init__(self, name: str, *scripts: tuple[list[str], LlmError | None] | LlmError) -> None:
        self.name, self.model = name, f"{name}-model"
        self.scripts = list(scripts)
        self.streams: list[ScriptedStream] = []

    def complete(self, messages: Sequence[Message], *, deadline: float) -> Completion:
        raise AssertionError("a streamed turn never asks for a whole answer")

    def stream(self, messages: Sequence[Message], *, limits: StreamLimits) -> ScriptedStream:
        script = self.scripts.pop(0)
        if isinstance(script, LlmError):
            raise script
        self.streams.append(ScriptedStream(*script))
        return self.streams[-1]


def _failover(*providers: StreamingProvider) -> tuple[FailoverChat, list[tuple[str, dict]]]:
    events: list[tuple[str, dict]] = []
    chat = FailoverChat(
        providers=list(providers),
        breakers={p.name: CircuitBreaker(failure_threshold=2) for p in providers},
        retry=RetryPolicy(max_attempts=2, base_delay_seconds=0.01, max_delay_seconds=0.01),
        sleep=lambda _: None,
        on_event=lambda event, **fields: events.append((event, fields)),
    )
    return chat, events


def test_a_provider_failing_before_its_first_piece_fails_over() -> None:
    primary = StreamingProvider(
        "primary", LlmUnavailable("server_error"), ([], LlmUnavailable("interrupted"))
    )
    backup = StreamingProvider("backup", (["hel", "lo"], None))
    chat, events = _failover(primary, backup)

    started = chat.stream(PROMPT, limits=_limits())

    assert (started.provider, "".join(started)) == ("backup", "hello")
    assert primary.streams[0].closed
    assert ("fallback_used", {"provider": "backup"}) in events
    assert started.first_piece_ms >= 0
    assert chat.breakers["backup"].failures == 0


def test_a_failure_after_the_first_piece_is_a_cut_not_a_failover() -> None:
    primary = StreamingProvider("primary", (["par", "tial"], LlmUnavailable("interrupted")))
    backup = StreamingProvider("backup", (["never"], None))
    chat, events = _failover(primary, backup)

    started = chat.stream(PROMPT, limits=_limits())
    pieces: list[str] = []
    with pytest.raises(StreamCut) as raised:
        pieces.extend(started)

    assert pieces == ["par", "tial"]
    assert raised.value.kind == "interrupted"
    assert raised.value.retryable
    assert backup.streams == []  # a reply is never spliced from two providers
    assert started.finished_at is None
    assert ("provider_error", {"provider": "primary", "kind": "interrupted"}) in events
    assert chat.breakers["primary"].failures == 1


def test_cuts_open_the_circuit_like_any_other_failure() -> None:
    primary = StreamingProvider(
        "primary", *[(["a"], LlmUnavailable("interrupted")) for _ in range(2)], LlmUnavailable("x")
    )
    chat, events = _failover(primary)
    for _ in range(2):
        with pytest.raises(StreamCut):
            list(chat.stream(PROMPT, limits=_limits()))
    assert ("circuit_opened", {"provider": "primary"}) in events
    with pytest.raises(AllProvidersFailed):
        chat.stream(PROMPT, limits=_limits())


def test_a_stream_that_ends_without_a_word_is_a_bad_answer_and_fails_over() -> None:
    primary = StreamingProvider("primary", ([], None))
    backup = StreamingProvider("backup", (["ok"], None))
    chat, _ = _failover(primary, backup)
    assert chat.stream(PROMPT, limits=_limits()).provider == "backup"
