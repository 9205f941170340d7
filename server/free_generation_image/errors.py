"""The exception tree. Every error carries a ``hint``: what the user should do next.

FGIError                      root; ``str(err)`` = message, ``err.hint`` = next step
├── InvalidInput              bad argument or local file, nothing was sent
├── NotFound                  unknown job id, missing output, ...
├── NotReady                  e.g. export before anything was generated
├── Cancelled                 the user stopped waiting
└── NemoError                 the backend said no (see nemo/errors.py)
"""

from __future__ import annotations

import unicodedata

_FULL_WIDTH_STOPS = "。！？．｡"
_STOPS = ".!?…" + _FULL_WIDTH_STOPS
# Closing quotes and brackets may follow the stop: 'He said "no."' ends a sentence.
_CLOSERS = "\"'”’)]）」』》】"


def as_sentence(text: str) -> str:
    """``text`` ending with a full stop: ``.`` after Latin text, ``。`` after CJK, unchanged if it has one."""
    text = text.rstrip()
    core = text.rstrip(_CLOSERS)
    if not core or core[-1] in _STOPS or core[-1] in ":;：；":
        return text
    return text + ("。" if _is_cjk(core[-1]) else ".")


def _is_cjk(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


class FGIError(Exception):
    """Root of every error this package raises on purpose."""

    exit_code: int = 1
    default_hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def user_text(self) -> str:
        """Message plus hint as one paragraph of whole sentences, safe to show to the user."""
        message, hint = self.message.strip(), self.hint.strip() if self.hint else ""
        if not hint:
            return message
        if not message:
            return hint
        message = as_sentence(message)
        # After a full-width stop (。！？) CJK typography puts no space.
        space = "" if message.rstrip(_CLOSERS)[-1:] in tuple(_FULL_WIDTH_STOPS) else " "
        return f"{message}{space}{hint}"


class InvalidInput(FGIError):
    """An argument or local file was refused before anything was sent.

    ``argument`` is the API name of the argument at fault (``duration_s``), so each skin can name it its own
    way (the CLI says ``--duration``).
    """

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None, argument: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.argument = argument


class NotFound(FGIError):
    """Something named by the caller does not exist (job id, file)."""

    exit_code = 2


class NotReady(FGIError):
    """The operation needs something that is not there yet."""

    exit_code = 3


class Cancelled(FGIError):
    """Waiting was stopped by the user or the client."""

    exit_code = 130
