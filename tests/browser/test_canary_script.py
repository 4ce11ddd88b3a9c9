"""The canary's script (canary/python/chat_canary.py) over real HTTP against make dev's server: a working
stage passes every step and keeps no transcript of the turn; a refused key fails the run."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.browser.conftest import API_KEY
from tests.canary_module import load_canary

# Starts a server in a process of its own: make test-e2e runs it.
pytestmark = pytest.mark.e2e

canary = load_canary()


def test_the_canary_passes_against_a_working_stage_and_erases_its_turn(server: str) -> None:
    sessions: list[str] = []

    def recording(method: str, url: str, **kwargs: object) -> tuple[int, dict[str, object]]:
        body = kwargs.get("body")
        if isinstance(body, dict):
            sessions.append(str(body["sessionId"]))
        return canary.call(method, url, **kwargs)

    steps = canary.probe(server, canary.CanaryKey("key-id", lambda _: API_KEY), http=recording)

    assert all(s.ok for s in steps), canary.report(steps)
    assert [s.name for s in steps] == ["health", "deep health", "chat", "erase"]
    (session,) = sessions
    request = urllib.request.Request(  # noqa: S310 - the loopback dev server
        f"{server}/api/conversations/{session}", headers={"x-api-key": API_KEY}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert json.loads(response.read())["messages"] == []  # the turn was answered, then erased


def test_a_refused_key_fails_the_run(server: str) -> None:
    steps = canary.probe(server, canary.CanaryKey("key-id", lambda _: "wrong-key"))

    failed = [s.name for s in steps if not s.ok]
    assert failed == ["deep health", "chat", "erase"]
    assert {s.status for s in steps if not s.ok} == {403}
