"""Pure: incremental Server-Sent Events decoder, text chunks in, ``data`` payloads out.

Why not ``httpx2.EventSource``: it follows the browser rules and swallows comment lines, but the
backend's keep-alive may be exactly a comment (``: ping``, contract §4.2) and a caller waiting
minutes on a tool wants to see it. Here a comment becomes an empty payload, which
:func:`events.classify` reads as a heartbeat, like an empty ``data:`` line. Everything else
follows the SSE spec: ``\\r\\n``, ``\\r`` and ``\\n`` line ends, multi-line data joined with
``\\n``, one optional space after the colon, ``id``/``retry`` ignored (nothing is ever resumed).
"""

from __future__ import annotations

from typing import Final

DEFAULT_MAX_EVENT_CHARS: Final = 32 * 1024 * 1024  # tool results may inline base64 media


class EventTooLarge(ValueError):
    """One event grew past the size cap (a runaway or hostile stream)."""


class SSEDecoder:
    """Feed text chunks cut anywhere; get back the completed events' payloads, in order."""

    __slots__ = ("_data", "_data_size", "_limit", "_pending", "_pending_size", "_skip_lf", "_started")

    def __init__(self, max_event_chars: int = DEFAULT_MAX_EVENT_CHARS) -> None:
        self._limit = max_event_chars
        self._pending: list[str] = []  # the unterminated tail line, in pieces
        self._pending_size = 0
        self._data: list[str] = []
        self._data_size = 0
        self._started = False  # a field of the current event was seen
        self._skip_lf = False  # the previous chunk ended in "\r": a leading "\n" belongs to it

    def feed(self, text: str) -> list[str]:
        """Decode one chunk; return the payloads of the events it completed (``""`` = keep-alive)."""
        if self._skip_lf and text:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
        if "\r" in text:
            self._skip_lf = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in text:
            if text:
                self._pending.append(text)
                self._pending_size += len(text)
                if self._pending_size > self._limit:
                    raise EventTooLarge(f"a stream event exceeded {self._limit} characters")
            return []
        lines = text.split("\n")
        if self._pending:
            self._pending.append(lines[0])
            lines[0] = "".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
        tail = lines.pop()
        if tail:
            self._pending.append(tail)
            self._pending_size = len(tail)
        out: list[str] = []
        data = self._data
        for line in lines:
            if line.startswith("data:"):  # the common case, inlined: this loop runs per line of the turn
                value = line[6:] if line.startswith(" ", 5) else line[5:]
                data.append(value)
                self._data_size += len(value)
                self._started = True
                if self._data_size > self._limit:
                    raise EventTooLarge(f"a stream event exceeded {self._limit} characters")
            elif not line:
                if self._started:  # the blank line ending an event, also inlined
                    out.append(data[0] if len(data) == 1 else "\n".join(data))
                    data.clear()
                    self._data_size = 0
                    self._started = False
            else:
                self._line(line, out)
        return out

    def close(self) -> list[str]:
        """End of stream: an event the server did not terminate with a blank line is still delivered."""
        out: list[str] = []
        if self._pending:
            line = "".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
            self._line(line, out)
        self._line("", out)
        return out

    def _line(self, line: str, out: list[str]) -> None:
        if not line:
            if self._started:
                out.append(self._data[0] if len(self._data) == 1 else "\n".join(self._data))
                self._data.clear()
                self._data_size = 0
                self._started = False
            return
        if line[0] == ":":
            out.append("")  # a comment is the keep-alive form of some servers
            return
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._data_size += len(value)
            self._started = True
            if self._data_size > self._limit:
                raise EventTooLarge(f"a stream event exceeded {self._limit} characters")
        elif name == "event":
            self._started = True  # an event with a name but no data reads as a keep-alive
