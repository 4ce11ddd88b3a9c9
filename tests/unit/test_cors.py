"""CORS: only the configured origins get Access-Control-Allow-Origin; by default no CORS header at all."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator

import pytest

from lambda_src.chat.cors import cors_config
from lambda_src.handlers import chat as chat_handler
from tests.unit.conftest import ChatEnv, invoke, rest_event

BODY = {"sessionId": "session-0001", "message": "hi"}


@pytest.fixture
def cors_for_app_example(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The handler module as a cold start in a stage that allows https://app.example.com."""
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", json.dumps(["https://app.example.com"]))
    importlib.reload(chat_handler)
    yield
    monkeypatch.delenv("CORS_ALLOWED_ORIGINS")
    importlib.reload(chat_handler)


def test_without_allowed_origins_no_cors_header_is_sent(chat_env: ChatEnv) -> None:
    answer = invoke(rest_event("POST", "/chat", body=BODY, headers={"Origin": "https://evil.example"}))
    assert answer.status == 200
    assert not any(name.lower().startswith("access-control") for name in answer.headers)


@pytest.mark.usefixtures("cors_for_app_example")
def test_an_allowed_origin_is_echoed_and_another_is_not(chat_env: ChatEnv) -> None:
    allowed = invoke(rest_event("POST", "/chat", body=BODY, headers={"Origin": "https://app.example.com"}))
    other = invoke(rest_event("POST", "/chat", body=BODY, headers={"Origin": "https://evil.example"}))

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Retry-After" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in other.headers


def test_a_malformed_list_means_no_cors() -> None:
    assert cors_config("not json") is None
    assert cors_config("[]") is None
