"""scripts/smoke.py against make dev's server: passes with the right key, fails (exit 1) without."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.browser.conftest import API_KEY
from tests.dev_process import REPO_ROOT

# Starts a browser, a server or a tool in a process of its own: make test-e2e runs it.
pytestmark = pytest.mark.e2e


def _smoke(base: str, key: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-m", "scripts.smoke", "--base-url", base, "--api-key", key],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
        timeout=60,
    )


def test_the_smoke_test_passes_against_a_working_deployment(server: str) -> None:
    result = _smoke(server, API_KEY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "smoke test passed" in result.stdout
    assert "POST /api/chat/stream -> 200 (first token" in result.stdout
    assert "ends with done" in result.stdout
    assert API_KEY not in result.stdout + result.stderr


def test_the_smoke_test_fails_when_chat_is_refused(server: str) -> None:
    result = _smoke(server, "wrong-key")
    assert result.returncode == 1
    assert "POST /api/chat   -> 403" in result.stdout
