"""The recent messages a session keeps in its state item, which are what the model is sent as history:
the unexpired ones, the newest few, within the item's size."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# The recent turns kept in the state item for the model; DynamoDB items hold at most 400 KB.
MAX_RECENT_BYTES = 300_000


@dataclass(frozen=True)
class RecentWindow:
    retention_seconds: int
    keep_messages: int

    def recent(self, state: dict[str, Any] | None, now: float) -> list[dict[str, Any]]:
        """The state's unexpired messages, oldest first, as plain values (DynamoDB gives Decimals).
        TTL deletes lazily, so expired messages are dropped here: they are never sent to the model."""
        return [
            {"role": str(m["role"]), "content": str(m["content"]), "at": int(m["at"])}
            for m in (state or {}).get("recent", [])
            if int(m["at"]) // 1000 + self.retention_seconds > now
        ]

    def bounded(self, recent: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The newest messages that the model may be sent, within the item size limit."""
        kept = recent[-self.keep_messages :]
        while len(kept) > 1 and len(json.dumps(kept, ensure_ascii=False).encode()) > MAX_RECENT_BYTES:
            kept = kept[1:]
        return kept
