"""Fault injection: two fake providers misbehave at random, seed after seed. Whatever happens, the
user's message is stored, retries stay within the cap and the deadline, and the client gets an answer,
a fallback answer or a clear 502/503 with Retry-After: never a 500 or the provider's own words."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest

from scripts.fake_llm_server import PROVIDER_ERROR_TEXT, FakeLlm
from tests.unit.conftest import ChatEnv, chat, provider_settings

SEEDS = range(24)
MAX_ATTEMPTS = 2
TIMEOUT_SECONDS = 2.5
PROVIDER_TIMEOUT_SECONDS = 0.15
# Honouring Retry-After is covered in test_resilience; here it would only add waiting.
BEHAVIOURS: list[dict[str, Any]] = [
    {"mode": "ok"},
    {"mode": "slow", "delay": 0.05},
    {"mode": "status", "status": 429},
    {"mode": "status", "status": 500},
    {"mode": "status", "status": 503},
    {"mode": "status", "status": 401},
    {"mode": "hang", "delay": 0.5},
    {"mode": "trickle", "delay": 0.5},
    {"mode": "malformed"},
]


@pytest.fixture(scope="module")
def backup_llm() -> Iterator[FakeLlm]:
    fake = FakeLlm().start()
    yield fake
    fake.stop()


@pytest.mark.parametrize("seed", SEEDS)
def test_a_misbehaving_provider_never_loses_a_message_or_leaks(
    seed: int, chat_env: ChatEnv, backup_llm: FakeLlm, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    primary, backup = chat_env.fake_llm, backup_llm
    backup.reset()
    primary.answer(**rng.choice(BEHAVIOURS))
    backup.answer(**rng.choice(BEHAVIOURS))
    monkeypatch.setenv("LLM_MAX_ATTEMPTS", str(MAX_ATTEMPTS))
    monkeypatch.setenv("LLM_RETRY_BASE_DELAY_SECONDS", "0.02")
    monkeypatch.setenv("LLM_TIMEOUT_SECONDS", str(TIMEOUT_SECONDS))
    monkeypatch.setenv(
        "LLM_PROVIDERS",
        json.dumps(
            [
                provider_settings("primary", primary.base_url, PROVIDER_TIMEOUT_SECONDS),
                provider_settings("backup", backup.base_url, PROVIDER_TIMEOUT_SECONDS),
            ]
        ),
    )
    message = f"question for seed {seed}"

    started = time.monotonic()
    answer = chat("session-0001", message)
    elapsed = time.monotonic() - started

    assert answer.status in (200, 502, 503), answer.body
    if answer.status == 503:
        assert 1 <= int(answer.headers["Retry-After"]) <= 120
    if answer.status != 200:
        assert set(answer.body) == {"message", "requestId"}
    assert PROVIDER_ERROR_TEXT not in json.dumps(answer.body)
    assert [i["content"] for i in chat_env.items() if i["role"] == "user"] == [message]
    assert len(primary.requests) <= MAX_ATTEMPTS
    assert len(backup.requests) <= MAX_ATTEMPTS
    assert elapsed < TIMEOUT_SECONDS + 1.0
