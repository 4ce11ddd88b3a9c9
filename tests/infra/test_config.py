"""Stage configuration: one frozen object per stage, and how account and region are chosen."""

from __future__ import annotations

import dataclasses
import json

import pytest

from scripts.check_deployable import main
from stacks.config import PLACEHOLDER_ACCOUNTS, STAGES, CustomDomain, SignUp, Throttle, resolve_environment


def test_the_three_stages_are_configured() -> None:
    assert set(STAGES) == {"dev", "staging", "prod"}


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        STAGES["dev"].lambda_memory_mb = 10_000  # type: ignore[misc]


def test_context_overrides_account_and_region() -> None:
    config = resolve_environment(
        STAGES["prod"], context_account="444455556666", context_region="eu-west-1", default_account="1"
    )
    assert (config.account, config.region) == ("444455556666", "eu-west-1")


def test_cli_credentials_fill_in_only_a_placeholder_account() -> None:
    assert STAGES["dev"].account in PLACEHOLDER_ACCOUNTS
    dev = resolve_environment(STAGES["dev"], default_account="777788889999", default_region="eu-central-1")
    assert (dev.account, dev.region) == ("777788889999", "eu-central-1")

    pinned = dataclasses.replace(STAGES["prod"], account="123456789012")
    prod = resolve_environment(pinned, default_account="777788889999", default_region="eu-central-1")
    assert (prod.account, prod.region) == ("123456789012", pinned.region)


def test_without_overrides_the_config_is_used_as_is() -> None:
    assert resolve_environment(STAGES["staging"]) == STAGES["staging"]


def test_a_lambda_timeout_beyond_api_gateways_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="integration limit"):
        dataclasses.replace(STAGES["dev"], lambda_timeout_seconds=28)


def test_an_llm_timeout_longer_than_the_lambda_timeout_is_refused() -> None:
    llm = dataclasses.replace(STAGES["dev"].llm, timeout_seconds=24)
    with pytest.raises(ValueError, match=r"llm\.timeout_seconds"):
        dataclasses.replace(STAGES["dev"], llm=llm)


def test_an_unsupported_log_retention_is_refused() -> None:
    with pytest.raises(ValueError, match="log_retention_days"):
        dataclasses.replace(STAGES["dev"], log_retention_days=8)


def test_a_provider_timeout_that_leaves_no_room_to_fail_over_is_refused() -> None:
    provider = dataclasses.replace(STAGES["dev"].llm.providers[0], timeout_seconds=20)
    with pytest.raises(ValueError, match="75 %"):
        dataclasses.replace(STAGES["dev"].llm, providers=(provider,))


def test_prod_without_a_custom_domain_is_refused() -> None:
    """CloudFront's default certificate keeps a security policy that accepts TLS 1.0."""
    edge = dataclasses.replace(STAGES["prod"].edge, custom_domain=None)
    with pytest.raises(ValueError, match="custom_domain is required"):
        dataclasses.replace(STAGES["prod"], edge=edge)


def test_a_stage_with_the_placeholder_domain_cannot_be_deployed() -> None:
    assert STAGES["prod"].edge.custom_domain is not None
    assert STAGES["prod"].deployable_problems  # the shipped prod carries the placeholder zone
    assert main(["check_deployable", "prod"]) == 1
    real = dataclasses.replace(
        STAGES["prod"].edge,
        custom_domain=CustomDomain(
            domain_name="chat.acme.test", hosted_zone_id="Z0123456789ABCDEFGHIJ", hosted_zone_name="acme.test"
        ),
    )
    assert dataclasses.replace(STAGES["prod"], edge=real).deployable_problems == []
    assert main(["check_deployable", "dev"]) == 0
    assert main(["check_deployable", "nope"]) == 2


def test_a_stage_whose_sign_up_allow_list_is_the_placeholder_cannot_be_deployed() -> None:
    (problem,) = STAGES["staging"].deployable_problems
    assert "email_domains" in problem
    assert main(["check_deployable", "staging"]) == 1
    real = dataclasses.replace(
        STAGES["staging"], sign_up=SignUp(mode="email_domains", email_domains=("acme.test",))
    )
    assert real.deployable_problems == []


@pytest.mark.parametrize("name", list(STAGES))
def test_the_longest_message_fits_the_edge_body_limit_however_it_is_escaped(name: str) -> None:
    config = STAGES[name]
    body = json.dumps({"sessionId": "s" * 128, "message": "\U0001f600" * config.max_message_chars})
    assert "\\ud83d" in body  # escaped as a surrogate pair: 12 bytes for one character
    assert len(body.encode()) <= config.edge.max_chat_body_bytes


def test_the_verification_tier_is_no_client_tier_and_the_edge_admits_its_rate() -> None:
    dev = STAGES["dev"]
    clashing = dataclasses.replace(dev.verification_tier, name=dev.default_tier)
    with pytest.raises(ValueError, match="verification tier"):
        dataclasses.replace(dev, verification_tier=clashing)
    faster_than_the_edge = dataclasses.replace(
        dev.verification_tier, throttle=Throttle(rate_limit=10_000, burst_limit=20_000)
    )
    with pytest.raises(ValueError, match="fastest tier"):
        dataclasses.replace(dev, verification_tier=faster_than_the_edge)
