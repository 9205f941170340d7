"""One agent turn at a time per project, across processes sharing the config dir.

A second generation for the same project waits for the running one (its status says which), so each
job's state before and after, and so its media and timeline change, are its own.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator

import anyio.to_thread

from free_generation_image.deps import Deps
from free_generation_image.jobs import Job, Progress
from free_generation_image.nemo.errors import NemoError


@contextlib.asynccontextmanager
async def project_turn(d: Deps, job: Job, session_id: str) -> AsyncIterator[None]:
    """Hold the project's turn for ``job``; a queued job says what it waits for."""
    lock = d.turns.get("turn-" + hashlib.sha256(session_id.encode()).hexdigest()[:24])
    holder = await anyio.to_thread.run_sync(_holder, d, job, session_id)
    if holder is not None:
        job.update(
            Progress(message=f"queued behind {holder} (one generation at a time per project)"), persist=True
        )
    try:
        async with lock.hold(timeout=d.queue_seconds):
            job.record.params["in_turn"] = True
            yield
    except TimeoutError:
        raise NemoError(
            "The project stayed busy with another generation for "
            f"{d.queue_seconds / 60:.0f} minutes; this one was not sent.",
            hint="Check status for the running job, or generate with new_project=true.",
        ) from None
    finally:
        job.record.params["in_turn"] = False


def _holder(d: Deps, job: Job, session_id: str) -> str | None:
    for record in d.jobs.records():
        if (
            record.id != job.id
            and record.kind == "generate"
            and record.status == "running"
            and record.session_id == session_id
            and record.params.get("in_turn")
        ):
            return record.id
    return None
