"""CORS for browser code on other origins, from the stage's allow-list (the page is same-origin)."""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import CORSConfig

ALLOW_HEADERS = ["Content-Type", "x-api-key", "Authorization", "Idempotency-Key"]
# What a browser client needs to read: when to retry and how much quota is left.
EXPOSE_HEADERS = ["Retry-After", "X-Quota-Tokens-Remaining", "X-Quota-Session-Requests-Remaining"]


def cors_config(allowed_origins_json: str) -> CORSConfig | None:
    """None when no origin is allowed: responses then carry no CORS header at all."""
    try:
        origins = [str(o) for o in json.loads(allowed_origins_json or "[]")]
    except ValueError:
        origins = []  # Settings reports the malformed variable on the first request
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=origins[1:],
        allow_headers=ALLOW_HEADERS,
        expose_headers=EXPOSE_HEADERS,
        max_age=3600,
    )
