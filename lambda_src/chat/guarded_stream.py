"""A streamed reply released in chunks the guardrail has passed (README, "Guardrails", streamed replies).

ApplyGuardrail judges whole texts, and is priced per 1,000 characters, so the provider's pieces are
gathered and checked as chunks:
- the first chunk is released from FIRST_CHUNK_CHARS, so the first words are not long in coming;
- later ones from the stage's ``stream_chunk_chars``;
- a chunk ends at the last sentence end or line break it holds, so that an e-mail address or a card
  number is not checked in two halves; a text without either is cut at its last space once it reaches
  twice the chunk size (at most MAX_CHUNK_CHARS, one of Bedrock's text units);
- what is left when the reply ends is checked as the last chunk.
A chunk the guardrail anonymizes is released masked. A chunk it blocks ends the reply: nothing more is
released, ``blocked`` holds the verdict, and the caller replaces what was shown with its message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from lambda_src.chat.guardrail import TurnGuard, Verdict, intervention_of
from lambda_src.chat.models import Intervention

FIRST_CHUNK_CHARS = 120
MAX_CHUNK_CHARS = 1000
_BOUNDARY = re.compile(r"[.!?](?=\s)|\n")


def split_point(text: str, minimum: int, maximum: int) -> int | None:
    """Where to end the next chunk of ``text``, or None to wait for more."""
    if len(text) < minimum:
        return None
    ends = [m.end() for m in _BOUNDARY.finditer(text) if m.end() >= minimum]
    if ends:
        return ends[-1]
    if len(text) < maximum:
        return None
    space = text.rfind(" ", minimum, maximum)
    return space + 1 if space > 0 else maximum


class GuardedPieces:
    def __init__(self, pieces: Iterable[str], guard: TurnGuard) -> None:
        self._pieces = pieces
        self._guard = guard
        self._chunk = max(1, min(guard.stream_chunk_chars, MAX_CHUNK_CHARS))
        self.blocked: Verdict | None = None
        self.interventions: list[Intervention] = []
        self.received = ""  # all the provider sent, checked or not (for its token estimate)

    def __iter__(self) -> Iterator[str]:
        buffer = ""
        minimum = min(FIRST_CHUNK_CHARS, self._chunk)
        for piece in self._pieces:
            buffer += piece
            self.received += piece
            while (cut := split_point(buffer, minimum, min(2 * self._chunk, MAX_CHUNK_CHARS))) is not None:
                chunk, buffer = buffer[:cut], buffer[cut:]
                released = self._check(chunk)
                if released is None:
                    return
                yield released
                minimum = self._chunk
        if buffer.strip():
            released = self._check(buffer)
            if released is not None:
                yield released
        elif buffer:
            yield buffer

    def _check(self, chunk: str) -> str | None:
        verdict = self._guard.check(chunk, "OUTPUT")
        if verdict.action == "NONE":
            return chunk
        self.interventions.append(intervention_of(verdict, "OUTPUT"))
        if verdict.action == "BLOCKED":
            self.blocked = verdict
            return None
        return verdict.text
