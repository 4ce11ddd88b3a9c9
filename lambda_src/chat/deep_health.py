"""GET /health/deep: can this stage answer a turn? It reads the table, the LLM key and each provider,
without spending a token, and says which part fails. An API key is required, and the answer is kept
DEEP_HEALTH_CACHE_SECONDS per container, so calling it often costs one small read and a few requests
a container per half-minute, however hard it is called.

- table: a GetItem of a key that never exists (half a read unit);
- secret: the LLM key read through the container's cache (where a provider needs one);
- each provider: OpenAI-compatible, GET {base_url}/models with the key (lists models, no tokens);
  Bedrock, a Converse call with no message, which Bedrock refuses as invalid after it has authorized
  the caller (no tokens; a refusal that names the model, such as an invalid id, is a failure);
- the runtime controls: the kill switch's state, reported, never a failure; a provider turned off is
  "disabled", neither probed nor counted.

200 when the table and the key are readable and at least one provider answers; 503 otherwise. Each
part is "ok", "rejected" (the provider refuses the key or the role) or "unavailable"; no error text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger

logger = Logger(child=True)

DEEP_HEALTH_CACHE_SECONDS = 30
PROBE_TIMEOUT_SECONDS = 3.0
OK, REJECTED, UNAVAILABLE, DISABLED = "ok", "rejected", "unavailable", "disabled"
PROBE_KEY = {"pk": "HEALTH#probe", "sk": "HEALTH"}  # never written: reading it costs half a unit

Check = Callable[[], str]


@dataclass
class DeepHealth:
    table: Check
    secret: Check | None  # None: no provider needs a key
    providers: Mapping[str, Check]
    turns_paused: Callable[[], bool]
    # Providers an operator turned off (runtime controls): not probed, not counted.
    disabled: Callable[[], Collection[str]] = tuple
    clock: Callable[[], float] = time.monotonic
    _cached: tuple[float, int, dict[str, Any]] | None = field(default=None, repr=False)

    def report(self) -> tuple[int, dict[str, Any]]:
        """(status, body), measured at most once per DEEP_HEALTH_CACHE_SECONDS."""
        now = self.clock()
        if self._cached is not None and now - self._cached[0] < DEEP_HEALTH_CACHE_SECONDS:
            return self._cached[1], self._cached[2]
        parts = {"table": _run("table", self.table)}
        if self.secret is not None:
            parts["secret"] = _run("secret", self.secret)
        off = self.disabled()
        providers = {
            name: DISABLED if name in off else _run(f"provider {name}", check)
            for name, check in self.providers.items()
        }
        healthy = all(v == OK for v in parts.values()) and OK in providers.values()
        body = {
            "status": "ok" if healthy else "unhealthy",
            **parts,
            "providers": providers,
            "turns": "paused" if self.turns_paused() else "admitted",
        }
        status = 200 if healthy else 503
        self._cached = (now, status, body)
        return status, body


def _run(name: str, check: Check) -> str:
    try:
        return check()
    except Exception as error:  # a probe's failure is an answer, whatever it was
        logger.warning("deep health check failed", extra={"check": name, "error": type(error).__name__})
        return UNAVAILABLE


def table_check(table: Any) -> Check:
    def check() -> str:
        table.get_item(Key=PROBE_KEY)
        return OK

    return check


def secret_check(read_key: Callable[[], str]) -> Check:
    def check() -> str:
        return OK if read_key() else UNAVAILABLE

    return check


def openai_check(base_url: str, read_key: Callable[[], str], http: Any) -> Check:
    """``http``: a urllib3 PoolManager."""
    import urllib3

    def check() -> str:
        response = http.request(
            "GET",
            base_url.rstrip("/") + "/models",
            headers={"Authorization": f"Bearer {read_key()}"},
            timeout=urllib3.Timeout(total=PROBE_TIMEOUT_SECONDS),
            retries=False,
            preload_content=True,
        )
        if response.status in (401, 403):
            return REJECTED
        # A 404 is a wrong base URL, a 429 a quota used up: neither would answer a turn.
        return OK if 200 <= response.status < 300 else UNAVAILABLE

    return check


def bedrock_check(model: str, client: Any) -> Check:
    """``client``: a bedrock-runtime client with a short timeout."""
    from botocore.exceptions import ClientError

    def check() -> str:
        try:
            client.converse(modelId=model, messages=[])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = str(error.response.get("Error", {}).get("Message", "")).lower()
            # Refused only for the empty request: authorized and reached. An invalid model id, or one
            # that cannot be called on demand, is a ValidationException too, and names the model.
            if code == "ValidationException" and "model" not in message:
                return OK
            if code in ("AccessDeniedException", "UnrecognizedClientException"):
                return REJECTED
            return UNAVAILABLE
        return OK

    return check
