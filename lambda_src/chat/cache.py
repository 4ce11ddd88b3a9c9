"""Exact-match cache of first-turn answers, per client (or shared by a stage that opts in), with TTL.

The key is a hash of the normalized question, provider, model and system prompt, so a cached answer
is only reused where the same model with the same instructions would be asked the same thing. The
question itself is not stored.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambda_src.chat.models import Usage
from lambda_src.chat.providers.base import Completion

_WHITESPACE = re.compile(r"\s+")


def normalize(question: str) -> str:
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", question).casefold()).strip()


def cache_key(
    question: str, *, provider: str, model: str, system_prompt: str, client: str | None = None
) -> str:
    """``client`` scopes the entry to one API key; None shares it across the stage."""
    material = json.dumps([normalize(question), provider, model, system_prompt, client], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


class ResponseCache:
    """Best effort: a cache that cannot be read or written is a miss, never a failed turn."""

    def __init__(
        self, table: Any, *, ttl_seconds: int, clock: Callable[[], float], shared: bool = False
    ) -> None:
        self._table = table
        self._ttl_seconds = ttl_seconds
        self._clock = clock
        # Shared across clients, a hit would tell one client that another asked the same first question
        # recently; so entries are per client unless the stage chooses otherwise.
        self.shared = shared

    def get(self, key: str) -> Completion | None:
        try:
            item = self._table.get_item(Key={"pk": f"CACHE#{key}", "sk": "ANSWER"}).get("Item")
        except (ClientError, BotoCoreError):
            return None
        if not item or int(item["expiresAt"]) <= self._clock():
            return None
        return Completion(text=item["reply"], usage=Usage(), model=item["model"], provider=item["provider"])

    def put(self, key: str, completion: Completion) -> None:
        try:
            self._table.put_item(
                Item={
                    "pk": f"CACHE#{key}",
                    "sk": "ANSWER",
                    "reply": completion.text,
                    "model": completion.model,
                    "provider": completion.provider,
                    "expiresAt": int(self._clock()) + self._ttl_seconds,
                }
            )
        except (ClientError, BotoCoreError):
            return
