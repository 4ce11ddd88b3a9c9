"""Configuration of the stage's probe from outside: a CloudWatch Synthetics canary that calls the stage
through CloudFront on a schedule, as a client would (stacks/constructs/stage_canary.py runs
canary/python/chat_canary.py).

Each run makes one request without a key (GET /api/health) and KEYED_REQUESTS_PER_RUN with the canary's
own key: GET /api/health/deep, one POST /api/chat in a new session, and the DELETE that erases it. That key
is on the stage's verification tier, whose usage plan gives each key its own daily request quota.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.config_tiers import UsageTier

KEYED_REQUESTS_PER_RUN = 3
MINUTES_PER_DAY = 24 * 60
# How long one run may take (the canary's timeout): its four requests wait at most 5 + 10 + 30 + 10 s.
RUN_TIMEOUT_SECONDS = 90
# Synthetics takes 1-255 characters of lower-case letters, digits, - and _; 21 (its limit until 2024)
# keeps the name short in the function and log group names Synthetics derives from it.
MAX_CANARY_NAME = 21
CANARY_NAME_CHARACTERS = re.compile(r"[0-9a-z_-]+")


@dataclass(frozen=True, kw_only=True)
class CanaryConfig:
    enabled: bool = False
    every_minutes: int = 5
    # Consecutive failed (or missing) runs that page on-call.
    failed_runs_to_alarm: int = 2
    # How long Synthetics keeps each run's result and the results bucket keeps its files.
    keep_results_days: int = 14

    def runs_per_day(self) -> float:
        return MINUTES_PER_DAY / self.every_minutes

    def problems(self, stage: str, tier: UsageTier, *, block_hosting_providers: bool) -> list[str]:
        if not self.enabled:
            return []
        found = []
        if self.every_minutes * 60 < RUN_TIMEOUT_SECONDS or self.every_minutes > 60:
            found.append(
                f"{stage}: canary.every_minutes must be 2-60 (a run may take {RUN_TIMEOUT_SECONDS} s)"
            )
        if self.failed_runs_to_alarm < 1:
            found.append(f"{stage}: canary.failed_runs_to_alarm must be at least 1")
        if not 1 <= self.keep_results_days <= 455:
            found.append(f"{stage}: canary.keep_results_days must be 1-455 (what Synthetics keeps)")
        name = canary_name(stage)
        if len(name) > MAX_CANARY_NAME or not CANARY_NAME_CHARACTERS.fullmatch(name):
            found.append(
                f"{stage}: the canary's name {name!r} must be {MAX_CANARY_NAME} lower-case letters, digits, "
                "- or _ at most (rename the stage)"
            )
        keyed = KEYED_REQUESTS_PER_RUN * self.runs_per_day()
        if keyed > tier.requests_per_day:
            found.append(
                f"{stage}: the canary would make {keyed:.0f} keyed requests a day, more than the "
                f"{tier.name} tier's requests_per_day ({tier.requests_per_day}); run it less often"
            )
        if block_hosting_providers:
            found.append(
                f"{stage}: the canary runs from AWS addresses, which edge.block_hosting_providers blocks; "
                "turn one of them off"
            )
        return found


def canary_name(stage: str) -> str:
    """The canary's name: fixed by the stage, so that the service stack's dashboard can show its metrics
    without a reference to the web stack, which creates it."""
    return f"chatbot-{stage}"
