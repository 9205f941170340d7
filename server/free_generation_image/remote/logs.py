"""JSON-lines logs for the hosted server: one object per line, a request id on every line of a request.

Tokens never reach a log: our code does not log them, and as a second line of defence anything shaped
like a bearer value is masked before the line is written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from contextvars import ContextVar
from typing import Any, TextIO

request_id: ContextVar[str | None] = ContextVar("fgi_request_id", default=None)

SECRET_SHAPES = re.compile(r"(?i)(bearer\s+)\S+|\b(fgi_(?:at|rt|ac)_|nmv_usr_)[A-Za-z0-9_\-]+")
EXTRA_FIELDS = ("method", "path", "status", "ms", "user", "client_id", "anonymous", "retry_after")


def mask(text: str) -> str:
    return SECRET_SHAPES.sub(lambda m: (m.group(1) or m.group(2) or "") + "***", text)


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask(record.getMessage()),
        }
        rid = request_id.get()
        if rid:
            entry["request_id"] = rid
        for name in EXTRA_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["error"] = mask(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class _Handler(logging.StreamHandler[TextIO]):
    """Marks our handler so setting up twice replaces it instead of doubling every line."""


def setup(level: str = "INFO", stream: TextIO | None = None) -> None:
    """JSON lines to stderr for our loggers, uvicorn's and the SDK's."""
    root = logging.getLogger()
    for old in list(root.handlers):  # this process's logs are ours: one format, one line per record
        root.removeHandler(old)
    handler = _Handler(stream or sys.stderr)
    handler.setFormatter(JsonLines())
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in ("free_generation_image", "uvicorn.error", "mcp"):
        logging.getLogger(name).setLevel(level)
    logging.getLogger("mcp").setLevel(max(logging.getLevelName(level), logging.WARNING))
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # request lines carry signed media URLs


def now_ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
