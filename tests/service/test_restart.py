"""Jobs outlive the process: a new service (same config dir) resumes renders and reconciles generations."""

from __future__ import annotations

import anyio
import pytest

from free_generation_image.config import Settings
from free_generation_image.sandbox import Sandbox
from tests.helpers import make_service, render_submits, sse_requests

pytestmark = pytest.mark.anyio


async def test_render_polling_resumes_after_a_restart(settings: Settings, sandbox: Sandbox) -> None:
    async with make_service(settings) as first:
        await first.generate("an image of a comet", kind="image")
        sandbox.configure(render_seconds=1.5)
        running = await first.export(wait_seconds=0.2)
        assert running.status == "running"
    # The first process is gone; its job is still "running" in the log.
    async with make_service(settings) as second:
        listing = await second.status()
        assert any(job.job_id == running.job_id for job in listing.jobs)
        done = await second.status(running.job_id, wait_seconds=20)
        assert done.export is not None and done.export.status == "completed" and done.export.file
        assert any("Resumed" in note for note in done.export.notes)
    assert len(render_submits(sandbox)) == 1


async def test_interrupted_generation_is_read_from_state_not_resent(
    settings: Settings, sandbox: Sandbox
) -> None:
    sandbox.configure(generation_seconds=1.0)
    async with make_service(settings) as first:
        running = await first.generate("an image of an owl", kind="image", wait_seconds=0.2)
        assert running.status == "running"
    await anyio.sleep(1.5)  # the backend finishes the turn although nobody listens
    async with make_service(settings) as second:
        done = await second.status(running.job_id, wait_seconds=20)
        assert done.generate is not None and done.generate.status == "completed"
        assert done.generate.media
        assert any("was not sent again" in note for note in done.generate.notes)
    assert len(sse_requests(sandbox)) == 1


async def test_status_without_project_says_how_to_start(settings: Settings) -> None:
    async with make_service(settings) as svc:
        result = await svc.status()
    assert result.project is None and "generate" in result.text().lower()
