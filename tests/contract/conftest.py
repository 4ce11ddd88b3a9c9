"""The contract a client relies on, checked against a running deployment (tests/contract/target.py).
Every session a test opens is erased at its end, which erases its turns, jobs and idempotency records."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from stacks.config import STAGES
from tests.contract.target import ApiKey, Target, from_environment, new_session_id
from tests.dev_process import dev_server


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    configured = from_environment()
    if configured is not None:
        yield configured
        return
    key = secrets.token_urlsafe(24)
    with dev_server("--api-key", key) as base:
        yield Target(base + "/api", ApiKey(key), "dev server", "local", STAGES["dev"])


@pytest.fixture
def session(target: Target) -> Iterator[str]:
    """A session id of this test's own, erased afterwards whatever the test did with it."""
    session_id = new_session_id()
    yield session_id
    erased = target.call("DELETE", f"/conversations/{session_id}")
    assert erased.status == 204, f"clean-up: DELETE /conversations/{session_id} answered {erased.status}"
