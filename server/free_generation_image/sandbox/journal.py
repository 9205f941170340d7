"""What happened, in order: every API request (token redacted) and every backend-side event.

Tests read it to assert what a client did ("the prompt was sent exactly once") and benchmarks read
the exact moment a render completed. Control requests (``/_sandbox``) are not recorded.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

EntryKind = Literal["request", "event"]

RECORDED_HEADERS = (
    "authorization",
    "x-client-id",
    "x-skill-source",
    "x-skill-version",
    "x-skill-platform",
    "content-type",
    "accept",
    "range",
)
_TOKEN_RE = re.compile(r"(nmv_usr_|clm_)[A-Za-z0-9_\-]+")
_BODY_LIMIT = 400


@dataclass(frozen=True)
class JournalEntry:
    """One request (``kind="request"``) or backend event (``kind="event"``, name in ``path``)."""

    seq: int
    at: float  # epoch seconds
    kind: EntryKind
    method: str  # "" for events
    path: str
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str = ""  # short summary, tokens redacted
    message: str | None = None  # the /run_sse user text
    faults: tuple[str, ...] = ()  # injected faults that fired on this request
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return {
            "seq": self.seq,
            "at": self.at,
            "kind": self.kind,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "headers": dict(self.headers),
            "body": self.body,
            "message": self.message,
            "faults": list(self.faults),
            "data": dict(self.data),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> JournalEntry:
        """Inverse of :meth:`to_json`."""
        return cls(
            seq=int(raw["seq"]),
            at=float(raw["at"]),
            kind=raw["kind"],
            method=str(raw["method"]),
            path=str(raw["path"]),
            status=raw.get("status"),
            headers=dict(raw.get("headers") or {}),
            body=str(raw.get("body") or ""),
            message=raw.get("message"),
            faults=tuple(raw.get("faults") or ()),
            data=dict(raw.get("data") or {}),
        )


def redact(text: str) -> str:
    """Replace every token-looking string by its prefix + ``<redacted>``."""
    return _TOKEN_RE.sub(lambda m: f"{m.group(1)}<redacted>", text)


def redact_authorization(value: str) -> str:
    """Keep the scheme and the token kind (useful in assertions), never the secret."""
    scheme, _, credential = value.partition(" ")
    if not credential:
        return "<redacted>"
    kind = next((p for p in ("nmv_usr_", "clm_") if credential.startswith(p)), "")
    return f"{scheme} {kind}<redacted>"


def recorded_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers worth asserting on, with Authorization redacted."""
    out = {name: headers[name] for name in RECORDED_HEADERS if name in headers}
    if "authorization" in out:
        out["authorization"] = redact_authorization(out["authorization"])
    return out


def summarize_body(
    content_type: str, body: bytes, *, multipart_files: list[tuple[str, int]] | None = None
) -> str:
    """A short, redacted, human-readable summary of a request body."""
    if multipart_files is not None:
        return "multipart files=" + ", ".join(f"{name} ({size} B)" for name, size in multipart_files)
    if not body:
        return ""
    if "json" in content_type or body[:1] in (b"{", b"["):
        try:
            text = json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":"))
        except ValueError:
            text = body[:_BODY_LIMIT].decode("utf-8", "replace")
    else:
        text = f"<{len(body)} bytes {content_type or 'unknown type'}>"
    text = redact(text)
    return text if len(text) <= _BODY_LIMIT else text[: _BODY_LIMIT - 1] + "…"


class Journal:
    """Bounded, append-only log; single-threaded (lives on the sandbox event loop)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=limit)
        self._seq = 0

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def request(
        self,
        *,
        method: str,
        path: str,
        status: int,
        headers: Mapping[str, str],
        body: str,
        message: str | None = None,
        faults: tuple[str, ...] = (),
        data: Mapping[str, Any] | None = None,
    ) -> JournalEntry:
        """Record a finished (or, for streams, started) request."""
        entry = JournalEntry(
            seq=self._next(),
            at=time.time(),
            kind="request",
            method=method,
            path=path,
            status=status,
            headers=recorded_headers(headers),
            body=body,
            message=message,
            faults=faults,
            data=dict(data or {}),
        )
        self._entries.append(entry)
        return entry

    def event(self, name: str, **data: Any) -> JournalEntry:
        """Record a backend-side event such as ``render.completed``."""
        entry = JournalEntry(seq=self._next(), at=time.time(), kind="event", method="", path=name, data=data)
        self._entries.append(entry)
        return entry

    def entries(self, *, path: str | None = None, kind: EntryKind | None = None) -> list[JournalEntry]:
        """Entries in order, optionally those whose path contains ``path`` and/or of one kind."""
        return [
            e for e in self._entries if (path is None or path in e.path) and (kind is None or e.kind == kind)
        ]

    def clear(self) -> None:
        """Forget everything (sequence numbers keep increasing)."""
        self._entries.clear()
