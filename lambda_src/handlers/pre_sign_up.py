"""Cognito pre sign-up trigger: people may create an account on the chat page only with an e-mail address
of an allowed domain (ALLOWED_EMAIL_DOMAINS, a JSON list). Operators creating users are always allowed.

Standard library only, and nothing is logged: the event carries the person's e-mail address.
"""

from __future__ import annotations

import json
import os
from typing import Any

REFUSAL = "Sign-up is open to e-mail addresses of approved organisations only."


class SignUpRefused(Exception):
    """Cognito answers the sign-up with 'PreSignUp failed with error <this message>'."""


def allowed_domains() -> frozenset[str]:
    return frozenset(d.lower() for d in json.loads(os.environ["ALLOWED_EMAIL_DOMAINS"]))


def email_domain(email: str) -> str | None:
    """The domain of an address, lower-cased; None if it is not one address (a@b@c, no @, empty parts)."""
    local, at, domain = email.strip().partition("@")
    if not at or not local or not domain or "@" in domain or any(c.isspace() for c in email.strip()):
        return None
    return domain.lower()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("triggerSource") == "PreSignUp_AdminCreateUser":
        return event
    email = (event.get("request") or {}).get("userAttributes", {}).get("email", "")
    if email_domain(str(email)) not in allowed_domains():
        raise SignUpRefused(REFUSAL)
    return event
