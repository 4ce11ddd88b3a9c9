"""The pre sign-up trigger lets people sign up only with an address of an allowed domain."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambda_src.handlers import pre_sign_up
from lambda_src.handlers.pre_sign_up import REFUSAL, SignUpRefused, email_domain, handler


@pytest.fixture(autouse=True)
def _allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_EMAIL_DOMAINS", json.dumps(["acme.test", "partner.test"]))


def _event(email: str, source: str = "PreSignUp_SignUp") -> dict[str, Any]:
    return {"triggerSource": source, "request": {"userAttributes": {"email": email}}, "response": {}}


@pytest.mark.parametrize("email", ["ana@acme.test", "Ben@ACME.test", "c.d+chat@partner.test"])
def test_an_address_of_an_allowed_domain_signs_up(email: str) -> None:
    event = _event(email)
    assert handler(event, None) is event


@pytest.mark.parametrize(
    "email",
    [
        "mallory@evil.test",
        "eve@mail.acme.test",  # a subdomain must be listed itself
        "eve@acme.test.evil.test",
        "eve@acme.test@evil.test",
        "acme.test",
        "@acme.test",
        "eve @acme.test",
        "",
    ],
)
def test_any_other_address_is_refused_with_a_message_that_does_not_echo_it(email: str) -> None:
    with pytest.raises(SignUpRefused) as refused:
        handler(_event(email), None)
    assert str(refused.value) == REFUSAL
    assert "@" not in str(refused.value)


def test_an_event_without_an_email_is_refused() -> None:
    with pytest.raises(SignUpRefused):
        handler({"triggerSource": "PreSignUp_SignUp", "request": {"userAttributes": {}}}, None)


def test_operators_creating_users_are_not_held_to_the_list() -> None:
    event = _event("contractor@elsewhere.test", source="PreSignUp_AdminCreateUser")
    assert handler(event, None) is event


def test_domains_compare_case_insensitively() -> None:
    assert email_domain("X@Acme.Test") == "acme.test"
    assert pre_sign_up.allowed_domains() == {"acme.test", "partner.test"}
