"""Cognito's authorize and token endpoints, just enough for the chat page's PKCE sign-in to run on
localhost (scripts/dev_server.py --fake-sign-in and the browser test). Never for production: the ID
tokens it issues are unsigned.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
from typing import Any

PREFIX = "/fake-sign-in"
JSON = {"Content-Type": "application/json"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def id_token(email: str) -> str:
    """An unsigned JWT-shaped token: the dev server reads its claims; nothing else accepts it."""
    header = _b64(json.dumps({"alg": "none"}).encode())
    payload = _b64(json.dumps({"sub": "dev-user-" + email.split("@")[0], "email": email}).encode())
    return f"{header}.{payload}."


def claims(token: str) -> dict[str, Any]:
    try:
        payload = token.split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except (IndexError, ValueError):
        return {}


def answer(
    method: str, path: str, query: dict[str, str], form: dict[str, str]
) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, headers) for one request under PREFIX."""
    if path == "/oauth2/authorize" and query.get("code_challenge_method") == "S256":
        # The code is the challenge itself, so the token endpoint can check the verifier against it.
        state = urllib.parse.quote(query.get("state", ""))
        return 302, b"", {"Location": f"{query['redirect_uri']}?code={query['code_challenge']}&state={state}"}
    if path == "/oauth2/token" and method == "POST":
        challenge = _b64(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
        if challenge != form.get("code"):
            return 400, b'{"error": "invalid_grant"}', JSON
        body = json.dumps({"id_token": id_token("person@example.com"), "token_type": "Bearer"})
        return 200, body.encode(), JSON
    if path == "/logout":
        return 302, b"", {"Location": query.get("logout_uri", "/")}
    return 404, b"Not found", {"Content-Type": "text/plain"}
