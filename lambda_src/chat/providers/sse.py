"""Server-sent events, read incrementally: bytes go in as the network delivers them, an event's data comes
out when its blank line has arrived. A network chunk may end anywhere: inside a line, inside a UTF-8
character, between the CR and LF of a line ending.

Of the SSE fields only ``data`` matters to a chat-completions stream; comments (``: keep-alive``), ``event``,
``id`` and ``retry`` lines are read and dropped.
"""

from __future__ import annotations

# A line longer than this is not a chat-completions chunk: refuse it rather than buffer without bound.
MAX_LINE_BYTES = 1024 * 1024


class SseError(ValueError):
    """The bytes are not an event stream (a line too long, or not UTF-8)."""


class SseParser:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        """The data of every event completed by ``chunk``, in order."""
        self._buffer += chunk
        events: list[str] = []
        while (line := self._next_line()) is not None:
            if line == "":
                if self._data:
                    events.append("\n".join(self._data))
                    self._data = []
                continue
            field, _, value = line.partition(":")
            if field == "data":
                self._data.append(value.removeprefix(" "))
        if len(self._buffer) > MAX_LINE_BYTES:
            raise SseError("line too long")
        return events

    def _next_line(self) -> str | None:
        """The next whole line, without its ending (CRLF, LF or CR); None until one has arrived."""
        lf, cr = self._buffer.find(b"\n"), self._buffer.find(b"\r")
        if cr == -1 or (lf != -1 and lf < cr):
            if lf == -1:
                return None
            end, skip = lf, 1
        elif cr + 1 == len(self._buffer):
            return None  # a CR that may yet be followed by its LF
        else:
            end, skip = cr, 2 if self._buffer[cr + 1] == 0x0A else 1
        raw = bytes(self._buffer[:end])
        del self._buffer[: end + skip]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SseError("not UTF-8") from None
