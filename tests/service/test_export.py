"""export against the sandbox: a playable file, adaptive polling, one retry at most, cancel."""

from __future__ import annotations

from pathlib import Path

import anyio
import av
import pytest
from PIL import Image

from free_generation_image.errors import NotReady
from free_generation_image.nemo.errors import PlanRequired, RenderFailed
from free_generation_image.sandbox import Sandbox
from free_generation_image.service import Service
from tests.helpers import render_submits

pytestmark = pytest.mark.anyio


async def test_export_before_anything_was_generated_says_what_to_do(service: Service) -> None:
    with pytest.raises(NotReady, match="Nothing to export"):
        await service.export()


async def test_export_mp4_saves_a_playable_video(service: Service, sandbox: Sandbox) -> None:
    await service.generate("a video of a paper boat", kind="video", duration_s=2)
    result = await service.export("mp4", wait_seconds=30)
    assert result.status == "completed" and result.file is not None
    path = Path(result.file.path)
    assert path.suffix == ".mp4" and path.parent == service.settings.output_dir
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert container.duration is not None and abs(container.duration / 1e6 - 2.0) < 0.5
    assert result.url and result.render_id and result.render_id.startswith("render_")
    assert len(render_submits(sandbox)) == 1


async def test_export_png_is_a_still(service: Service) -> None:
    await service.generate("an image of a lantern", kind="image")
    result = await service.export("png", wait_seconds=30)
    assert result.file is not None
    with Image.open(result.file.path) as img:
        assert img.format == "PNG"


async def test_same_unchanged_export_is_not_rendered_twice(service: Service, sandbox: Sandbox) -> None:
    await service.generate("an image of a teapot", kind="image")
    first = await service.export(wait_seconds=30)
    second = await service.export(wait_seconds=30)
    assert second.status == "completed" and second.file == first.file
    assert second.notes == [
        f"The timeline has not changed since export job {first.job_id}: this is the same file."
    ]
    assert first.file is not None and Path(first.file.path).name == "An-image-of-a-teapot-export.mp4"
    assert len(render_submits(sandbox)) == 1


async def test_a_failed_render_is_retried_once_with_a_new_id(service: Service, sandbox: Sandbox) -> None:
    await service.generate("an image of a kite", kind="image")
    sandbox.inject("render_failed")
    result = await service.export(wait_seconds=30)
    assert result.status == "completed" and result.file is not None
    submits = render_submits(sandbox)
    assert len(submits) == 2 and submits[0].body != submits[1].body
    assert any("retried once" in note for note in result.notes)


async def test_two_failed_renders_stop_with_a_clear_error(service: Service, sandbox: Sandbox) -> None:
    await service.generate("an image of a kite", kind="image")
    sandbox.inject("render_failed", times=2)
    with pytest.raises(RenderFailed, match="failed twice"):
        await service.export(wait_seconds=30)
    assert len(render_submits(sandbox)) == 2


async def test_free_plan_block_is_not_reported_as_credits(service: Service, sandbox: Sandbox) -> None:
    await service.generate("an image of a kite", kind="image")
    sandbox.inject("plan_402")
    with pytest.raises(PlanRequired) as info:
        await service.export(wait_seconds=30)
    assert "not by credits" in info.value.hint


async def test_dropped_download_falls_back_to_the_download_endpoint(
    service: Service, sandbox: Sandbox
) -> None:
    await service.generate("a video of rain", kind="video", duration_s=1)
    sandbox.inject("drop_download", path="/files/")
    result = await service.export(wait_seconds=30)
    assert result.file is not None
    with av.open(result.file.path) as container:
        assert container.streams.video
    downloads = [e for e in sandbox.journal("/download") if e.kind == "request"]
    assert len(downloads) == 1
    assert not [p for p in service.settings.output_dir.iterdir() if p.name.startswith(".")]


async def test_cancel_stops_a_pending_render(service: Service, sandbox: Sandbox) -> None:
    await service.generate("an image of a kite", kind="image")
    sandbox.configure(render_seconds=20)
    running = await service.export(wait_seconds=0.3)
    assert running.status == "running"
    cancelled = await service.cancel(running.job_id)
    assert cancelled.status == "cancelled" and cancelled.render_cancelled
    status = await service.status(running.job_id)
    assert status.export is not None and status.export.status == "cancelled"
    await anyio.sleep(0.1)
    assert [e for e in sandbox.journal("/cancel") if e.kind == "request"]


async def test_an_unreadable_submit_answer_is_retried_once_with_a_new_id(
    service: Service, sandbox: Sandbox
) -> None:
    await service.generate("an image of a kite", kind="image")
    sandbox.inject("malformed_json", path="/api/render/proxy/lambda")
    result = await service.export(wait_seconds=30)
    assert result.status == "completed" and result.file is not None
    submits = render_submits(sandbox)
    assert len(submits) == 2 and submits[0].body != submits[1].body
