"""The figures on-call needs arrive as EMF metrics: latency, tokens, provider errors by provider and kind,
fallbacks, circuit state, quota rejections."""

from __future__ import annotations

import json

import pytest

from scripts.fake_llm_server import FakeLlm
from tests.unit.conftest import ChatEnv, chat


def _emf(output: str) -> list[dict]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{") and '"_aws"' in line]
    return lines


def _metric(records: list[dict], name: str) -> list[dict]:
    return [r for r in records if name in r]


@pytest.fixture
def backup(backup: FakeLlm, monkeypatch: pytest.MonkeyPatch) -> FakeLlm:
    """conftest's second provider, with a breaker that opens on the first failure."""
    monkeypatch.setenv("BREAKER_FAILURE_THRESHOLD", "1")
    return backup


def test_a_turn_reports_latency_and_tokens(chat_env: ChatEnv, capsys: pytest.CaptureFixture[str]) -> None:
    chat("session-0001", "hello")
    records = _emf(capsys.readouterr().out)
    (turn,) = _metric(records, "ChatTurns")
    assert turn["LlmLatency"][0] > 0
    assert turn["InputTokens"][0] > 0
    assert turn["OutputTokens"][0] > 0
    # ...and by the caller's tier, for the product owner's figures.
    (by_tier,) = _metric(records, "TurnsByTier")
    (tokens,) = _metric(records, "TokensByTier")
    assert (by_tier["tier"], by_tier["TurnsByTier"]) == ("free", [1.0])
    assert ["tier", "service"] in by_tier["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert tokens["TokensByTier"] == [turn["InputTokens"][0] + turn["OutputTokens"][0]]


def test_provider_errors_fallback_and_circuit_are_dimensioned_by_provider(
    chat_env: ChatEnv, backup: FakeLlm, capsys: pytest.CaptureFixture[str]
) -> None:
    chat_env.fake_llm.answer(mode="status", status=503)

    assert chat("session-0001", "first").status == 200  # answered by the backup
    assert chat("session-0001", "second").status == 200  # primary's circuit is open: straight to backup

    records = _emf(capsys.readouterr().out)
    (error,) = _metric(records, "ProviderErrors")
    assert (error["provider"], error["kind"]) == ("primary", "server_error")
    assert [r["provider"] for r in _metric(records, "FallbackUsed")] == ["backup", "backup"]
    assert [r["provider"] for r in _metric(records, "CircuitOpened") if "provider" in r] == ["primary"]
    assert [r["provider"] for r in _metric(records, "CircuitOpenSkips")] == ["primary"]
    assert len(chat_env.fake_llm.requests) == 1
    # undimensioned twins, for the alarms
    assert _metric(records, "LlmProviderErrors")
    assert [r for r in _metric(records, "CircuitOpened") if "provider" not in r]


def test_quota_rejections_are_counted(
    chat_env: ChatEnv, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        "QUOTA_TIERS", json.dumps([{"name": "free", "daily_tokens": 10, "session_requests": 5}])
    )
    assert chat("session-0001", "hello").status == 429
    assert _metric(_emf(capsys.readouterr().out), "QuotaRejected")
