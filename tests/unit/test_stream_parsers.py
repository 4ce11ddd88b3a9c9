"""The two stream parsers at every network chunk boundary: SSE for OpenAI-compatible providers, and the
AWS event stream of Bedrock's ConverseStream (decoded by botocore) feeding BedrockReplyStream."""

from __future__ import annotations

import binascii
import json
import struct
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import urllib3
from botocore.eventstream import EventStream
from botocore.parsers import EventStreamJSONParser

from lambda_src.chat.providers.base import LlmBadResponse, LlmUnavailable, StreamLimits
from lambda_src.chat.providers.bedrock_stream import BedrockReplyStream
from lambda_src.chat.providers.sse import MAX_LINE_BYTES, SseError, SseParser

# Every line ending, a comment, an ignored field, a multi-line data field, and a 3-byte UTF-8 character.
SSE_BYTES = (
    b": keep-alive\r\n\r\n"
    b'data: {"a": "caf\xc3\xa9 \xe2\x82\xac"}\r\n\r\n'
    b"event: message\nid: 7\ndata: line one\ndata: line two\n\n"
    b"data:no-space\r\rdata: crlf one\r\ndata: crlf two\r\n\r\ndata: [DONE]\n\n"
)
SSE_EVENTS = ['{"a": "café €"}', "line one\nline two", "no-space", "crlf one\ncrlf two", "[DONE]"]


def _feed_in_pieces(data: bytes, cuts: list[int]) -> list[str]:
    parser, events, start = SseParser(), [], 0
    for cut in [*cuts, len(data)]:
        events += parser.feed(data[start:cut])
        start = cut
    return events


@pytest.mark.parametrize("cut", range(1, len(SSE_BYTES)))
def test_sse_events_are_the_same_wherever_the_network_splits_the_bytes(cut: int) -> None:
    assert _feed_in_pieces(SSE_BYTES, [cut]) == SSE_EVENTS


def test_sse_events_arrive_one_byte_at_a_time() -> None:
    assert _feed_in_pieces(SSE_BYTES, list(range(1, len(SSE_BYTES)))) == SSE_EVENTS


def test_an_event_is_not_given_out_before_its_blank_line() -> None:
    parser = SseParser()
    assert parser.feed(b"data: half") == []
    assert parser.feed(b" done\n") == []
    assert parser.feed(b"\n") == ["half done"]


def test_a_line_without_end_is_refused_rather_than_buffered_forever() -> None:
    with pytest.raises(SseError):
        SseParser().feed(b"data: " + b"x" * MAX_LINE_BYTES)


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(SseError):
        SseParser().feed(b"data: \xff\xfe\n\n")


# --- Bedrock: AWS event-stream frames, split anywhere, decoded by botocore as the SDK does ---------


def _header(name: str, value: str) -> bytes:
    encoded = value.encode()
    return bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(encoded)) + encoded


def _frame(event_type: str, payload: dict[str, Any], *, exception: bool = False) -> bytes:
    """One event-stream message, as Bedrock sends them (prelude, headers, payload, CRCs)."""
    if exception:
        headers = _header(":exception-type", event_type) + _header(":message-type", "exception")
    else:
        headers = _header(":event-type", event_type) + _header(":message-type", "event")
    headers += _header(":content-type", "application/json")
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + headers + body
    return message + struct.pack(">I", binascii.crc32(message) & 0xFFFFFFFF)


def _delta(text: str) -> bytes:
    return _frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text}})


BEDROCK_REPLY = (
    _frame("messageStart", {"role": "assistant"})
    + _delta("Bon")
    + _delta("jour à ")
    + _delta("vous")
    + _frame("contentBlockStop", {"contentBlockIndex": 0})
    + _frame("messageStop", {"stopReason": "end_turn"})
    + _frame("metadata", {"usage": {"inputTokens": 9, "outputTokens": 4, "totalTokens": 13}, "metrics": {}})
)


class _Raw:
    def __init__(self, data: bytes, cuts: list[int]) -> None:
        self._data, self._cuts = data, cuts

    def stream(self) -> Iterator[bytes]:
        start = 0
        for cut in [*self._cuts, len(self._data)]:
            yield self._data[start:cut]
            start = cut

    def close(self) -> None:
        pass


def _bedrock_stream(data: bytes, cuts: list[int]) -> BedrockReplyStream:
    operation = boto3.client("bedrock-runtime", region_name="us-east-1").meta.service_model.operation_model(
        "ConverseStream"
    )
    shape = operation.output_shape.members["stream"]
    events = EventStream(_Raw(data, cuts), shape, EventStreamJSONParser(), "ConverseStream")
    now = time.monotonic()
    return BedrockReplyStream(events, limits=StreamLimits(now + 5, now + 10, 5), model="m")


@pytest.mark.parametrize("cut", range(1, len(BEDROCK_REPLY), 7))
def test_bedrock_frames_split_anywhere_give_the_same_reply(cut: int) -> None:
    stream = _bedrock_stream(BEDROCK_REPLY, [cut, min(cut + 3, len(BEDROCK_REPLY))])
    assert "".join(stream) == "Bonjour à vous"
    assert stream.usage is not None
    assert stream.usage.outputTokens == 4


def test_a_bedrock_stream_that_ends_before_message_stop_is_cut_not_finished() -> None:
    cut_short = BEDROCK_REPLY[: BEDROCK_REPLY.index(_frame("contentBlockStop", {"contentBlockIndex": 0}))]
    stream = _bedrock_stream(cut_short, [40])
    pieces: list[str] = []
    with pytest.raises(LlmUnavailable) as raised:
        pieces.extend(stream)
    assert "".join(pieces) == "Bonjour à vous"
    assert raised.value.kind == "interrupted"


def test_a_bedrock_error_event_mid_stream_is_a_retryable_cut() -> None:
    data = _delta("Bon") + _frame("throttlingException", {"message": "slow down"}, exception=True)
    pieces: list[str] = []
    with pytest.raises(LlmUnavailable) as raised:
        pieces.extend(_bedrock_stream(data, [5]))
    assert pieces == ["Bon"]
    assert raised.value.kind == "rate_limited"
    assert "slow down" not in str(raised.value)


def test_a_bedrock_validation_error_event_is_a_refusal() -> None:
    data = _frame("validationException", {"message": "bad input"}, exception=True)
    with pytest.raises(LlmBadResponse):
        list(_bedrock_stream(data, []))


def test_a_corrupt_bedrock_frame_is_not_taken_for_the_end_of_the_reply() -> None:
    corrupt = bytearray(_delta("Bon") + _delta("jour"))
    corrupt[-2] ^= 0xFF  # the second frame's CRC no longer matches
    pieces: list[str] = []
    with pytest.raises((LlmUnavailable, LlmBadResponse)):
        pieces.extend(_bedrock_stream(bytes(corrupt), []))
    assert pieces == ["Bon"]


class _Breaking(_Raw):
    """Delivers its bytes, then fails as urllib3 does under botocore's EventStream."""

    def __init__(self, data: bytes, error: Exception) -> None:
        super().__init__(data, [])
        self._error = error

    def stream(self) -> Iterator[bytes]:
        yield from super().stream()
        raise self._error


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (urllib3.exceptions.ReadTimeoutError(None, "/", "read timed out"), "idle_timeout"),  # type: ignore[arg-type]
        (urllib3.exceptions.ProtocolError("connection reset"), "connection"),
    ],
)
def test_a_bedrock_stream_that_breaks_under_botocore_is_a_retryable_cut(error: Exception, kind: str) -> None:
    operation = boto3.client("bedrock-runtime", region_name="us-east-1").meta.service_model.operation_model(
        "ConverseStream"
    )
    events = EventStream(
        _Breaking(_delta("Bon"), error),
        operation.output_shape.members["stream"],
        EventStreamJSONParser(),
        "ConverseStream",
    )
    now = time.monotonic()
    pieces: list[str] = []
    with pytest.raises(LlmUnavailable) as raised:
        pieces.extend(BedrockReplyStream(events, limits=StreamLimits(now + 5, now + 10, 5), model="m"))
    assert pieces == ["Bon"]
    assert raised.value.kind == kind
