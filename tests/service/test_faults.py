"""Each sandbox fault, survived: the journal proves nothing was sent twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from free_generation_image.config import Settings
from free_generation_image.generation import GenerationUnconfirmed
from free_generation_image.nemo.errors import BackendUnavailable, NemoError
from free_generation_image.sandbox import Sandbox
from free_generation_image.service import Service
from tests.helpers import make_service, sse_requests

pytestmark = pytest.mark.anyio


async def test_dropped_stream_is_recovered_from_state_without_resending(
    service: Service, sandbox: Sandbox
) -> None:
    sandbox.inject("drop_stream", after=1)
    result = await service.generate("an image of a glacier", kind="image")
    assert result.status == "completed" and result.media
    assert any("not sent again" in note for note in result.notes)
    assert len(sse_requests(sandbox)) == 1


async def test_dropped_stream_with_no_change_says_so_honestly(settings: Settings, sandbox: Sandbox) -> None:
    sandbox.inject("drop_stream", after=1)
    sandbox.inject("slow_stream", seconds=30)
    async with make_service(settings, recovery_delays=(0.1, 0.1)) as svc:
        with pytest.raises(GenerationUnconfirmed) as info:
            await svc.generate("an image of a glacier", kind="image")
    assert "NOT sent again" in info.value.hint
    assert len(sse_requests(sandbox)) == 1


async def test_silent_turn_reports_what_changed(service: Service, sandbox: Sandbox) -> None:
    sandbox.inject("silent_close")
    result = await service.generate("an image of a glacier", kind="image")
    assert "without a message" in result.reply
    assert result.changes and result.media


async def test_trailing_temporary_issue_text_is_dropped(service: Service, sandbox: Sandbox) -> None:
    sandbox.inject("temporary_issue")
    result = await service.generate("an image of a glacier", kind="image")
    assert "temporary issue" not in result.reply.lower()


async def test_agent_error_frame_without_change_is_an_error(service: Service, sandbox: Sandbox) -> None:
    sandbox.inject("error_frame", after=0)
    with pytest.raises(NemoError, match="agent reported an error"):
        await service.generate("an image of a glacier", kind="image")
    assert len(sse_requests(sandbox)) == 1


async def test_expired_token_is_replaced_once_and_the_request_repeated(
    service: Service, sandbox: Sandbox
) -> None:
    await service.credits()
    sandbox.inject("token_expired")
    result = await service.generate("an image of a harbour", kind="image")
    assert result.status == "completed"
    tokens = [e for e in sandbox.journal("/api/auth/anonymous-token") if e.kind == "request"]
    assert len(tokens) == 2
    assert len(sse_requests(sandbox)) == 1


async def test_lost_session_starts_a_new_project_and_says_so(service: Service, sandbox: Sandbox) -> None:
    first = await service.generate("an image of a bridge", kind="image")
    sandbox.inject("session_lost")
    second = await service.generate("an image of a tunnel", kind="image")
    assert second.status == "completed"
    assert first.project and second.project and first.project.session_id != second.project.session_id
    assert any("not carried over" in note for note in second.notes)
    assert len(sse_requests(sandbox)) == 2


async def test_rate_limit_is_honoured_and_retried_once(service: Service, sandbox: Sandbox) -> None:
    sandbox.inject("rate_limited", path="/api/credits", retry_after=1)
    info = await service.credits()
    assert info.available == 100
    hits = [e for e in sandbox.journal("/api/credits") if e.kind == "request"]
    assert [e.status for e in hits] == [429, 200]
    assert hits[1].at - hits[0].at >= 0.9


async def test_html_error_pages_and_malformed_json_become_clear_errors(
    service: Service, sandbox: Sandbox
) -> None:
    await service.credits()
    sandbox.inject("server_error", path="/api/credits", times=None)
    with pytest.raises(BackendUnavailable) as info:
        await service.credits()
    assert "<html" not in str(info.value).lower()


async def test_upload_local_file_and_url(service: Service, sandbox: Sandbox, tmp_path: Path) -> None:
    from PIL import Image

    picture = tmp_path / "ref.png"
    Image.new("RGB", (64, 48), "teal").save(picture)
    result = await service.upload([str(picture), "https://example.com/clip.mp4"])
    assert result.files[0].filename == "ref.png"
    assert len(result.files) == 2
