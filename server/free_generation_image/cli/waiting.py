"""Following a job from the command line: the service's own waiting, cut to --wait, and how it ended."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from free_generation_image.cli.progress import Activity
from free_generation_image.cli.render import EXIT_UNEXPECTED, PROG
from free_generation_image.cli.run import Run
from free_generation_image.errors import Cancelled, FGIError
from free_generation_image.jobs import Job, Progress

if TYPE_CHECKING:
    from free_generation_image.models import StatusResult
    from free_generation_image.service import Service

HANDOFF_SECONDS = 60.0  # longest wait for the backend to take a job before --wait may end this process


def chunk(run: Run) -> float:
    """The next wait to ask the service for: what is left of --wait, within what the service accepts."""
    from free_generation_image.inputs import MAX_WAIT_SECONDS

    return min(run.remaining(), MAX_WAIT_SECONDS)


async def until_handed_off(service: Service, job: Job, act: Activity) -> None:
    """Wait (bounded) until the backend has the work of a job this process runs, even with --wait 0.

    The job runs inside this process, so exiting earlier would stop it before the backend got it; the
    job says when the backend has it (``Job.handed_off``).
    """
    if job.done or job.record.owner != service.jobs.owner:
        return  # finished, or run by another process: nothing here to hand over

    async def show(progress: Progress) -> None:
        act.update(progress)

    with anyio.move_on_after(HANDOFF_SECONDS) as scope:

        async def watch() -> None:
            await job.handed_off.wait()
            scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            await service.wait(job, HANDOFF_SECONDS, show)


async def follow(run: Run, service: Service, job_id: str, act: Activity) -> StatusResult:
    """Wait for a job until it ends or --wait runs out, in waits the service accepts (<= its maximum).

    A job another process runs is followed through its log file by the service (its end is noticed
    within a second).
    """
    run.watching = [job_id]
    while True:
        status = await service.status(job_id, wait_seconds=chunk(run), on_progress=act)
        job = status.job
        if job is None or job.status != "running" or run.remaining() <= 0:
            return status


def settled(service: Service, status: StatusResult, job_id: str) -> StatusResult:
    """The job's result if it finished, still runs or was cancelled; its own error if it failed."""
    if status.generate is not None or status.export is not None or status.upload is not None:
        return status
    summary = status.job
    if summary is not None and summary.status == "interrupted":
        raise Cancelled(f"Job {job_id} was interrupted.", hint=f"Run `{PROG} status` to see the project.")
    raise job_error(service, job_id)


async def see_through(run: Run, service: Service, job: Job, act: Activity) -> StatusResult:
    """Hand the job to the backend, follow it within --wait, and return how it settled (or its error)."""
    await until_handed_off(service, job, act)
    status = await follow(run, service, job.id, act)
    return settled(service, status, job.id)


def job_error(service: Service, job_id: str) -> FGIError:
    """Why a job failed, in the service's one wording: the original error here, else the one in its log."""
    from free_generation_image.engine import failure

    return failure(service.jobs.get(job_id))


def failure_code(service: Service, job_id: str) -> int:
    """The exit code of a failed job (its error's), or 1 when the job vanished from the log meanwhile."""
    try:
        return job_error(service, job_id).exit_code
    except FGIError:
        return EXIT_UNEXPECTED


__all__ = ["HANDOFF_SECONDS", "chunk", "failure_code", "follow", "see_through", "settled", "until_handed_off"]
