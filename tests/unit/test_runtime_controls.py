"""The runtime controls (lambda_src/chat/controls.py) on the handlers, with the parameter in moto's SSM:
the kill switch refuses new turns and keeps the rest working, a provider can be turned off, a tier's
budget lowered but never raised, and an unreadable parameter never stops the chat."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from lambda_src.chat import dependencies as deps_module
from lambda_src.chat.controls import (
    CONTROLS_CACHE_SECONDS,
    ControlsReader,
    ControlsUnreadable,
    RuntimeControls,
)
from scripts.fake_llm_server import FakeLlm
from tests.unit.conftest import (
    REGION,
    ChatEnv,
    StreamApi,
    chat,
    invoke,
    rest_event,
    work_queued_jobs,
)

DEGRADED = "The assistant is unavailable right now. Please try again in a little while."
Controls = Callable[..., None]


@pytest.fixture
def controls(chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[Controls]:
    """Set the stage's controls as scripts/controls.py does; the handlers see them at once (the cache
    of the SSM provider is emptied, as its 30 s would have run out)."""
    ssm = boto3.client("ssm", region_name=REGION)
    name = f"/test/controls-{uuid.uuid4().hex}"
    ssm.put_parameter(Name=name, Type="String", Value="{}")
    monkeypatch.setenv("RUNTIME_CONTROLS_PARAMETER", name)
    deps_module.dependencies.cache_clear()

    def set_controls(**fields: Any) -> None:
        ssm.put_parameter(Name=name, Type="String", Value=json.dumps(fields), Overwrite=True)
        deps_module._ssm().clear_cache()

    yield set_controls
    deps_module._ssm().clear_cache()


def test_the_kill_switch_refuses_new_turns_with_503_the_degraded_reply_and_retry_after(
    chat_env: ChatEnv, controls: Controls
) -> None:
    assert chat("session-0001", "before").status == 200
    controls(turns_paused=True, reason="provider outage")

    answer = chat("session-0001", "while paused")

    assert answer.status == 503
    assert answer.body["message"] == DEGRADED
    assert answer.headers["Retry-After"] == "60"
    assert [i["role"] for i in chat_env.items()] == ["user", "assistant"]  # the turn before, only
    assert all(i["content"] != "while paused" for i in chat_env.items())
    assert len(chat_env.fake_llm.requests) == 1  # only the turn before the switch reached the model


def test_health_transcripts_and_erasure_keep_working_while_paused(
    chat_env: ChatEnv, controls: Controls
) -> None:
    chat("session-0001", "before")
    controls(turns_paused=True)

    assert invoke(rest_event("GET", "/health")).status == 200
    transcript = invoke(rest_event("GET", "/conversations/session-0001"))
    assert transcript.status == 200
    assert transcript.body["messages"][0]["content"] == "before"
    assert invoke(rest_event("GET", "/conversations")).status == 200
    assert invoke(rest_event("DELETE", "/conversations/session-0001")).status == 204


def test_an_answered_idempotency_key_is_replayed_while_paused(chat_env: ChatEnv, controls: Controls) -> None:
    def send() -> Any:
        return invoke(
            rest_event(
                "POST",
                "/chat",
                body={"sessionId": "session-0001", "message": "hello"},
                headers={"Idempotency-Key": "key-0001-abcdef"},
            )
        )

    first = send()
    controls(turns_paused=True)

    replay = send()

    assert replay.status == 200
    assert replay.body == first.body


def test_no_job_is_queued_while_paused_and_a_queued_one_waits_for_the_switch(
    chat_env: ChatEnv, controls: Controls
) -> None:
    queued = invoke(
        rest_event("POST", "/chat/jobs", body={"sessionId": "session-0001", "message": "queued before"})
    )
    assert queued.status == 202
    controls(turns_paused=True)

    refused = invoke(
        rest_event("POST", "/chat/jobs", body={"sessionId": "session-0001", "message": "while paused"})
    )
    worked = work_queued_jobs()

    assert refused.status == 503
    assert refused.headers["Retry-After"] == "60"
    assert len(worked["batchItemFailures"]) == 1  # back on the queue, not failed for good
    status = invoke(rest_event("GET", f"/chat/jobs/{queued.body['jobId']}"))
    assert status.body["status"] == "queued"

    controls(turns_paused=False)
    assert work_queued_jobs()["batchItemFailures"] == []
    assert invoke(rest_event("GET", f"/chat/jobs/{queued.body['jobId']}")).body["status"] == "done"


def test_the_streamed_route_is_refused_before_its_first_byte_while_paused(
    stream_api: StreamApi, chat_env: ChatEnv, controls: Controls
) -> None:
    controls(turns_paused=True)

    answer = stream_api.post("/chat/stream", {"sessionId": "session-0001", "message": "hello"})

    assert answer.status == 503
    assert answer.headers["retry-after"] == "60"
    assert answer.json()["message"] == DEGRADED
    assert chat_env.fake_llm.requests == []


def test_a_disabled_provider_is_skipped_for_the_next_one(
    chat_env: ChatEnv, controls: Controls, backup: FakeLlm
) -> None:
    controls(disabled_providers=["primary"])

    answer = chat("session-0001", "hello")

    assert answer.status == 200
    assert chat_env.fake_llm.requests == []
    assert len(backup.requests) == 1


def test_with_every_provider_disabled_turns_get_the_degraded_reply(
    chat_env: ChatEnv, controls: Controls, backup: FakeLlm
) -> None:
    controls(disabled_providers=["primary", "backup"])

    answer = chat("session-0001", "hello")

    assert answer.status == 503
    assert answer.body["message"] == DEGRADED
    assert answer.headers["Retry-After"] == "60"
    assert chat_env.fake_llm.requests == []
    assert backup.requests == []


def test_a_tiers_budget_can_be_lowered_but_not_raised(chat_env: ChatEnv, controls: Controls) -> None:
    controls(tier_daily_tokens={"free": 5_000})
    lowered = chat("session-0001", "hello")
    assert int(lowered.headers["X-Quota-Tokens-Remaining"]) < 5_000

    controls(tier_daily_tokens={"free": 10_000_000})  # above the stage's 100,000: ignored
    raised = chat("session-0001", "hello again")
    assert 5_000 < int(raised.headers["X-Quota-Tokens-Remaining"]) < 100_000


def test_a_parameter_that_cannot_be_read_leaves_the_chat_working(
    chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTIME_CONTROLS_PARAMETER", f"/test/missing-{uuid.uuid4().hex}")
    deps_module.dependencies.cache_clear()

    assert chat("session-0001", "hello").status == 200


class FakeParameter:
    def __init__(self, value: str) -> None:
        self.value: str | Exception = value
        self.fetches = 0

    def __call__(self, name: str, max_age: int) -> str:
        self.fetches += 1
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


def test_an_invalid_or_unreadable_parameter_keeps_the_last_valid_controls_and_is_not_asked_each_turn() -> (
    None
):
    parameter = FakeParameter('{"turns_paused": true, "reason": "incident"}')
    now = [0.0]
    reader = ControlsReader("/p", fetch=parameter, clock=lambda: now[0])
    assert reader.current().turns_paused

    parameter.value = '{"turns_paused": "perhaps"}'
    assert reader.current().turns_paused  # the last valid controls stay in force
    parameter.value = ControlsUnreadable()
    now[0] += CONTROLS_CACHE_SECONDS
    assert reader.current().turns_paused
    fetches = parameter.fetches
    for _ in range(5):
        assert reader.current().turns_paused
    assert parameter.fetches == fetches  # not asked again until the cache time is over

    parameter.value = '{"turns_paused": false}'
    now[0] += CONTROLS_CACHE_SECONDS
    assert not reader.current().turns_paused


def test_unknown_fields_from_a_newer_script_do_not_void_the_controls() -> None:
    reader = ControlsReader("/p", fetch=FakeParameter('{"turns_paused": true, "added_later": 1}'))

    assert reader.current().turns_paused


def test_the_controls_are_parsed_only_when_the_parameter_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    original = RuntimeControls.model_validate_json

    def counting(raw: str) -> RuntimeControls:
        parsed.append(raw)
        return original(raw)

    monkeypatch.setattr(RuntimeControls, "model_validate_json", counting)
    parameter = FakeParameter('{"turns_paused": false}')
    reader = ControlsReader("/p", fetch=parameter)
    for _ in range(5):
        assert not reader.current().turns_paused
    parameter.value = '{"turns_paused": true}'

    assert reader.current().turns_paused
    assert len(parsed) == 2
