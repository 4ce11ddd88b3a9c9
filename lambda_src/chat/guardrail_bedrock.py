"""Amazon Bedrock's ApplyGuardrail API as a Guardrail: the stage's guardrail version, whatever the provider.

Only the verdict and policy names are read from the answer. Its assessments also quote what matched (an
e-mail address, a blocked word); that never leaves this function.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambda_src.chat.guardrail import GuardrailUnavailable, Source, Verdict


class BedrockGuardrail:
    def __init__(self, client: Any, *, identifier: str, version: str) -> None:
        self._client = client
        self._identifier = identifier
        self._version = version

    def apply(self, text: str, source: Source) -> Verdict:
        try:
            answer = self._client.apply_guardrail(
                guardrailIdentifier=self._identifier,
                guardrailVersion=self._version,
                source=source,
                content=[{"text": {"text": text}}],
            )
        except ClientError as error:
            # Throttled, down, or refused (a deleted version, a missing grant): no verdict either way. The
            # code is the service's label, safe to keep; the message could quote the request.
            code = error.response.get("Error", {}).get("Code", "unknown")
            raise GuardrailUnavailable(code) from None
        except BotoCoreError as error:
            raise GuardrailUnavailable(type(error).__name__) from None
        return verdict_of(answer, text)


def verdict_of(answer: dict[str, Any], text: str) -> Verdict:
    """The verdict in an ApplyGuardrail answer (``text`` is what was checked)."""
    if answer.get("action") != "GUARDRAIL_INTERVENED":
        return Verdict(action="NONE", text=text)
    acted: list[tuple[str, str]] = []  # (policy, action) of each assessment that acted
    for assessment in answer.get("assessments", []):
        for topic in assessment.get("topicPolicy", {}).get("topics", []):
            acted.append(("DENIED_TOPIC", topic.get("action", "NONE")))
        for content in assessment.get("contentPolicy", {}).get("filters", []):
            acted.append((str(content.get("type", "CONTENT")), content.get("action", "NONE")))
        words = assessment.get("wordPolicy", {})
        for word in [*words.get("customWords", []), *words.get("managedWordLists", [])]:
            acted.append(("WORDS", word.get("action", "NONE")))
        sensitive = assessment.get("sensitiveInformationPolicy", {})
        for entity in [*sensitive.get("piiEntities", []), *sensitive.get("regexes", [])]:
            acted.append(("PII", entity.get("action", "NONE")))
    acted = [(policy, action) for policy, action in acted if action != "NONE"]
    policies = tuple(dict.fromkeys(policy for policy, _ in acted))
    outputs = answer.get("outputs") or [{}]
    guarded = str(outputs[0].get("text", ""))
    blocked = any(action == "BLOCKED" for _, action in acted) or not acted
    # An intervention that names no anonymization is a block: the guardrail's message stands in for the text.
    return Verdict(action="BLOCKED" if blocked else "ANONYMIZED", text=guarded, policies=policies)
