"""Backend errors, each with the next step for the user. Built in one place: ``error_from``.

NemoError                     root of backend failures (``code``, ``status``)
├── AuthError                 1001 / HTTP 401: token invalid, expired or revoked
├── SessionNotFound           1002: the project (session) is gone
├── InsufficientCredits       2001: not enough credits
├── PlanRequired              HTTP 402: export blocked by the plan (not credits)
├── UnsupportedFileType       4001
├── FileTooLarge              4002
├── RateLimited               HTTP 429 (``retry_after`` seconds)
├── RenderFailed              a render ended in ``failed``
├── BackendUnavailable        5xx, HTML error pages, network failures, timeouts
│   └── StreamDropped         /run_sse broke after the prompt may have arrived: never re-send
└── BadResponse               malformed JSON or an unexpected shape

Messages often quote the backend, so every one is cleaned where it is built (``NemoError.__init__``):
one line, no escape sequence, control or bidi character, whoever prints or returns it.
"""

from __future__ import annotations

from free_generation_image.config import DEFAULT_WEB_URL
from free_generation_image.errors import FGIError
from free_generation_image.nemo.sanitize import clean, clean_line

ACCEPTED_FORMATS = "video mp4/mov/avi/webm/mkv, image jpg/jpeg/png/gif/webp, audio mp3/wav/m4a/aac"
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


class NemoError(FGIError):
    """The NemoVideo backend refused or failed a request."""

    exit_code = 4

    def __init__(
        self, message: str, *, hint: str | None = None, code: int | None = None, status: int | None = None
    ) -> None:
        super().__init__(clean_line(message), hint=clean(hint) if hint else hint)
        self.code = code
        self.status = status


class AuthError(NemoError):
    default_hint = (
        "The NemoVideo token is invalid, expired or revoked. Unset NEMO_TOKEN to use a free anonymous "
        "token, or create a new one at nemovideo.com -> Settings -> API Tokens."
    )


class SessionNotFound(NemoError):
    default_hint = "The project no longer exists on the backend; a new one will be started."


class InsufficientCredits(NemoError):
    exit_code = 5

    def __init__(
        self,
        message: str = "Not enough credits.",
        *,
        user_id: str | None = None,
        web_url: str = DEFAULT_WEB_URL,
        code: int | None = 2001,
        status: int | None = None,
    ) -> None:
        self.user_id = user_id
        super().__init__(message, hint=credits_hint(user_id, web_url), code=code, status=status)


def credits_hint(user_id: str | None, web_url: str = DEFAULT_WEB_URL) -> str:
    """Where to get more credits: registration (keeps anonymous history) or top-up."""
    if user_id and user_id.startswith("anon_"):
        return (
            "The free credits are not enough for this. "
            f"Register at {web_url}/register?bind={user_id} to keep this project and get more credits."
        )
    return f"Top up at {web_url} (Account -> Credits), then try again."


class PlanRequired(NemoError):
    default_hint = (
        "Export is blocked by the current plan, not by credits (export itself is free). Upgrade the plan at "
        "nemovideo.com, or open the project in the web app with the link provided."
    )


class UnsupportedFileType(NemoError):
    exit_code = 2  # the input is what must change, whether we or the backend noticed
    default_hint = f"Accepted formats: {ACCEPTED_FORMATS}."


class FileTooLarge(NemoError):
    exit_code = 2
    default_hint = "Files must be at most 200 MB: compress or trim it first."


class RateLimited(NemoError):
    def __init__(
        self, message: str, *, retry_after: float = 30.0, code: int | None = None, status: int | None = 429
    ) -> None:
        self.retry_after = retry_after
        super().__init__(
            message,
            hint=f"Rate limited by the backend: retry in {retry_after:g} s.",
            code=code,
            status=status,
        )


class RenderFailed(NemoError):
    default_hint = "The render failed twice. Try export again later, or open the project in the web app."


class BackendUnavailable(NemoError):
    default_hint = "The NemoVideo backend is unreachable or failing. Check the connection and retry shortly."


class StreamDropped(BackendUnavailable):
    """The /run_sse stream broke after the prompt may have reached the backend; it must not be re-sent.

    ``events_seen`` counts the events (heartbeats excluded) that were delivered before the drop.
    """

    default_hint = (
        "The connection dropped while the backend was working. The prompt was not sent again (that could "
        "charge twice); the project state shows whether the work finished."
    )

    def __init__(
        self, message: str, *, events_seen: int, hint: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message, hint=hint, status=status)
        self.events_seen = events_seen


class BadResponse(NemoError):
    default_hint = "The backend sent a response we could not read. Retry; if it persists, report it."


_BY_CODE: dict[int, type[NemoError]] = {
    1001: AuthError,
    1002: SessionNotFound,
    4001: UnsupportedFileType,
    4002: FileTooLarge,
}


def error_from(
    *,
    code: int | None,
    status: int | None,
    message: str | None,
    retry_after: float | None = None,
    user_id: str | None = None,
    web_url: str = DEFAULT_WEB_URL,
) -> NemoError:
    """Map an application code (checked first) and/or HTTP status to the right exception."""
    text = clean_line(message or "") or (f"HTTP {status}" if status else f"error code {code}")
    if code == 2001:
        return InsufficientCredits(
            f"Not enough credits: {text}", user_id=user_id, web_url=web_url, status=status
        )
    if code in _BY_CODE:
        return _BY_CODE[code](text, code=code, status=status)
    if status == 401 or status == 403:
        return AuthError(text, code=code, status=status)
    if status == 402:
        return PlanRequired(text, code=code, status=status)
    if status == 429:
        return RateLimited(text, retry_after=retry_after if retry_after is not None else 30.0, code=code)
    if status == 404 and "session" in text.lower():
        return SessionNotFound(text, code=code, status=status)
    if status is not None and (status >= 500 or status == 408):  # 408: transient, like a 5xx
        return BackendUnavailable(text, code=code, status=status)
    return NemoError(text, code=code, status=status)
