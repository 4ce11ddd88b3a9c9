"""The X-Ray SDK (about 150 ms of cold start) is imported only where a stage wants its subsegments."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import sys, lambda_src.handlers.chat; "
    "print('aws_xray_sdk' in sys.modules, 'lambda_src.chat.idempotency' in sys.modules)"
)


@pytest.mark.parametrize(("disabled", "expect_xray"), [("true", "False"), ("false", "True")])
def test_the_xray_sdk_is_imported_only_when_tracing_is_on(disabled: str, expect_xray: str) -> None:
    env = {
        **os.environ,
        "POWERTOOLS_TRACE_DISABLED": disabled,
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "Chatbot",
    }
    out = subprocess.run(  # noqa: S603 - our own interpreter and a fixed probe
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, cwd=REPO_ROOT, env=env
    ).stdout.split()
    assert out == [expect_xray, "False"]  # idempotency loads only for requests with the header
