"""Runtime controls: what operators change on a running stage without a deploy. Every chat, stream and
worker container reads them from one SSM parameter (RUNTIME_CONTROLS_PARAMETER, a JSON document that
scripts/controls.py and the budget action write), cached for CONTROLS_CACHE_SECONDS, so a change is in
force everywhere within a minute.

- ``turns_paused``, the kill switch: every new turn (chat, stream, job) answers 503 with the degraded
  reply and Retry-After. Health, transcripts, the session list, erasure, job status and the replay of an
  already answered Idempotency-Key keep working; queued jobs wait (they are retried, then dead-lettered,
  and scripts/redrive.py brings them back).
- ``disabled_providers``: skipped by failover, as an open circuit would be; with all of them off, turns
  answer 503 with the degraded reply.
- ``tier_daily_tokens``: a lower daily token budget for a tier. Never a higher one: the effective budget
  is the smaller of this and the stage's config, so raising a budget stays a reviewed deploy.

A parameter that cannot be read, or does not parse, leaves the last valid controls in force (none after
a cold start) and is counted (RuntimeControlsUnreadable): the brake must never become the outage.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError

from lambda_src.chat.telemetry import count

logger = Logger(child=True)

CONTROLS_CACHE_SECONDS = 30
# What a paused stage tells callers: the switch is for incidents that last minutes, not seconds.
PAUSED_RETRY_AFTER_SECONDS = 60


class RuntimeControls(BaseModel):
    # Fields a newer script adds are ignored by older functions rather than voiding the whole document.
    model_config = ConfigDict(frozen=True, extra="ignore")

    turns_paused: bool = False
    reason: str = Field(default="", max_length=200)
    disabled_providers: frozenset[str] = frozenset()
    tier_daily_tokens: dict[str, PositiveInt] = Field(default_factory=dict)
    changed_by: str = Field(default="", max_length=200)
    changed_at: str = Field(default="", max_length=40)

    def daily_tokens(self, tier: str, configured: int) -> int:
        """The tier's budget in force: the stage's, or a lower one set here."""
        return min(configured, self.tier_daily_tokens.get(tier, configured))

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


class TurnsPaused(Exception):
    """The stage's kill switch is on: no new turn is admitted."""

    retry_after = PAUSED_RETRY_AFTER_SECONDS


class ControlsUnreadable(Exception):
    """The parameter could not be fetched (throttled, denied, unreachable)."""


@dataclass
class ControlsReader:
    """The controls in force. ``fetch(name, max_age)`` returns the parameter's raw value (Powertools
    caches it for ``max_age`` seconds) or raises ControlsUnreadable."""

    parameter_name: str
    fetch: Callable[[str, int], str]
    clock: Callable[[], float] = time.monotonic
    _last: RuntimeControls = field(default_factory=RuntimeControls)
    _last_raw: str | None = None
    _retry_at: float = float("-inf")

    def current(self) -> RuntimeControls:
        if not self.parameter_name or self.clock() < self._retry_at:
            return self._last
        try:
            raw = self.fetch(self.parameter_name, CONTROLS_CACHE_SECONDS)
            # Read twice a turn (admission, failover) from Powertools' cache: parsed only when it changed.
            if raw == self._last_raw:
                return self._last
            controls = RuntimeControls.model_validate_json(raw)
        except (ControlsUnreadable, ValidationError) as error:
            # Not asked again until the cache time is over: an unreachable SSM must not slow every turn.
            self._retry_at = self.clock() + CONTROLS_CACHE_SECONDS
            count("RuntimeControlsUnreadable")
            logger.error(
                "runtime controls unreadable; the last valid ones stay in force",
                extra={"error": type(error).__name__, "paused": self._last.turns_paused},
            )
            return self._last
        self._last, self._last_raw = controls, raw
        return controls
