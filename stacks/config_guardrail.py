"""Configuration of the stage's guardrail (part of StageConfig, stacks/config_model.py): an Amazon Bedrock
guardrail that the handlers apply to every message and reply, whatever the provider
(stacks/constructs/chat_guardrail.py builds it; lambda_src/chat/guardrail.py applies it).

The same policy, as JSON, drives the offline stand-in of `make dev` and the tests
(lambda_src/chat/guardrail_local.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

Strength = Literal["NONE", "LOW", "MEDIUM", "HIGH"]
FILTER_TYPES = ("SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT", "PROMPT_ATTACK")
# The entity types Bedrock's sensitive-information filter knows that a chatbot's users are likely to type.
PII_TYPES = frozenset(
    {
        "ADDRESS",
        "AGE",
        "AWS_ACCESS_KEY",
        "AWS_SECRET_KEY",
        "CREDIT_DEBIT_CARD_CVV",
        "CREDIT_DEBIT_CARD_EXPIRY",
        "CREDIT_DEBIT_CARD_NUMBER",
        "DRIVER_ID",
        "EMAIL",
        "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
        "IP_ADDRESS",
        "LICENSE_PLATE",
        "MAC_ADDRESS",
        "NAME",
        "PASSWORD",
        "PHONE",
        "PIN",
        "SWIFT_CODE",
        "UK_NATIONAL_INSURANCE_NUMBER",
        "URL",
        "USERNAME",
        "US_BANK_ACCOUNT_NUMBER",
        "US_PASSPORT_NUMBER",
        "US_SOCIAL_SECURITY_NUMBER",
    }
)
# Bedrock's limits on a guardrail's texts.
MAX_MESSAGING_CHARS = 500
MAX_TOPIC_NAME_CHARS = 100
MAX_TOPIC_DEFINITION_CHARS = 200
MAX_TOPIC_EXAMPLES = 5
MAX_EXAMPLE_CHARS = 100
MAX_WORD_CHARS = 100
TOPIC_NAME = re.compile(r"[0-9a-zA-Z_ !?.-]+")


@dataclass(frozen=True)
class ContentFilter:
    type: str
    input_strength: Strength
    output_strength: Strength


@dataclass(frozen=True)
class PiiRule:
    type: str
    action: Literal["BLOCK", "ANONYMIZE"]


@dataclass(frozen=True)
class DeniedTopic:
    name: str
    definition: str
    examples: tuple[str, ...] = ()


DEFAULT_FILTERS = (
    ContentFilter("SEXUAL", "HIGH", "HIGH"),
    ContentFilter("VIOLENCE", "MEDIUM", "MEDIUM"),
    ContentFilter("HATE", "HIGH", "HIGH"),
    ContentFilter("INSULTS", "MEDIUM", "MEDIUM"),
    ContentFilter("MISCONDUCT", "MEDIUM", "MEDIUM"),
    # Bedrock judges prompt attacks on input only: its output strength must be NONE.
    ContentFilter("PROMPT_ATTACK", "HIGH", "NONE"),
)
DEFAULT_PII = (
    PiiRule("EMAIL", "ANONYMIZE"),
    PiiRule("PHONE", "ANONYMIZE"),
    PiiRule("CREDIT_DEBIT_CARD_NUMBER", "ANONYMIZE"),
    PiiRule("CREDIT_DEBIT_CARD_CVV", "ANONYMIZE"),
    PiiRule("US_SOCIAL_SECURITY_NUMBER", "ANONYMIZE"),
    # A cloud credential pasted into a chat is a leak to stop, not a detail to mask.
    PiiRule("AWS_ACCESS_KEY", "BLOCK"),
    PiiRule("AWS_SECRET_KEY", "BLOCK"),
)
DEFAULT_TOPICS = (
    DeniedTopic(
        "Credential theft",
        "Requests for help obtaining, guessing or cracking someone else's passwords, keys or access tokens.",
        ("How do I crack my coworker's password?", "Find me a leaked API key for this service"),
    ),
)


@dataclass(frozen=True, kw_only=True)
class GuardrailConfig:
    enabled: bool = True
    # When Bedrock cannot give a verdict: answer unchecked (open) or refuse with 503 and Retry-After (closed).
    fail_open: bool = False
    # Store what the user sent with the PII rules' entities masked ({EMAIL}), and ask the model the same
    # masked text; without it only replies are masked, and BLOCK entities still stop a message.
    redact_transcripts: bool = False
    content_filters: tuple[ContentFilter, ...] = DEFAULT_FILTERS
    pii: tuple[PiiRule, ...] = DEFAULT_PII
    denied_topics: tuple[DeniedTopic, ...] = DEFAULT_TOPICS
    blocked_words: tuple[str, ...] = ()
    profanity_filter: bool = True  # Bedrock's managed profanity list
    blocked_input_message: str = "Sorry, I can't help with that request."
    blocked_output_message: str = "Sorry, I can't share that reply. Please ask something else."
    # A streamed reply is checked in chunks of about this many characters (lambda_src/chat/guarded_stream.py).
    stream_chunk_chars: int = 400
    tags: dict[str, str] = field(default_factory=dict)

    def pii_on_input(self, rule: PiiRule) -> bool:
        """Whether the rule applies to what users send: always to block, to mask only when redacting."""
        return rule.action == "BLOCK" or self.redact_transcripts

    def problems(self, stage: str) -> list[str]:
        if not self.enabled:
            return []
        found = []
        if stage == "prod" and self.fail_open:
            found.append(
                "prod: guardrail.fail_open must be False (an unchecked turn is not answered in prod)"
            )
        types = [f.type for f in self.content_filters]
        if len(set(types)) != len(types) or not set(types) <= set(FILTER_TYPES):
            found.append(f"{stage}: guardrail.content_filters must name each of {FILTER_TYPES} at most once")
        for f in self.content_filters:
            if f.type == "PROMPT_ATTACK" and f.output_strength != "NONE":
                found.append(f"{stage}: guardrail PROMPT_ATTACK's output_strength must be NONE")
        unknown = sorted({r.type for r in self.pii} - PII_TYPES)
        if unknown or len({r.type for r in self.pii}) != len(self.pii):
            found.append(
                f"{stage}: guardrail.pii must name known entity types once each (unknown: {unknown})"
            )
        for message in (self.blocked_input_message, self.blocked_output_message):
            if not 1 <= len(message) <= MAX_MESSAGING_CHARS:
                found.append(
                    f"{stage}: guardrail blocked messages must be 1-{MAX_MESSAGING_CHARS} characters"
                )
        for topic in self.denied_topics:
            if not TOPIC_NAME.fullmatch(topic.name) or len(topic.name) > MAX_TOPIC_NAME_CHARS:
                found.append(f"{stage}: guardrail topic name {topic.name!r} must be letters, digits, _ !?.-")
            if not 1 <= len(topic.definition) <= MAX_TOPIC_DEFINITION_CHARS:
                found.append(
                    f"{stage}: guardrail topic {topic.name!r}: definition of 1-{MAX_TOPIC_DEFINITION_CHARS} "
                    "characters"
                )
            if len(topic.examples) > MAX_TOPIC_EXAMPLES or any(
                not 1 <= len(e) <= MAX_EXAMPLE_CHARS for e in topic.examples
            ):
                found.append(
                    f"{stage}: guardrail topic {topic.name!r}: at most {MAX_TOPIC_EXAMPLES} examples "
                    f"of 1-{MAX_EXAMPLE_CHARS} characters"
                )
        if any(not 1 <= len(w) <= MAX_WORD_CHARS for w in self.blocked_words):
            found.append(f"{stage}: guardrail.blocked_words must be 1-{MAX_WORD_CHARS} characters each")
        if not 50 <= self.stream_chunk_chars <= 1000:
            found.append(f"{stage}: guardrail.stream_chunk_chars must be 50-1000")
        return found

    def runtime_environment(self) -> dict[str, str]:
        """What the handlers read besides the guardrail itself (lambda_src/chat/settings.py)."""
        return {
            "GUARDRAIL_FAIL_OPEN": "true" if self.fail_open else "false",
            "GUARDRAIL_STREAM_CHUNK_CHARS": str(self.stream_chunk_chars),
        }

    def local_policy(self) -> dict[str, Any]:
        """The policy as the offline stand-in reads it (GUARDRAIL_LOCAL_POLICY)."""
        return {
            "blockedInputMessage": self.blocked_input_message,
            "blockedOutputMessage": self.blocked_output_message,
            "promptAttack": any(
                f.type == "PROMPT_ATTACK" and f.input_strength != "NONE" for f in self.content_filters
            ),
            "pii": [
                {"type": r.type, "action": r.action, "input": self.pii_on_input(r), "output": True}
                for r in self.pii
            ],
            "words": list(self.blocked_words),
            "topics": [{"name": t.name, "examples": list(t.examples)} for t in self.denied_topics],
        }
