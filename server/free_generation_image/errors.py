"""The exception tree. Every error carries a ``hint``: what the user should do next.

FGIError                      root; ``str(err)`` = message, ``err.hint`` = next step
├── InvalidInput              bad argument or local file, nothing was sent
├── NotFound                  unknown job id, missing output, ...
├── NotReady                  e.g. export before anything was generated
├── Cancelled                 the user stopped waiting
└── NemoError                 the backend said no (see nemo/errors.py)
"""

from __future__ import annotations


class FGIError(Exception):
    """Root of every error this package raises on purpose."""

    exit_code: int = 1
    default_hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def user_text(self) -> str:
        """Message plus hint, one paragraph, safe to show to the user."""
        return f"{self.message} {self.hint}".strip() if self.hint else self.message


class InvalidInput(FGIError):
    """An argument or local file was refused before anything was sent."""

    exit_code = 2


class NotFound(FGIError):
    """Something named by the caller does not exist (job id, file)."""

    exit_code = 2


class NotReady(FGIError):
    """The operation needs something that is not there yet."""

    exit_code = 3


class Cancelled(FGIError):
    """Waiting was stopped by the user or the client."""

    exit_code = 130
