"""What the contract tests run against: `make dev`'s server (started here, with the built-in fake LLM), or
a deployed stage (its SiteUrl output and its verification key, read with the caller's credentials), or any
base URL and key given in the environment.

The key is held so that it cannot be printed: its repr is masked, it is sent only as a header, and no
answer, assertion message or report carries the request's headers."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

from scripts.sse_client import StreamAnswer, post_stream
from stacks.config import STAGES, StageConfig

TIMEOUT_SECONDS = 30


class ApiKey:
    """A client key that says nothing of itself in a traceback or a report."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value:
            raise ValueError("an empty API key")
        self._value = value

    def header(self) -> dict[str, str]:
        return {"x-api-key": self._value}

    def __repr__(self) -> str:
        return "ApiKey(***)"

    __str__ = __repr__


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str]  # names in lower case

    def message(self) -> str:
        assert isinstance(self.body, dict), f"not a JSON object: {self.body!r:.200}"
        message = self.body.get("message")
        assert isinstance(message, str), self.body
        assert message.strip(), self.body
        return message


@dataclass(frozen=True)
class Target:
    """A deployment's /api, and the key its tests use."""

    base_url: str
    key: ApiKey = field(repr=False)
    where: str  # "dev server" or "stage <name>" or "base URL"
    stage: str | None  # what /health names: "local" for the dev server, None when not known
    config: StageConfig = field(repr=False)  # the limits it runs with (the dev server: the dev stage's)

    @property
    def local(self) -> bool:
        return self.where == "dev server"

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        signed: bool = True,
        raw: bytes | None = None,
    ) -> Answer:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        key = self.key.header() if signed else {}
        sent = {"Content-Type": "application/json", **key, **(headers or {})}
        request = urllib.request.Request(  # noqa: S310 - https, or the dev server on loopback
            self.base_url + path, data=data, method=method, headers=sent
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                status, payload, got = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, payload, got = error.code, error.read(), error.headers
        names = {name.lower(): value for name, value in got.items()}
        parsed: Any = payload
        if payload and names.get("content-type", "").startswith("application/json"):
            parsed = json.loads(payload)
        return Answer(status, parsed, names)

    def chat(self, session: str, message: str, *, headers: dict[str, str] | None = None) -> Answer:
        return self.call("POST", "/chat", {"sessionId": session, "message": message}, headers=headers)

    def stream(self, session: str, message: str, *, headers: dict[str, str] | None = None) -> StreamAnswer:
        return post_stream(
            self.base_url + "/chat/stream",
            {"sessionId": session, "message": message},
            {**self.key.header(), **(headers or {})},
            timeout=TIMEOUT_SECONDS,
        )


def new_session_id() -> str:
    return f"integ-{uuid.uuid4().hex[:16]}"


def from_environment() -> Target | None:
    """INTEG_STAGE (with the caller's credentials and AWS_REGION), or INTEG_BASE_URL with INTEG_API_KEY
    (and INTEG_CONFIG, the stage whose limits it runs with; dev by default); None: start the dev server."""
    stage = os.environ.get("INTEG_STAGE", "").strip()
    if stage:
        from scripts.smoke import stage_endpoint

        site, key = stage_endpoint(stage, os.environ.get("AWS_REGION") or None)
        return Target(site.rstrip("/") + "/api", ApiKey(key), f"stage {stage}", stage, STAGES[stage])
    base = os.environ.get("INTEG_BASE_URL", "").strip()
    if base:
        given = ApiKey(os.environ.get("INTEG_API_KEY", ""))
        config = STAGES[os.environ.get("INTEG_CONFIG", "dev")]
        return Target(base.rstrip("/") + "/api", given, "base URL", None, config)
    return None
