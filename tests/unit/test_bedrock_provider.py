"""The Bedrock Converse adapter, against botocore's Stubber (no network, no credentials)."""

from __future__ import annotations

import time

import boto3
import pytest
from botocore.stub import Stubber

from lambda_src.chat.models import Message
from lambda_src.chat.providers.base import LlmBadResponse, LlmError, LlmUnavailable
from lambda_src.chat.providers.bedrock import BedrockConverseClient, converse_messages

MODEL = "amazon.nova-lite-v1:0"


@pytest.fixture
def stubbed() -> tuple[BedrockConverseClient, Stubber]:
    client = boto3.client("bedrock-runtime", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.activate()
    provider = BedrockConverseClient(
        name="bedrock", model=MODEL, max_output_tokens=300, client_for=lambda _: client, timeout_seconds=12
    )
    return provider, stubber


def _deadline() -> float:
    return time.monotonic() + 10


def test_a_converse_answer_becomes_a_completion(stubbed: tuple[BedrockConverseClient, Stubber]) -> None:
    provider, stubber = stubbed
    stubber.add_response(
        "converse",
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "Bonjour"}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 12, "outputTokens": 3, "totalTokens": 15},
            "metrics": {"latencyMs": 100},
        },
        {
            "modelId": MODEL,
            "messages": [{"role": "user", "content": [{"text": "Hello"}]}],
            "system": [{"text": "Be brief."}],
            "inferenceConfig": {"maxTokens": 300},
        },
    )

    completion = provider.complete(
        [Message(role="system", content="Be brief."), Message(role="user", content="Hello")],
        deadline=_deadline(),
    )

    assert completion.text == "Bonjour"
    assert (completion.usage.inputTokens, completion.usage.outputTokens, completion.usage.totalTokens) == (
        12,
        3,
        15,
    )
    assert completion.provider == "bedrock"
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "expected", "kind"),
    [
        ("ThrottlingException", LlmUnavailable, "rate_limited"),
        ("ServiceUnavailableException", LlmUnavailable, "server_error"),
        ("ModelTimeoutException", LlmUnavailable, "timeout"),
        ("ValidationException", LlmBadResponse, "rejected"),
        ("AccessDeniedException", LlmBadResponse, "rejected"),
    ],
)
def test_bedrock_errors_map_to_retryable_or_not(
    stubbed: tuple[BedrockConverseClient, Stubber], code: str, expected: type, kind: str
) -> None:
    provider, stubber = stubbed
    stubber.add_client_error("converse", service_error_code=code, service_message="raw provider detail")

    with pytest.raises(expected) as raised:
        provider.complete([Message(role="user", content="Hello")], deadline=_deadline())

    assert isinstance(raised.value, LlmError)
    assert raised.value.kind == kind
    assert "raw provider detail" not in str(raised.value)


def test_turns_alternate_and_start_with_the_user() -> None:
    turns, system = converse_messages(
        [
            Message(role="system", content="S"),
            Message(role="assistant", content="orphan reply"),
            Message(role="user", content="first, unanswered"),
            Message(role="user", content="second"),
            Message(role="assistant", content="answer"),
            Message(role="user", content="third"),
        ]
    )
    assert system == [{"text": "S"}]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[0]["content"] == [{"text": "first, unanswered"}, {"text": "second"}]


def test_each_attempt_waits_only_for_the_time_left_before_the_deadline() -> None:
    asked: list[int] = []

    def client_for(read_timeout: int) -> object:
        asked.append(read_timeout)
        raise LlmUnavailable("timeout")  # stop here: only the timeout chosen matters

    provider = BedrockConverseClient(
        name="bedrock", model=MODEL, max_output_tokens=300, client_for=client_for, timeout_seconds=12
    )
    for seconds_left in (30, 5.7):
        with pytest.raises(LlmUnavailable):
            provider.complete(
                [Message(role="user", content="Hello")], deadline=time.monotonic() + seconds_left
            )
    assert asked == [12, 5]


def test_an_unknown_5xx_is_retryable(stubbed: tuple[BedrockConverseClient, Stubber]) -> None:
    provider, stubber = stubbed
    stubber.add_client_error("converse", service_error_code="SomethingNew", http_status_code=502)
    with pytest.raises(LlmUnavailable):
        provider.complete([Message(role="user", content="Hello")], deadline=_deadline())
