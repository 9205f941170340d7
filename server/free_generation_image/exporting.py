"""The body of an export job: submit a render, poll it adaptively, retry once with a new id after a
failure, then download the file (falling back to the backend's download endpoint)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import anyio

from free_generation_image.jobs import Job, Progress
from free_generation_image.nemo.client import NemoClient
from free_generation_image.nemo.errors import (
    BackendUnavailable,
    BadResponse,
    NemoError,
    RateLimited,
    RenderFailed,
)
from free_generation_image.nemo.models import RenderStatus
from free_generation_image.polling import PollPolicy, next_delay

log = logging.getLogger(__name__)


class RenderTimedOut(NemoError):
    default_hint = "The render is taking unusually long. Call status later, or export again."


@dataclass
class RenderOutcome:
    status: RenderStatus
    notes: list[str]


def new_render_id() -> str:
    return f"render_{uuid.uuid4().hex}"


async def poll_until_done(
    client: NemoClient,
    render_id: str,
    job: Job,
    policy: PollPolicy,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> RenderStatus:
    """Poll one render until it ends; transient poll errors keep the same id, bounded in count and time."""
    started = time.monotonic()
    samples: list[tuple[float, float]] = []
    delay: float | None = None
    errors = 0
    while True:
        elapsed = time.monotonic() - started
        if elapsed > policy.give_up_after:
            raise RenderTimedOut(
                f"Render {render_id} did not finish within {policy.give_up_after / 60:.0f} min."
            )
        delay = next_delay(policy, elapsed, samples, delay)
        await sleep(delay)
        try:
            status = await client.poll_render(render_id)
        except RateLimited as err:
            errors += 1
            if errors > policy.max_consecutive_errors:
                raise
            await sleep(min(err.retry_after, policy.max_delay))
            continue
        except (BackendUnavailable, BadResponse):  # an unreadable poll answer is as passing as a 503
            errors += 1
            if errors > policy.max_consecutive_errors:
                raise
            continue
        errors = 0
        if status.status in ("completed", "failed", "cancelled"):
            return status
        samples.append((time.monotonic() - started, status.progress))
        job.update(Progress(message=f"rendering {status.progress:.0f}%", percent=status.progress))


async def render(
    client: NemoClient,
    job: Job,
    session_id: str,
    draft: dict[str, Any],
    fmt: Literal["mp4", "png"],
    policy: PollPolicy,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    resume_render_id: str | None = None,
) -> RenderOutcome:
    """Render the draft; at most two renders in total for this job (the second only after a failure)."""
    notes: list[str] = []
    render_id = resume_render_id
    while True:
        if render_id is None:
            if job.record.renders_submitted >= 2:
                raise RenderFailed("The render failed twice.")
            render_id = new_render_id()
            job.record.render_id = render_id
            job.record.renders_submitted += 1
            job.update(Progress(message="submitting the render", percent=0.0), persist=True)
            try:
                await client.submit_render(session_id, draft, render_id=render_id, fmt=fmt)
            except (BackendUnavailable, BadResponse) as err:  # renders are free: a second id costs nothing
                log.info("render submit failed: %s", err)
                notes.append(f"The first render request failed ({err.message}); retried once with a new id.")
                render_id = None
                continue
        job.handed_off.set()
        try:
            status = await poll_until_done(client, render_id, job, policy, sleep)
        except NemoError as err:
            if err.status != 404 or resume_render_id != render_id:
                raise
            # Resumed after a crash during the submit: the backend never got that render. Submit anew
            # (it counts towards the two-render limit).
            log.info("resumed render %s is unknown to the backend; submitting again", render_id)
            notes.append(
                "The render requested before the restart never reached the backend; it was requested again."
            )
            render_id = resume_render_id = None
            continue
        if status.status == "completed":
            return RenderOutcome(status, notes)
        if status.status == "cancelled":
            return RenderOutcome(status, notes)
        reason = status.error or "no reason given"
        if job.record.renders_submitted >= 2:
            raise RenderFailed(f"The render failed twice (last error: {reason}).")
        notes.append(f"The first render failed ({reason}); retried once with a new id.")
        render_id = None
