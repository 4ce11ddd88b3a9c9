"""An offline stand-in for the stage's Bedrock guardrail, for `make dev` and the tests.

It reads the same policy the stack builds the guardrail from (stacks/config_guardrail.py, passed as
GUARDRAIL_LOCAL_POLICY) and applies what can be applied without a model, by pattern:
- prompt attacks on input: well-known injection phrases;
- denied topics: a topic's example phrases, as written (Bedrock judges meaning; this matches text);
- words: whole words, any case;
- PII: e-mail addresses, phone numbers, card numbers (Luhn-checked), US social security numbers, IP
  addresses and AWS access key ids, blocked or masked as {TYPE} the way Bedrock masks them.
Bedrock's content filters (hate, insults, sexual, violence, misconduct) need its classifier: the stand-in
never applies them. It answers what Bedrock answers, so the turn cannot tell them apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lambda_src.chat.guardrail import Source, Verdict

_PROMPT_ATTACK = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(previous|prior|above|earlier|all)\b.{0,40}"
    r"\b(instructions?|rules|prompts?)\b|\b(reveal|print|show)\b.{0,30}\bsystem prompt\b|\bjailbreak\b",
    re.IGNORECASE | re.DOTALL,
)


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _card(match: re.Match[str]) -> bool:
    digits = re.sub(r"\D", "", match.group(0))
    return 13 <= len(digits) <= 19 and _luhn(digits)


# The entity types the stand-in can find, each with the check a match must pass.
_PII: dict[str, tuple[re.Pattern[str], Callable[[re.Match[str]], bool]]] = {
    "EMAIL": (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"), bool),
    "CREDIT_DEBIT_CARD_NUMBER": (re.compile(r"\b\d(?:[ -]?\d){12,18}\b"), _card),
    "US_SOCIAL_SECURITY_NUMBER": (re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), bool),
    "PHONE": (re.compile(r"(?<![\w+])\+?\d{1,3}[ .-]?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}\b"), bool),
    "IP_ADDRESS": (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), bool),
    "AWS_ACCESS_KEY": (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), bool),
}


@dataclass(frozen=True)
class _Entity:
    type: str
    action: str  # BLOCK | ANONYMIZE
    input: bool
    output: bool


class LocalGuardrail:
    def __init__(self, policy: dict[str, Any]) -> None:
        self._blocked_message = {
            "INPUT": str(policy["blockedInputMessage"]),
            "OUTPUT": str(policy["blockedOutputMessage"]),
        }
        self._prompt_attack = bool(policy.get("promptAttack", False))
        self._entities = [
            _Entity(str(e["type"]), str(e["action"]), bool(e.get("input", True)), bool(e.get("output", True)))
            for e in policy.get("pii", [])
            if e["type"] in _PII
        ]
        words = [str(w) for w in policy.get("words", [])]
        self._words = (
            re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)
            if words
            else None
        )
        self._topic_examples = [
            str(example).casefold()
            for topic in policy.get("topics", [])
            for example in topic.get("examples", [])
        ]

    def apply(self, text: str, source: Source) -> Verdict:
        blocked: list[str] = []
        if source == "INPUT" and self._prompt_attack and _PROMPT_ATTACK.search(text):
            blocked.append("PROMPT_ATTACK")
        folded = text.casefold()
        if any(example in folded for example in self._topic_examples):
            blocked.append("DENIED_TOPIC")
        if self._words is not None and self._words.search(text):
            blocked.append("WORDS")
        entities = [e for e in self._entities if (e.input if source == "INPUT" else e.output)]
        # In _PII's order: a card number is masked before the phone pattern could take part of it.
        found = sorted(
            (e for e in entities if self._matches(e.type, text)), key=lambda e: list(_PII).index(e.type)
        )
        if any(e.action == "BLOCK" for e in found):
            blocked.append("PII")
        if blocked:
            return Verdict(action="BLOCKED", text=self._blocked_message[source], policies=tuple(blocked))
        masked = text
        for entity in found:
            masked = _masked(masked, entity.type)
        if masked == text:
            return Verdict(action="NONE", text=text)
        return Verdict(action="ANONYMIZED", text=masked, policies=("PII",))

    @staticmethod
    def _matches(entity_type: str, text: str) -> bool:
        pattern, valid = _PII[entity_type]
        return any(valid(match) for match in pattern.finditer(text))


def _masked(text: str, entity_type: str) -> str:
    """Each match of the entity type that passes its check, as {TYPE}."""
    pattern, valid = _PII[entity_type]

    def mask(match: re.Match[str]) -> str:
        return f"{{{entity_type}}}" if valid(match) else match.group(0)

    return pattern.sub(mask, text)
