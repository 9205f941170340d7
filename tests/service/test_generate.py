"""generate against the sandbox: files on disk, credits shown, never sent twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from free_generation_image.nemo.errors import InsufficientCredits
from free_generation_image.sandbox import Sandbox
from free_generation_image.service import Service
from tests.helpers import sse_requests

pytestmark = pytest.mark.anyio


async def test_image_prompt_ends_with_a_png_on_disk(service: Service, sandbox: Sandbox) -> None:
    result = await service.generate("generate an image of a futuristic city at night", kind="image")
    assert result.status == "completed"
    assert len(result.media) == 1
    saved = Path(result.media[0].path)
    assert saved.parent == service.settings.output_dir and saved.suffix == ".png"
    assert "futuristic-city" in saved.name
    with Image.open(saved) as img:
        assert img.format == "PNG" and img.width > 0
    sidecar = json.loads(Path(result.media[0].sidecar or "").read_text())  # noqa: ASYNC240
    assert sidecar["prompt"] == "generate an image of a futuristic city at night"
    assert sidecar["project"]["session_id"] == result.project.session_id if result.project else False
    assert (result.credits_before, result.credits_after, result.credits_spent) == (100, 70, 30)
    assert result.timeline.startswith("Timeline (")
    assert result.reply and "click" not in result.reply.lower()
    assert result.project and result.project.link and "/workspace/claim?ct=" in result.project.link
    assert sse_requests(sandbox)[0].message.startswith("generate an image of a futuristic city")
    assert len(sse_requests(sandbox)) == 1


async def test_same_prompt_twice_returns_the_same_job_and_is_sent_once(
    service: Service, sandbox: Sandbox
) -> None:
    first = await service.generate("an image of a red fox", kind="image", wait_seconds=0)
    second = await service.generate("An  image of a red fox ", kind="image", wait_seconds=30)
    assert second.deduplicated and second.job_id == first.job_id and second.status == "completed"
    third = await service.generate("an image of a red fox", kind="image", wait_seconds=30)
    assert third.job_id == first.job_id
    assert len(sse_requests(sandbox)) == 1


async def test_short_wait_returns_a_job_id_that_status_collects(service: Service, sandbox: Sandbox) -> None:
    sandbox.configure(generation_seconds=1.0)
    running = await service.generate("a video of waves", kind="video", wait_seconds=0.05)
    assert running.status == "running" and running.job_id.startswith("job_")
    assert "status" in running.text()
    done = await service.status(running.job_id, wait_seconds=20)
    assert done.generate is not None and done.generate.status == "completed"
    assert done.generate.media and Path(done.generate.media[0].path).suffix == ".mp4"
    assert len(sse_requests(sandbox)) == 1


async def test_chinese_prompt_makes_a_chinese_session(service: Service, sandbox: Sandbox) -> None:
    result = await service.generate("画一张海边日落的图片", kind="image")
    assert result.status == "completed"
    created = [e for e in sandbox.journal("/api/tasks/") if e.kind == "request"]
    assert '"zh' in created[0].body
    assert any("\u4e00" <= ch <= "\u9fff" for ch in result.reply)


async def test_an_estimate_above_the_balance_never_blocks_and_learns_the_real_price(
    service: Service, sandbox: Sandbox
) -> None:
    sandbox.configure(starting_credits=60, cost_video=50)
    result = await service.generate("a video of a lighthouse", kind="video")
    # 100 estimated, 60 available: sent anyway; only the backend's 2001 may say the credits ran out.
    assert result.status == "completed" and result.credits_estimate == 100
    assert any("an estimate, not a price" in note and "60 available" in note for note in result.notes)
    assert result.credits_spent == 50
    assert await service.preflight("another clip", "video") == (50, 10)  # follows what was charged
    assert len(sse_requests(sandbox)) == 1


async def test_a_prompt_naming_no_kind_makes_an_image(service: Service, sandbox: Sandbox) -> None:
    result = await service.generate("sunset over a mountain lake")
    assert result.status == "completed" and [m.kind for m in result.media] == ["png"]
    assert (result.credits_spent, result.credits_estimate) == (30, 30)
    assert "still image" in (sse_requests(sandbox)[0].message or "")


async def test_out_of_credits_error_carries_the_registration_link(service: Service, sandbox: Sandbox) -> None:
    await service.credits()
    sandbox.inject("out_of_credits")
    with pytest.raises(InsufficientCredits) as info:
        await service.generate("an image of a cat", kind="image")
    assert "/register?bind=anon_" in info.value.user_text()


async def test_options_become_an_explicit_request_the_backend_follows(
    service: Service, sandbox: Sandbox
) -> None:
    result = await service.generate("a lighthouse on a cliff", kind="image", aspect_ratio="9:16")
    with Image.open(result.media[0].path) as img:
        assert img.height > img.width
    message = sse_requests(sandbox)[0].message or ""
    assert message.startswith("a lighthouse on a cliff") and "aspect ratio 9:16" in message
    assert "Title: 'A lighthouse on a cliff'" in result.timeline


async def test_a_duration_the_backend_does_not_honour_is_stated(service: Service, sandbox: Sandbox) -> None:
    result = await service.generate("a clip of surf at noon", kind="video", duration_s=30)
    assert result.status == "completed" and result.credits_spent == 100
    assert "You asked for 30 s; the backend made a 15-s clip (one clip, charged once)." in result.notes
    assert "15-s clip" in result.text()
