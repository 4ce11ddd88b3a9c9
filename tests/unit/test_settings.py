"""The handler's configuration is validated once and names what is missing."""

from __future__ import annotations

import json

import pytest

from lambda_src.chat.settings import ConfigurationError, Settings

COMPLETE = {
    "STAGE": "dev",
    "TABLE_NAME": "t",
    "LLM_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:x",
    "LLM_PROVIDERS": json.dumps(
        [
            {
                "name": "openai",
                "kind": "openai",
                "model": "gpt-4o-mini",
                "base_url": "https://api.openai.com/v1",
                "timeout_seconds": 20,
            }
        ]
    ),
    "QUOTA_TIERS": json.dumps([{"name": "free", "daily_tokens": 1000, "session_requests": 10}]),
    "DEFAULT_TIER": "free",
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
    with pytest.raises(ConfigurationError, match="LLM_TIMEOUT_SECONDS"):
        Settings.from_environ({**COMPLETE, "LLM_TIMEOUT_SECONDS": "soon"})


def test_an_openai_provider_without_the_secret_is_refused() -> None:
    environ = {k: v for k, v in COMPLETE.items() if k != "LLM_SECRET_ARN"}
    with pytest.raises(ConfigurationError, match="LLM_SECRET_ARN"):
        Settings.from_environ(environ)


def test_a_default_tier_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="DEFAULT_TIER"):
        Settings.from_environ({**COMPLETE, "DEFAULT_TIER": "gold"})


def test_a_client_without_a_known_tier_gets_the_default() -> None:
    settings = Settings.from_environ(COMPLETE)
    assert settings.tier(None).name == "free"
    assert settings.tier("unknown").name == "free"


TIERS_WITH_VERIFICATION = json.dumps(
    [
        {"name": "free", "daily_tokens": 1000, "session_requests": 10},
        {"name": "verification", "daily_tokens": 100_000, "session_requests": 50},
    ]
)


def test_the_verification_key_gets_its_tier_from_the_stack_and_a_profile_still_wins() -> None:
    settings = Settings.from_environ(
        {
            **COMPLETE,
            "QUOTA_TIERS": TIERS_WITH_VERIFICATION,
            "TIER_BY_CLIENT": json.dumps({"key-verify": "verification"}),
        }
    )
    assert settings.tier(None, "key-verify").daily_tokens == 100_000
    assert settings.tier(None, "key-client").name == "free"  # any other key: the default
    assert settings.tier("free", "key-verify").name == "free"  # a profile says otherwise


def test_a_tier_by_client_that_names_no_tier_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="TIER_BY_CLIENT"):
        Settings.from_environ({**COMPLETE, "TIER_BY_CLIENT": json.dumps({"key-verify": "verification"})})
