"""What a command leaves on stdout (plain text, or exactly one JSON document with ``--json``) and the
exit code a script can branch on. Pure: no IO, no service.

Everything here may carry backend text (agent replies, labels, error messages), so all of it leaves
through :func:`clean`: no escape sequence or control character from the backend reaches a terminal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Protocol

from free_generation_image.errors import FGIError, InvalidInput
from free_generation_image.models import (
    CLI_COMMAND,
    ChatResult,
    ExportResult,
    GenerateResult,
    StatusResult,
    UploadResult,
    Voice,
)
from free_generation_image.nemo.sanitize import clean

PROG = CLI_COMMAND

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_NOT_READY = 3
EXIT_BACKEND = 4
EXIT_CREDITS = 5
EXIT_RUNNING = 75  # sysexits EX_TEMPFAIL: "try again later", here with the job id to collect
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE, what `git log | head` reports: the reader stopped reading

EXIT_CODES_HELP = f"""exit codes:
  {EXIT_OK:<4} done
  {EXIT_UNEXPECTED:<4} not sent (you answered no when asked to spend), or an unexpected error (a bug:
       run again with --debug and report it)
  {EXIT_USAGE:<4} usage error, invalid input or unknown job id
  {EXIT_NOT_READY:<4} not ready (e.g. nothing to export yet, or video support missing)
  {EXIT_BACKEND:<4} the NemoVideo backend refused or failed
  {EXIT_CREDITS:<4} out of credits (the backend said so)
  {EXIT_RUNNING:<4} still running when --wait ran out: collect it with `{PROG} status --job ID`
  {EXIT_INTERRUPTED:<4} interrupted (Ctrl-C) or cancelled
  {EXIT_PIPE_CLOSED:<4} stdout was closed early (e.g. piped into head): the rest was not printed
"""

# The API's argument names (MCP tools, service) and the flags that set them on this command line.
CLI_FLAGS = {
    "duration_s": "--duration",
    "aspect_ratio": "--aspect-ratio",
    "kind": "--kind",
    "new_project": "--new-project",
    "wait_seconds": "--wait",
    "job_id": "--job",
    "format": "--format",
    "output_dir": "--output",
}


class Result(Protocol):
    """Every operation's result model: the facts in words (``text``) and as structured output."""

    def text(self, voice: Voice = ...) -> str: ...

    def model_dump(self, *, mode: str = ...) -> dict[str, Any]: ...


# Job states as the results spell them ("completed") and as the job log does ("succeeded").
_EXIT_BY_STATE = {
    "completed": EXIT_OK,
    "succeeded": EXIT_OK,
    "running": EXIT_RUNNING,
    "cancelled": EXIT_INTERRUPTED,
    "interrupted": EXIT_INTERRUPTED,
    "failed": EXIT_UNEXPECTED,  # callers that know the job's own error code use that instead
}


def job_state(result: Result) -> str | None:
    """The state of the job a result is about, or None when it is not about a job (credits, upload...)."""
    if isinstance(result, GenerateResult | ExportResult | UploadResult):
        return result.status
    if isinstance(result, StatusResult):
        inner = result.generate or result.export or result.upload
        if inner is not None:
            return inner.status
        return result.job.status if result.job is not None else None
    if isinstance(result, ChatResult):
        for part in (result.generate, result.export, result.upload, result.status):
            if part is not None:
                return job_state(part)
    return None


def running_job_id(result: Result) -> str | None:
    """The id to collect later when the result is a job still running."""
    if job_state(result) != "running":
        return None
    if isinstance(result, GenerateResult | ExportResult | UploadResult):
        return result.job_id
    if isinstance(result, StatusResult):
        inner = result.generate or result.export or result.upload
        return inner.job_id if inner is not None else result.job.job_id if result.job is not None else None
    if isinstance(result, ChatResult):
        for part in (result.generate, result.export, result.upload, result.status):
            if part is not None:
                return running_job_id(part)
    return None


def exit_code_for(result: Result, *, failed_code: int = EXIT_UNEXPECTED) -> int:
    """0 when done (or not about a job), 75 while running, 130 when cancelled, ``failed_code`` if failed."""
    state = job_state(result)
    if state is None:
        return EXIT_OK
    if state == "failed":
        return failed_code
    return _EXIT_BY_STATE.get(state, EXIT_UNEXPECTED)


def resume_hint(job_id: str) -> str:
    """The command that collects a job later (also after this process is gone)."""
    return f"Collect it later with: {PROG} status --job {job_id}"


def render_text(result: Result) -> str:
    """The human summary: the tools' key facts, told in commands (how to resume from a shell)."""
    return clean(result.text(voice="cli"))


def render_json(document: Result | Mapping[str, Any], *, ascii_only: bool = False) -> str:
    """One JSON document: a result model as its structured output (``model_dump(mode="json")``).

    Strings are cleaned too: JSON escapes ESC, but bidi overrides would reach the terminal as they are.
    """
    data = dict(document) if isinstance(document, Mapping) else document.model_dump(mode="json")
    return json.dumps(_cleaned(data), ensure_ascii=ascii_only, indent=2)


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, Mapping):
        return {key: _cleaned(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_cleaned(item) for item in value]
    return value


def in_cli_terms(err: FGIError) -> tuple[str, str]:
    """Message and hint naming the flag (``--duration``), not the API argument (``duration_s``)."""
    message, hint = err.message, err.hint
    argument = err.argument if isinstance(err, InvalidInput) else None
    flag = CLI_FLAGS.get(argument or "")
    if argument is None or flag is None:
        return message, hint
    name = re.compile(rf"(?<![\w-]){re.escape(argument)}(?!\w)")
    message, hint = name.sub(flag, message), name.sub(flag, hint)
    if flag not in message + hint:
        message = f"{flag}: {message}"
    return message, hint


def error_line(err: FGIError) -> str:
    """The one line a person sees on stderr: ``error: `` and the error's sentences, in CLI terms."""
    message, hint = in_cli_terms(err)
    return "error: " + " ".join(clean(FGIError(message, hint=hint).user_text()).split("\n"))


def error_document(err: FGIError, **extra: Any) -> dict[str, Any]:
    """The ``--json`` form of an error: what happened, what to do, the exit code (and the flag at fault)."""
    message, hint = in_cli_terms(err)
    argument = err.argument if isinstance(err, InvalidInput) else None
    flag = CLI_FLAGS.get(argument or "")
    return {
        "error": {
            "type": type(err).__name__,
            "message": message,
            "hint": hint,
            "exit_code": err.exit_code,
            **({"argument": flag} if flag else {}),
            **extra,
        }
    }


__all__ = [
    "CLI_FLAGS",
    "EXIT_BACKEND",
    "EXIT_CODES_HELP",
    "EXIT_CREDITS",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_READY",
    "EXIT_OK",
    "EXIT_PIPE_CLOSED",
    "EXIT_RUNNING",
    "EXIT_UNEXPECTED",
    "EXIT_USAGE",
    "PROG",
    "error_document",
    "error_line",
    "exit_code_for",
    "in_cli_terms",
    "job_state",
    "render_json",
    "render_text",
    "resume_hint",
    "running_job_id",
]
