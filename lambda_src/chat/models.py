"""What crosses the API boundary, validated with pydantic."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

SESSION_ID_PATTERN = r"^[A-Za-z0-9_-]{8,128}$"


def _unsafe_characters() -> re.Pattern[str]:
    """What is removed from a user's text, and nothing else (README, "Text as sent"):
    - C0 and C1 control characters, except tab, line feed and carriage return;
    - bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), which make text
      display in another order than it is stored and read;
    - surrogates and noncharacters, which are not text.
    Joiners (ZWJ, ZWNJ), variation selectors, tag characters and line endings are kept: emoji sequences,
    flags and scripts such as Persian or Hindi need them."""
    ranges = [
        ("\x00", "\x08"),
        ("\x0b", "\x0c"),
        ("\x0e", "\x1f"),
        ("\x7f", "\x9f"),
        ("\u202a", "\u202e"),
        ("\u2066", "\u2069"),
        ("\ud800", "\udfff"),
        ("\ufdd0", "\ufdef"),
    ]
    ranges += [(chr(plane * 0x10000 + 0xFFFE), chr(plane * 0x10000 + 0xFFFF)) for plane in range(17)]
    return re.compile("[" + "".join(f"{re.escape(a)}-{re.escape(b)}" for a, b in ranges) + "]")


_UNSAFE = _unsafe_characters()
# Characters that show nothing on their own: a message of only these has no visible text.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Mn", "Me", "Zs", "Zl", "Zp"})


class BadRequest(ValueError):
    """The caller sent something we will not process; the message says which field and why."""


def strip_unsafe_characters(text: str) -> str:
    return _UNSAFE.sub("", text)


def has_visible_text(text: str) -> bool:
    return any(not ch.isspace() and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES for ch in text)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sessionId: str = Field(pattern=SESSION_ID_PATTERN)  # noqa: N815 - the wire name
    message: str = Field(min_length=1)

    @field_validator("message")
    @classmethod
    def _clean_message(cls, value: str, info: ValidationInfo) -> str:
        cleaned = strip_unsafe_characters(value)
        if not has_visible_text(cleaned):
            raise ValueError("must contain visible text")
        # Counted on what is stored, in code points (an emoji is one, however many UTF-16 units).
        limit = (info.context or {}).get("max_message_chars", 1000)
        if len(cleaned) > limit:
            raise ValueError(f"must be at most {limit} characters")
        return cleaned

    @classmethod
    def parse(cls, body: str | None, *, max_message_chars: int) -> ChatRequest:
        if not body:
            raise BadRequest("Request body must be a JSON object with sessionId and message")
        try:
            return cls.model_validate_json(body, context={"max_message_chars": max_message_chars})
        except ValidationError as error:
            raise BadRequest(describe_validation_error(error)) from None


def describe_validation_error(error: ValidationError) -> str:
    """Name each bad field and the rule it broke, never echoing the value that was sent."""
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "body"
        if item["type"] == "json_invalid":
            return "Request body is not valid JSON"
        if item["type"] == "model_type":
            return "Request body must be a JSON object with sessionId and message"
        if item["type"] == "extra_forbidden":
            # The unknown key's name is the caller's text: never repeat it.
            problems.append("body: only sessionId and message are allowed")
            continue
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{field}: {message}")
    return "Invalid request: " + "; ".join(problems)


_SESSION_ID = re.compile(SESSION_ID_PATTERN)
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def parse_session_id(value: str) -> str:
    if not _SESSION_ID.fullmatch(value):
        raise BadRequest("sessionId: must be 8-128 letters, digits, _ or -")
    return value


def parse_idempotency_key(headers: Mapping[str, str] | None) -> str | None:
    """The Idempotency-Key header (any case), or None; 400 if it is malformed."""
    for name, value in (headers or {}).items():
        if name.lower() == "idempotency-key":
            if not _IDEMPOTENCY_KEY.fullmatch(value or ""):
                raise BadRequest("Idempotency-Key: must be 1-128 letters, digits or _ . : -")
            return value
    return None


Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Role
    content: str


class Usage(BaseModel):
    model_config = ConfigDict(frozen=True)

    inputTokens: int = 0  # noqa: N815
    outputTokens: int = 0  # noqa: N815
    totalTokens: int = 0  # noqa: N815

    @classmethod
    def of(cls, input_tokens: Any, output_tokens: Any, total_tokens: Any = None) -> Usage:
        """From a provider's counts; a missing total is the sum."""
        inputs, outputs = int(input_tokens or 0), int(output_tokens or 0)
        total = int(total_tokens) if total_tokens is not None else inputs + outputs
        return cls(inputTokens=inputs, outputTokens=outputs, totalTokens=total)


class Intervention(BaseModel):
    """What the stage's guardrail did in a turn (lambda_src/chat/guardrail.py): policy names, no text."""

    model_config = ConfigDict(frozen=True)

    source: Literal["input", "output"]
    action: Literal["anonymized", "blocked"]
    policies: tuple[str, ...]


class ChatReply(BaseModel):
    model_config = ConfigDict(frozen=True)

    sessionId: str  # noqa: N815
    reply: str
    usage: Usage
    # The reply's id, for feedback on it (lambda_src/chat/feedback.py).
    messageId: str | None = None  # noqa: N815
    # Present only where the guardrail intervened (README, "Guardrails").
    guardrail: tuple[Intervention, ...] | None = None

    def to_json(self) -> str:
        """The body as sent (compact, ASCII, as the resolver serializes): replays send these bytes."""
        return json.dumps(self.model_dump(mode="json", exclude_none=True), separators=(",", ":"))
