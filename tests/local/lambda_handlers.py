"""Handlers for tests/local/test_dev_lambda.py, imported by the dev server's containers by name."""

from __future__ import annotations

import os
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("crash"):
        os._exit(1)  # the container dies, as a Lambda runtime does on a segfault or out of memory
    if event.get("raise"):
        raise RuntimeError("a bug")
    return {"pid": os.getpid(), "remaining_ms": context.get_remaining_time_in_millis()}
