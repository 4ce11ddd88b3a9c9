"""The handler's configuration is validated once and names what is missing."""

from __future__ import annotations

import pytest

from lambda_src.chat.settings import ConfigurationError, Settings

COMPLETE = {
    "STAGE": "dev",
    "TABLE_NAME": "t",
    "LLM_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:x",
    "LLM_BASE_URL": "https://api.openai.com/v1",
    "LLM_MODEL": "gpt-4o-mini",
    "LLM_MAX_OUTPUT_TOKENS": "512",
    "LLM_TIMEOUT_SECONDS": "20",
    "HISTORY_TURNS": "10",
    "TRANSCRIPT_RETENTION_DAYS": "7",
}


def test_complete_environment_is_parsed_into_typed_settings() -> None:
    settings = Settings.from_environ(COMPLETE)
    assert settings.llm_timeout_seconds == 20.0
    assert settings.max_message_chars == 1000


def test_a_missing_variable_is_named() -> None:
    environ = {k: v for k, v in COMPLETE.items() if k != "TABLE_NAME"}
    with pytest.raises(ConfigurationError, match="TABLE_NAME"):
        Settings.from_environ(environ)


def test_a_malformed_value_is_named() -> None:
    with pytest.raises(ConfigurationError, match="LLM_BASE_URL"):
        Settings.from_environ({**COMPLETE, "LLM_BASE_URL": "ftp://nope"})
