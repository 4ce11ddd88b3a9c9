"""The canary's run (canary/python/chat_canary.py), against a stubbed HTTP: what it checks, what fails it,
what it logs, and what it leaves behind."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.canary_module import load_canary

SITE = "https://chat.example.com"
KEY_VALUE = "canary-key-value-0123456789"


canary = load_canary()

HEALTHY_DEEP = {
    "status": "ok",
    "table": "ok",
    "secret": "ok",
    "providers": {"openai": "ok", "bedrock": "ok"},
    "turns": "admitted",
}


class FakeStage:
    """Answers like a healthy stage unless told otherwise; records every request."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.answers: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {
            ("GET", "/api/health"): (200, {"status": "ok", "version": "1"}),
            ("GET", "/api/health/deep"): (200, dict(HEALTHY_DEEP)),
            ("POST", "/api/chat"): (200, {"reply": "OK", "usage": {"totalTokens": 20}}),
            ("DELETE", "/api/conversations/*"): (204, {}),
        }

    def __call__(
        self, method: str, url: str, *, timeout: float, api_key: str | None = None, body: Any = None
    ) -> tuple[int, dict[str, Any]]:
        assert url.startswith(SITE + "/api/")
        path = url.removeprefix(SITE)
        self.calls.append({"method": method, "path": path, "key": api_key, "body": body, "timeout": timeout})
        route = "/api/conversations/*" if path.startswith("/api/conversations/") else path
        return self.answers[(method, route)]


class KeyReader:
    def __init__(self) -> None:
        self.reads: list[str] = []

    def __call__(self, key_id: str) -> str:
        self.reads.append(key_id)
        return KEY_VALUE


@pytest.fixture
def stage() -> FakeStage:
    return FakeStage()


@pytest.fixture
def reader() -> KeyReader:
    return KeyReader()


def _run(stage: FakeStage, reader: KeyReader) -> list[Any]:
    return list(canary.probe(SITE, canary.CanaryKey("key-id-1", reader), http=stage))


def test_a_healthy_stage_passes_every_step_and_the_turn_is_erased(
    stage: FakeStage, reader: KeyReader
) -> None:
    steps = _run(stage, reader)

    assert [(s.name, s.ok) for s in steps] == [
        ("health", True),
        ("deep health", True),
        ("chat", True),
        ("erase", True),
    ]
    health, deep, chat, erase = stage.calls
    assert health["key"] is None  # the liveness probe needs no key
    assert deep["key"] == chat["key"] == erase["key"] == KEY_VALUE
    session = chat["body"]["sessionId"]
    assert session.startswith("canary-")
    assert erase["path"] == f"/api/conversations/{session}"
    # the whole run fits the canary's timeout
    assert sum(c["timeout"] for c in stage.calls) < 90


def test_every_turn_is_new_so_no_reply_cache_can_answer_it(stage: FakeStage, reader: KeyReader) -> None:
    _run(stage, reader)
    _run(stage, reader)

    first, second = [c["body"] for c in stage.calls if c["path"] == "/api/chat"]
    assert first["message"] != second["message"]
    assert first["sessionId"] != second["sessionId"]


def test_the_key_is_read_once_per_container_and_again_after_a_403(
    stage: FakeStage, reader: KeyReader
) -> None:
    key = canary.CanaryKey("key-id-1", reader)
    canary.probe(SITE, key, http=stage)
    canary.probe(SITE, key, http=stage)
    assert reader.reads == ["key-id-1"]

    stage.answers[("POST", "/api/chat")] = (403, {"message": "Forbidden"})
    steps = canary.probe(SITE, key, http=stage)
    assert not next(s for s in steps if s.name == "chat").ok
    stage.answers[("POST", "/api/chat")] = (200, {"reply": "OK"})
    canary.probe(SITE, key, http=stage)
    assert reader.reads == ["key-id-1", "key-id-1"]


def test_a_broken_part_fails_the_run_and_is_named(stage: FakeStage, reader: KeyReader) -> None:
    stage.answers[("GET", "/api/health/deep")] = (
        503,
        {**HEALTHY_DEEP, "status": "unhealthy", "providers": {"openai": "rejected", "bedrock": "disabled"}},
    )
    steps = _run(stage, reader)

    deep = next(s for s in steps if s.name == "deep health")
    assert not deep.ok
    assert deep.detail == "provider openai rejected"  # a provider turned off is not a fault
    # later steps still run, so one run names everything that is broken
    assert [s.name for s in steps] == ["health", "deep health", "chat", "erase"]


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        ((502, {"message": "The assistant is unavailable", "requestId": "r-1"}), "(request r-1)"),
        ((200, {"reply": "   "}), ""),  # an empty reply is no answer
        ((0, {"error": "TimeoutError"}), "TimeoutError"),
    ],
)
def test_a_turn_that_is_not_answered_fails_the_run(
    stage: FakeStage, reader: KeyReader, answer: tuple[int, dict[str, Any]], detail: str
) -> None:
    stage.answers[("POST", "/api/chat")] = answer
    steps = _run(stage, reader)

    chat = next(s for s in steps if s.name == "chat")
    assert not chat.ok
    assert chat.detail.endswith(detail) if detail else chat.detail == ""
    assert any(c["method"] == "DELETE" for c in stage.calls)  # whatever the turn left is erased


def test_a_refused_deep_probe_says_what_the_api_said(stage: FakeStage, reader: KeyReader) -> None:
    stage.answers[("GET", "/api/health/deep")] = (429, {"message": "Too Many Requests"})
    steps = _run(stage, reader)

    deep = next(s for s in steps if s.name == "deep health")
    assert (deep.ok, deep.status, deep.detail) == (False, 429, "Too Many Requests")


def test_the_kill_switch_skips_the_turn_without_failing(stage: FakeStage, reader: KeyReader) -> None:
    stage.answers[("GET", "/api/health/deep")] = (200, {**HEALTHY_DEEP, "turns": "paused"})
    steps = _run(stage, reader)

    assert all(s.ok for s in steps)
    assert "kill switch" in steps[-1].detail
    assert [c["method"] for c in stage.calls] == ["GET", "GET"]  # no turn, nothing to erase


def test_an_unreadable_key_fails_the_run_by_name(stage: FakeStage) -> None:
    def denied(key_id: str) -> str:
        raise PermissionError("AccessDenied")

    steps = canary.probe(SITE, canary.CanaryKey("key-id-1", denied), http=stage)

    assert (steps[-1].name, steps[-1].ok) == ("api key", False)
    assert "PermissionError" in steps[-1].detail
    assert len(stage.calls) == 1  # health only


@pytest.fixture
def handler_env(monkeypatch: pytest.MonkeyPatch, stage: FakeStage, reader: KeyReader) -> None:
    monkeypatch.setenv("SITE_URL", SITE)
    monkeypatch.setenv("API_KEY_ID", "key-id-1")
    monkeypatch.setattr(canary, "read_api_key", reader)
    monkeypatch.setattr(canary, "call", stage)
    monkeypatch.setattr(canary, "_KEY", None)


@pytest.mark.usefixtures("handler_env")
def test_the_handler_raises_on_a_failed_step_and_logs_no_key_or_text(
    stage: FakeStage, capsys: pytest.CaptureFixture[str]
) -> None:
    stage.answers[("POST", "/api/chat")] = (200, {"reply": "a reply that must not be logged"})
    assert "chat ok" in canary.handler({}, None)

    stage.answers[("GET", "/api/health")] = (503, {"message": "down"})
    with pytest.raises(canary.CanaryFailed, match="health FAILED"):
        canary.handler({}, None)

    logged = capsys.readouterr().out
    lines = [json.loads(line) for line in logged.splitlines()]
    assert {line["step"] for line in lines} == {"health", "deep health", "chat", "erase"}
    assert KEY_VALUE not in logged
    assert "must not be logged" not in logged
    assert "Canary check" not in logged  # the message sent
