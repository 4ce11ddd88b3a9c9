"""The cold-start benchmark keeps working as the handler changes (it prints figures; nothing is timed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Starts a browser, a server or a tool in a process of its own: make test-e2e runs it.
pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]


def _run(module: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", module, *arguments], capture_output=True, text=True, cwd=REPO_ROOT, check=False
    )


def test_the_benchmark_runs_and_prints_its_figures() -> None:
    result = _run("scripts.measure_cold_start", "--runs", "1", "--turns", "5")
    assert result.returncode == 0, result.stderr
    assert "import boto3" in result.stdout
    assert "per-turn handler overhead" in result.stdout
    assert "AWS calls per turn, counted" in result.stdout
    follow_up = next(line for line in result.stdout.splitlines() if "follow-up turn" in line)
    assert "2 + 1 = 3" in follow_up, follow_up


def test_the_streaming_benchmark_runs_and_prints_its_figures() -> None:
    result = _run("scripts.measure_streaming", "--turns", "3", "--words", "4", "--token-ms", "5")
    assert result.returncode == 0, result.stderr
    assert "time to first token the stack adds over the provider's own: p50" in result.stdout
    assert "overhead per token" in result.stdout
    assert "buffered POST /chat, same reply: time to first byte" in result.stdout
