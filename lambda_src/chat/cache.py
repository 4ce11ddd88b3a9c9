"""Exact-match cache of first-turn answers, per client (or shared by a stage that opts in), with TTL.

The key is a hash of the normalized question, provider, model and system prompt, so a cached answer
is only reused where the same model with the same instructions would be asked the same thing. The
question itself is not stored. The session store reads and writes the entries within a turn's own
calls (lambda_src/chat/session_store.py); the session that wrote an entry erases it with itself.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from lambda_src.chat.keys import cache_item_key
from lambda_src.chat.models import Usage
from lambda_src.chat.providers.base import Completion

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class CachePolicy:
    ttl_seconds: int
    # Shared, a hit would tell one client that another asked the same first question recently; so
    # entries are per client unless the stage chooses otherwise.
    shared: bool = False


def normalize(question: str) -> str:
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", question).casefold()).strip()


def cache_key(
    question: str, *, provider: str, model: str, system_prompt: str, client: str | None = None
) -> str:
    """``client`` scopes the entry to one API key; None shares it across the stage."""
    material = json.dumps([normalize(question), provider, model, system_prompt, client], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


def cache_item(key: str, completion: Completion, expires_at: int) -> dict[str, Any]:
    return {
        **cache_item_key(key),
        "reply": completion.text,
        "model": completion.model,
        "provider": completion.provider,
        "expiresAt": expires_at,
    }


def completion_from(item: dict[str, Any]) -> Completion:
    """A cached answer costs no tokens."""
    return Completion(text=item["reply"], usage=Usage(), model=item["model"], provider=item["provider"])
