"""What a command leaves on stdout (plain text, or exactly one JSON document with ``--json``) and the
exit code a script can branch on. Pure: no IO, no service.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from free_generation_image.errors import FGIError
from free_generation_image.models import ChatResult, ExportResult, GenerateResult, StatusResult

PROG = "free-generation-image"

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_NOT_READY = 3
EXIT_BACKEND = 4
EXIT_CREDITS = 5
EXIT_RUNNING = 75  # sysexits EX_TEMPFAIL: "try again later", here with the job id to collect
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C

EXIT_CODES_HELP = f"""exit codes:
  {EXIT_OK:<4} done
  {EXIT_UNEXPECTED:<4} unexpected error (a bug: run again with --debug and report it)
  {EXIT_USAGE:<4} usage error, invalid input or unknown job id
  {EXIT_NOT_READY:<4} not ready (e.g. nothing to export yet)
  {EXIT_BACKEND:<4} the NemoVideo backend refused or failed
  {EXIT_CREDITS:<4} out of credits, or the generation likely costs more than is available
  {EXIT_RUNNING:<4} still running when --wait ran out: collect it with `{PROG} status --job ID`
  {EXIT_INTERRUPTED:<4} interrupted (Ctrl-C) or cancelled
"""


class Result(Protocol):
    """Every operation's result model: the facts in words (``text``) and as structured output."""

    def text(self) -> str: ...

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
    if isinstance(result, GenerateResult | ExportResult):
        return result.status
    if isinstance(result, StatusResult):
        inner = result.generate or result.export
        if inner is not None:
            return inner.status
        return result.job.status if result.job is not None else None
    if isinstance(result, ChatResult):
        for part in (result.generate, result.export, result.status):
            if part is not None:
                return job_state(part)
    return None


def running_job_id(result: Result) -> str | None:
    """The id to collect later when the result is a job still running."""
    if job_state(result) != "running":
        return None
    if isinstance(result, GenerateResult | ExportResult):
        return result.job_id
    if isinstance(result, StatusResult):
        inner = result.generate or result.export
        return inner.job_id if inner is not None else result.job.job_id if result.job is not None else None
    if isinstance(result, ChatResult):
        for part in (result.generate, result.export, result.status):
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
    """The human summary: the same key facts as the tools' text, plus how to resume from a shell."""
    text = result.text()
    job_id = running_job_id(result)
    return f"{text}\n{resume_hint(job_id)}" if job_id else text


def render_json(document: Result | Mapping[str, Any], *, ascii_only: bool = False) -> str:
    """One JSON document: a result model as its structured output (``model_dump(mode="json")``)."""
    data = dict(document) if isinstance(document, Mapping) else document.model_dump(mode="json")
    return json.dumps(data, ensure_ascii=ascii_only, indent=2)


def error_document(err: FGIError, **extra: Any) -> dict[str, Any]:
    """The ``--json`` form of an error: what happened, what to do, and the exit code."""
    return {
        "error": {
            "type": type(err).__name__,
            "message": err.message,
            "hint": err.hint,
            "exit_code": err.exit_code,
            **extra,
        }
    }


__all__ = [
    "EXIT_BACKEND",
    "EXIT_CODES_HELP",
    "EXIT_CREDITS",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_READY",
    "EXIT_OK",
    "EXIT_RUNNING",
    "EXIT_UNEXPECTED",
    "EXIT_USAGE",
    "PROG",
    "error_document",
    "exit_code_for",
    "job_state",
    "render_json",
    "render_text",
    "resume_hint",
    "running_job_id",
]
