"""Throttles and the tiers of clients: each tier an API Gateway usage plan and the token and per-session
allowances the handler enforces; and the stage's own verification tier (part of StageConfig,
stacks/config_model.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Throttle:
    rate_limit: float  # steady-state requests per second
    burst_limit: int


@dataclass(frozen=True, kw_only=True)
class UsageTier:
    """One tier of clients: an API Gateway usage plan (throttle, requests per day) and the token and
    per-session allowances the chat handler enforces. Keys are issued per tier (scripts/issue_api_key.py)."""

    name: str
    throttle: Throttle
    requests_per_day: int
    daily_tokens: int
    session_requests_per_day: int


# The stage's own key for the checks after each deploy (make smoke, make integ): a usage plan and token
# allowance of its own, so that they never spend a client's quota. A deploy's checks take about 15 turns
# and 100 requests.
VERIFICATION_TIER = UsageTier(
    name="verification",
    throttle=Throttle(rate_limit=5, burst_limit=10),
    requests_per_day=2_000,
    daily_tokens=100_000,
    session_requests_per_day=50,
)
