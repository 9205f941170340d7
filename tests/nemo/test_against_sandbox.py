"""The whole client over real loopback HTTP against the sandbox: every call, and the faults that matter.

The journal is the witness for the one rule that costs money: each prompt reaches /run_sse once.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import anyio
import pytest
from PIL import Image

from free_generation_image.config import Settings
from free_generation_image.nemo.client import NemoClient
from free_generation_image.nemo.errors import (
    InsufficientCredits,
    PlanRequired,
    RateLimited,
    SessionNotFound,
    StreamDropped,
)
from free_generation_image.nemo.events import (
    Heartbeat,
    StreamError,
    StreamEvent,
    TextEvent,
    ToolCall,
    ToolResult,
)
from free_generation_image.nemo.models import RenderStatus
from free_generation_image.sandbox import Sandbox
from free_generation_image.store import Store

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(sandbox: Sandbox, tmp_path: Path) -> Settings:
    return Settings(
        api_url=sandbox.url,
        web_url="https://web.test",
        config_dir=tmp_path / "cfg",
        output_dir=tmp_path / "out",
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[NemoClient]:
    async with NemoClient(settings, Store(settings.config_dir), client_name="claude-code") as c:
        yield c


async def turn(
    client: NemoClient, session_id: str, text: str, into: list[StreamEvent] | None = None
) -> list[StreamEvent]:
    """Read one turn; ``into`` keeps the events seen even if the turn raises."""
    events = [] if into is None else into
    async with aclosing(client.run_sse(session_id, text)) as stream:
        async for event in stream:
            events.append(event)
    return events


def run_requests(sandbox: Sandbox) -> list[Any]:
    return sandbox.requests("/run_sse", "POST")


def png(path: Path) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


async def wait_render(client: NemoClient, render_id: str) -> RenderStatus:
    for _ in range(400):
        status = await client.poll_render(render_id)
        if status.done:
            return status
        await anyio.sleep(0.05)
    raise AssertionError(f"render {render_id} did not finish")


async def test_whole_flow(client: NemoClient, sandbox: Sandbox, tmp_path: Path) -> None:
    token = await client.ensure_token()
    assert token.anonymous
    assert token.user_id
    assert (await client.credits()).available == 100

    session = await client.create_session("Sunset", "en")
    assert session.session_id
    link = await client.claim_link(session.task_id, session.session_id)
    assert link.startswith("https://web.test/workspace/")
    assert "nmv_usr" not in link

    events = await turn(client, session.session_id, "make a 5 second video of a sunset over the sea")
    kinds = {type(e) for e in events}
    assert {TextEvent, ToolCall, ToolResult, Heartbeat} <= kinds
    assert StreamError not in kinds
    [prompt] = run_requests(sandbox)
    assert prompt.message == "make a 5 second video of a sunset over the sea"
    assert prompt.headers["x-skill-platform"] == "claude-code"

    state = await client.state(session.session_id)
    assert state.draft is not None
    assert state.generated_media

    [uploaded] = await client.upload_files(session.session_id, [png(tmp_path / "ref.png")])
    assert uploaded.filename == "ref.png"
    assert uploaded.cdn_url

    render_id = "render_sandbox_1"
    submitted = await client.submit_render(session.session_id, state.draft, render_id=render_id, fmt="mp4")
    assert submitted.id == render_id
    done = await wait_render(client, render_id)
    assert done.status == "completed"
    assert done.url
    async with client.download(done.url) as download:
        data = b"".join([chunk async for chunk in download.aiter_bytes()])
    assert data[4:8] == b"ftyp"
    assert download.length in (None, len(data))
    async with client.download_render(render_id) as fallback:
        assert b"".join([chunk async for chunk in fallback.aiter_bytes()]) == data

    credits = await client.credits()
    assert credits.available + credits.frozen < 100  # the generation was charged once
    assert len(run_requests(sandbox)) == 1
    for request in sandbox.requests():
        assert request.headers.get("x-skill-source") == "free-generation-image"


async def test_upload_by_url(client: NemoClient, sandbox: Sandbox) -> None:
    session = await client.create_session("p", "en")
    await turn(client, session.session_id, "make an image of a red fox")
    media = (await client.state(session.session_id)).generated_media
    url = media[0]["url"]
    uploaded = await client.upload_urls(session.session_id, [url])
    assert uploaded


@pytest.mark.parametrize(("framing", "heartbeat"), [("adk", "comment"), ("adk", "empty"), ("typed", "typed")])
async def test_both_framings_and_every_keepalive(
    client: NemoClient, sandbox: Sandbox, framing: str, heartbeat: str
) -> None:
    sandbox.configure(framing=framing, heartbeat=heartbeat)
    session = await client.create_session("p", "en")
    events = await turn(client, session.session_id, "make a 5 second video of rain")
    assert any(isinstance(e, Heartbeat) for e in events)
    assert any(isinstance(e, TextEvent) and e.text for e in events)
    assert any(isinstance(e, ToolCall) for e in events)


async def test_dropped_stream_is_not_resent(client: NemoClient, sandbox: Sandbox) -> None:
    session = await client.create_session("p", "en")
    sandbox.inject("drop_stream", after=2)
    with pytest.raises(StreamDropped) as info:
        await turn(client, session.session_id, "make a 5 second video of waves")
    assert info.value.events_seen >= 1
    assert len(run_requests(sandbox)) == 1
    sandbox.wait_idle(10)  # the backend finishes the turn anyway: the state shows it
    assert (await client.state(session.session_id)).generated_media


async def test_expired_token_is_replaced_once(client: NemoClient, sandbox: Sandbox) -> None:
    await client.ensure_token()
    sandbox.inject("token_expired", path="/api/credits")
    assert (await client.credits()).available == 100
    assert [r.status for r in sandbox.requests("/api/credits")] == [401, 200]
    assert len(sandbox.requests("/api/auth/anonymous-token")) == 2


async def test_expired_token_before_a_prompt(client: NemoClient, sandbox: Sandbox) -> None:
    """Refused before the agent saw it, so the prompt may be sent again with a new token. The
    sandbox gives every anonymous token a new user, who cannot see the old project (a GUESS about
    the real backend): the service then starts a new project."""
    session = await client.create_session("p", "en")
    sandbox.inject("token_expired", path="/run_sse")
    with pytest.raises(SessionNotFound):
        await turn(client, session.session_id, "make an image of a lighthouse")
    assert [r.status for r in run_requests(sandbox)] == [401, 404]  # the agent never received it


async def test_rate_limit_is_honoured_once(client: NemoClient, sandbox: Sandbox) -> None:
    sandbox.inject("rate_limited", path="/api/credits", retry_after=0.1)
    assert (await client.credits()).available == 100
    sandbox.inject("rate_limited", times=2, path="/api/credits", retry_after=0.1)
    with pytest.raises(RateLimited):
        await client.credits()


async def test_lost_session_and_no_credits(client: NemoClient, sandbox: Sandbox) -> None:
    session = await client.create_session("p", "en")
    sandbox.inject("session_lost")
    with pytest.raises(SessionNotFound):
        await turn(client, session.session_id, "make an image of a cat")
    fresh = await client.create_session("p2", "en")
    sandbox.inject("out_of_credits")
    with pytest.raises(InsufficientCredits) as info:
        await turn(client, fresh.session_id, "make a 5 second video of a cat")
    assert f"register?bind={client.user_id}" in info.value.hint
    assert all(r.status != 200 for r in run_requests(sandbox))  # nothing reached the agent


async def test_keepalives_only_end_the_turn(settings: Settings, sandbox: Sandbox) -> None:
    sandbox.inject("slow_stream", seconds=3.0)
    async with NemoClient(settings, Store(settings.config_dir), stream_idle_timeout=0.5) as client:
        session = await client.create_session("p", "en")
        events: list[StreamEvent] = []
        with pytest.raises(StreamDropped, match="No progress"):
            await turn(client, session.session_id, "make a 5 second video of snow", events)
    assert any(isinstance(e, Heartbeat) for e in events)
    assert len(run_requests(sandbox)) == 1


async def test_complete_silence_hits_the_read_timeout(settings: Settings, sandbox: Sandbox) -> None:
    sandbox.configure(heartbeat_interval=60.0)  # ADK itself sends nothing while a tool runs
    sandbox.inject("slow_stream", seconds=3.0)
    async with NemoClient(settings, Store(settings.config_dir), stream_idle_timeout=0.5) as client:
        session = await client.create_session("p", "en")
        started = anyio.current_time()
        with pytest.raises(StreamDropped, match="No progress"):
            await turn(client, session.session_id, "make a 5 second video of fog")
    assert anyio.current_time() - started < 3.0
    assert len(run_requests(sandbox)) == 1


@pytest.fixture
async def drafted(client: NemoClient) -> tuple[str, dict[str, Any]]:
    """A session whose timeline has something to render."""
    session = await client.create_session("p", "en")
    await turn(client, session.session_id, "make an image of a mountain at dawn")
    draft = (await client.state(session.session_id)).draft
    assert draft is not None
    return session.session_id, draft


@pytest.mark.parametrize("shape", ["data", "mirror", "raw"])
async def test_every_poll_shape(
    client: NemoClient, sandbox: Sandbox, drafted: tuple[str, dict[str, Any]], shape: str
) -> None:
    sandbox.configure(poll_shape=shape)
    session_id, draft = drafted
    await client.submit_render(session_id, draft, render_id=f"render_{shape}", fmt="png")
    done = await wait_render(client, f"render_{shape}")
    assert (done.status, done.id) == ("completed", f"render_{shape}")
    assert done.url


async def test_failed_render_and_plan_block(
    client: NemoClient, sandbox: Sandbox, drafted: tuple[str, dict[str, Any]]
) -> None:
    session_id, draft = drafted
    sandbox.inject("render_failed", error="worker crashed")
    await client.submit_render(session_id, draft, render_id="render_f", fmt="mp4")
    failed = await wait_render(client, "render_f")
    assert (failed.status, failed.error) == ("failed", "worker crashed")
    sandbox.inject("plan_402")
    with pytest.raises(PlanRequired):
        await client.submit_render(session_id, draft, render_id="render_p", fmt="mp4")
