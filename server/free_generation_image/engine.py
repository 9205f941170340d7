"""The job engine: runs job bodies in the service's task group, records how they end, resumes orphans.

It knows no job kinds: each kind hands it a body when a job starts and a resume function up front.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup
from pydantic import BaseModel

from free_generation_image.errors import FGIError
from free_generation_image.jobs import Job, JobRegistry, Progress

log = logging.getLogger(__name__)


class Outcome(Protocol):
    """What a job body returns: a result model with a status."""

    @property
    def status(self) -> str: ...

    def model_dump(self, *, mode: str = "python") -> dict[str, Any]: ...


M = TypeVar("M", bound=BaseModel)
Body = Callable[[], Awaitable[Outcome]]
Resume = Callable[[Job], Awaitable[Outcome]]


class JobFailed(FGIError):
    """A job ended in failure; carries the original error's message, hint and exit code."""

    def __init__(self, job_id: str, error: dict[str, str] | None) -> None:
        error = error or {}
        super().__init__(error.get("message") or f"Job {job_id} failed.", hint=error.get("hint", ""))
        self.job_id = job_id
        self.error_type = error.get("type", "FGIError")
        with contextlib.suppress(ValueError):
            self.exit_code = int(error.get("exit_code", "1"))


def error_dict(err: FGIError) -> dict[str, str]:
    return {
        "type": type(err).__name__,
        "message": err.message,
        "hint": err.hint,
        "exit_code": str(err.exit_code),
    }


def local_error(err: OSError) -> FGIError:
    """A file-system error as something a person can act on."""
    where = f" ({err.filename})" if err.filename else ""
    return FGIError(
        f"A local file operation failed{where}: {err.strerror or type(err).__name__}.",
        hint="Check that the config folder (NEMO_CONFIG_DIR) and the output folder (NEMO_OUTPUT_DIR) are "
        "folders you can write to, with free space.",
    )


def view_of(
    job: Job, model: type[M], running: Mapping[str, Any], stopped: Mapping[str, Any] | None = None
) -> M:
    """A job as its result model: the stored result, a running or stopped view, or its failure raised."""
    record = job.record
    if record.status == "succeeded" and record.result:
        return model.model_validate(record.result)
    if record.status == "running":
        return model(status="running", job_id=job.id, **running)
    if record.status in ("cancelled", "interrupted"):
        return model(status=record.status, job_id=job.id, **(stopped or {}))
    raise failure(job)


def failure(job: Job) -> FGIError:
    """The error a failed job ended with: the original one if it failed in this process."""
    if isinstance(job.exception, FGIError):
        return job.exception
    return JobFailed(job.id, job.record.error)


class Engine:
    """Starts job bodies, finishes their records whatever happens, and resumes jobs of dead processes."""

    def __init__(self, jobs: JobRegistry) -> None:
        self.jobs = jobs
        self._tg: TaskGroup | None = None
        self._resume: dict[str, Resume] = {}

    def attach(self, tg: TaskGroup | None) -> None:
        self._tg = tg

    def on_resume(self, kind: str, resume: Resume) -> None:
        self._resume[kind] = resume

    def spawn(self, job: Job, body: Body) -> None:
        if self._tg is None:
            raise RuntimeError("Service is not running; use 'async with Service(...)'")
        self._tg.start_soon(self._run, job, body, name=f"job {job.id}")

    async def _run(self, job: Job, body: Body) -> None:
        with anyio.CancelScope() as scope:
            job.cancel_scope = scope
            try:
                result = await body()
            except FGIError as err:
                log.info("job %s failed: %s", job.id, err.message)
                job.exception = err
                await job.end("failed", error=error_dict(err))
            except OSError as err:
                log.warning("job %s failed on a local file: %s", job.id, err)
                job.exception = local_error(err)
                await job.end("failed", error=error_dict(job.exception))
            except Exception as err:  # a bug must not take the server down; the job reports it
                log.exception("job %s crashed", job.id)
                await job.end(
                    "failed",
                    error={
                        "type": type(err).__name__,
                        "exit_code": "1",
                        "message": f"Unexpected error: {type(err).__name__}.",
                        "hint": "This is a bug; please report it with the server log.",
                    },
                )
            else:
                await job.end(
                    "cancelled" if result.status == "cancelled" else "succeeded",
                    result=result.model_dump(mode="json"),
                )
        if scope.cancelled_caught and not job.done and not job.lost:
            await job.end("cancelled")

    async def reconcile(self) -> int:
        """Adopt jobs left running by a process that is gone, and resume them. Returns how many."""
        if self._tg is None:
            return 0
        orphans = await anyio.to_thread.run_sync(lambda: list(self.jobs.orphans()))
        adopted = 0
        for record in orphans:
            resume = self._resume.get(record.kind)
            if not await anyio.to_thread.run_sync(self.jobs.claim, record):
                continue  # another replica won it
            job = self.jobs.adopt(record)
            adopted += 1
            if resume is None:
                await job.end("interrupted")
                continue
            job.update(Progress(message="resuming after a restart"), persist=True)
            self.spawn(job, lambda job=job, resume=resume: resume(job))  # type: ignore[misc]
        return adopted


__all__ = ["Engine", "JobFailed", "error_dict", "failure", "local_error", "view_of"]
