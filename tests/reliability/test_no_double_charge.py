"""No double charge: whatever breaks, the sandbox's journal shows each prompt sent once and each render
retried at most once, and the user is charged for one generation at most."""

from __future__ import annotations

import functools
import logging
from typing import Any

import anyio
import pytest
from mcp import Client

from free_generation_image.config import Settings
from free_generation_image.errors import FGIError
from free_generation_image.generation import GenerationUnconfirmed
from free_generation_image.mcp_server import build_server
from free_generation_image.nemo.errors import (
    BackendUnavailable,
    BadResponse,
    NemoError,
    RenderFailed,
)
from free_generation_image.sandbox import Sandbox
from free_generation_image.service import Service
from tests.helpers import SPEEDUP, make_service, prompts_accepted, prompts_sent, render_submits

pytestmark = pytest.mark.anyio

IMAGE_COST = 30  # the sandbox's default price of one image


def charged(sandbox: Sandbox, service: Service) -> int:
    """Credits the backend took from this service's user (anonymous users start with 100)."""
    assert service.client.user_id is not None
    info = sandbox.user(service.client.user_id)
    return 100 - info.available - info.frozen


def dropped_streams(sandbox: Sandbox) -> int:
    return len(sandbox.journal("stream.dropped", kind="event"))


# ------------------------------------------------------------------------------------ the stream
@pytest.mark.parametrize("after", [0, 1, 2, 3, 5])
async def test_a_stream_dropped_after_any_event_is_read_from_state_not_resent(
    service: Service, sandbox: Sandbox, caplog: pytest.LogCaptureFixture, after: int
) -> None:
    caplog.set_level(logging.INFO, logger="free_generation_image")
    sandbox.inject("drop_stream", after=after)
    result = await service.generate("an image of a lighthouse in fog", kind="image", wait_seconds=30)
    assert dropped_streams(sandbox) == 1
    assert f"after {after} event(s)" in caplog.text  # the client saw the drop exactly there
    assert result.status == "completed" and result.media
    assert any("not sent again" in note for note in result.notes)
    assert len(prompts_sent(sandbox)) == 1
    assert charged(sandbox, service) == IMAGE_COST


@pytest.mark.parametrize(
    ("fault", "params"),
    [
        ("silent_close", {}),
        ("temporary_issue", {}),
        ("error_frame", {"after": 4}),  # after the media landed: the project changed anyway
        ("adk_error", {"after": 4}),
        ("slow_stream", {"seconds": 0.6}),  # heartbeats only for longer than the idle timeout
    ],
)
async def test_misbehaving_turns_are_sent_once_and_charged_once(
    settings: Settings, sandbox: Sandbox, fault: str, params: dict[str, Any]
) -> None:
    sandbox.inject(fault, **params)
    async with make_service(settings, speedup=SPEEDUP, stream_idle_timeout=0.3) as service:
        result = await service.generate("an image of a red kite", kind="image", wait_seconds=30)
        assert result.status == "completed" and result.media, result.notes
        assert charged(sandbox, service) == IMAGE_COST
    assert len(prompts_sent(sandbox)) == 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [("server_error", BackendUnavailable), ("malformed_json", BadResponse)],
)
async def test_a_broken_answer_to_the_prompt_itself_is_never_resent(
    service: Service, sandbox: Sandbox, fault: str, error: type[NemoError]
) -> None:
    sandbox.inject(fault, path="/run_sse")
    with pytest.raises(error) as info:
        await service.generate("an image of a blue heron", kind="image", wait_seconds=30)
    assert "<html" not in info.value.user_text().lower()
    assert len(prompts_sent(sandbox)) == 1 and not prompts_accepted(sandbox)
    assert charged(sandbox, service) == 0


@pytest.mark.parametrize(("fault", "params"), [("rate_limited", {"retry_after": 0.1}), ("token_expired", {})])
async def test_a_prompt_refused_before_it_arrived_is_sent_again_once(
    service: Service, sandbox: Sandbox, fault: str, params: dict[str, Any]
) -> None:
    await service.credits()  # a token exists, so token_expired hits the prompt, not the first call
    sandbox.inject(fault, path="/run_sse", **params)
    result = await service.generate("an image of a grey owl", kind="image", wait_seconds=30)
    assert result.status == "completed"
    # Each refusal proves the agent never saw the prompt (a new anonymous token is a new user, whose
    # project must be created anew: 401, then 404 for the old session, then the prompt once).
    *refused, last = [e.status for e in prompts_sent(sandbox)]
    assert refused and set(refused) <= {401, 404, 429} and last == 200
    assert len(prompts_accepted(sandbox)) == 1
    assert charged(sandbox, service) == IMAGE_COST


# -------------------------------------------------------------- state and credits around a generation
@pytest.mark.parametrize(
    ("target", "fault", "times"),
    [
        ("/api/state", "server_error", 1),  # a GET: retried by the transport
        ("/api/state", "server_error", 2),
        ("/api/credits", "server_error", 2),
    ],
)
async def test_transient_read_failures_before_sending_are_retried(
    service: Service, sandbox: Sandbox, target: str, fault: str, times: int
) -> None:
    await service.credits()
    sandbox.inject(fault, path=target, times=times)
    result = await service.generate("an image of a tall ship", kind="image", wait_seconds=30)
    assert result.status == "completed" and result.media
    assert len(prompts_sent(sandbox)) == 1


@pytest.mark.parametrize("fault", ["server_error", "malformed_json"])
async def test_an_unreadable_project_means_nothing_is_sent(
    service: Service, sandbox: Sandbox, fault: str
) -> None:
    await service.credits()
    sandbox.inject(fault, path="/api/state", times=None)
    with pytest.raises(FGIError):
        await service.generate("an image of a tall ship", kind="image", wait_seconds=30)
    assert prompts_sent(sandbox) == []


@pytest.mark.parametrize("fault", ["server_error", "malformed_json"])
async def test_an_unreadable_balance_only_loses_the_before_figure(
    service: Service, sandbox: Sandbox, fault: str
) -> None:
    # The balance informs (credits before -> after); it never decides whether a prompt is sent.
    await service.credits()
    sandbox.inject(fault, path="/api/credits", times=None)
    result = await service.generate("an image of a tall ship", kind="image", wait_seconds=30)
    assert result.status == "completed" and result.media
    assert result.credits_before is None and result.credits_spent is None
    assert len(prompts_sent(sandbox)) == 1


@pytest.mark.parametrize("fault", ["server_error", "malformed_json"])
async def test_state_unreadable_once_after_the_turn_is_read_again_not_failed(
    service: Service, sandbox: Sandbox, fault: str
) -> None:
    # A failure after the charge must not look like a failed generation: the user would send it again.
    sandbox.configure(generation_seconds=0.6)
    running = await service.generate("an image of a paper crane", kind="image", wait_seconds=0)
    await _until(lambda: bool(prompts_accepted(sandbox)))
    sandbox.inject(fault, path="/api/state", times=3)
    done = await service.status(running.job_id, wait_seconds=30)
    assert done.generate is not None and done.generate.status == "completed", done.error
    assert done.generate.media
    assert len(prompts_sent(sandbox)) == 1
    assert charged(sandbox, service) == IMAGE_COST


async def test_state_unreadable_for_good_after_the_turn_says_it_was_not_resent(
    settings: Settings, sandbox: Sandbox
) -> None:
    sandbox.configure(generation_seconds=0.6)
    async with make_service(settings, speedup=SPEEDUP, recovery_delays=(1.0, 1.0)) as service:
        running = await service.generate("an image of a paper crane", kind="image", wait_seconds=0)
        await _until(lambda: bool(prompts_accepted(sandbox)))
        sandbox.inject("server_error", path="/api/state", times=None)
        done = await service.status(running.job_id, wait_seconds=30)
        assert done.error is not None and "NOT sent again" in done.error
        sandbox.clear_faults()
        listing = await service.status()  # the project shows what the turn made
    assert listing.timeline and "image" in listing.timeline.lower()
    assert len(prompts_sent(sandbox)) == 1


async def test_balance_unreadable_after_the_turn_only_loses_the_after_figure(
    service: Service, sandbox: Sandbox
) -> None:
    sandbox.configure(generation_seconds=0.4)
    running = await service.generate("an image of a lantern", kind="image", wait_seconds=0)
    await _until(lambda: bool(prompts_accepted(sandbox)))
    sandbox.inject("malformed_json", path="/api/credits", times=None)
    done = await service.status(running.job_id, wait_seconds=30)
    assert done.generate is not None and done.generate.status == "completed" and done.generate.media
    assert done.generate.credits_before == 100 and done.generate.credits_after is None
    assert len(prompts_sent(sandbox)) == 1


# ----------------------------------------------------------------------------------- restarts
async def _until(condition: Any, timeout: float = 10.0) -> None:
    # The condition is another thread's doing (the sandbox's journal, a job's progress): poll it.
    with anyio.fail_after(timeout):
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.02)


@pytest.mark.parametrize("moment", ["prompt_arrived", "first_event"])
async def test_a_server_restarted_mid_generation_collects_it_without_resending(
    settings: Settings, sandbox: Sandbox, moment: str
) -> None:
    sandbox.configure(generation_seconds=0.8)
    async with make_service(settings, speedup=SPEEDUP) as first:
        running = await first.generate("an image of a snowy owl", kind="image", wait_seconds=0)
        job = first.jobs.get(running.job_id)
        if moment == "prompt_arrived":
            await _until(lambda: bool(prompts_accepted(sandbox)))
        else:
            await _until(job.handed_off.is_set)
    # The process is gone mid-stream; a new one (same config dir) is asked about the session.
    server = build_server(settings, service_factory=functools.partial(make_service, speedup=SPEEDUP))
    async with Client(server, mode="auto") as client:
        listing = await client.call_tool("status", {})
        data = listing.structured_content or {}
        assert not listing.is_error and data["project"]["session_id"]
        [summary] = [j for j in data["jobs"] if j["job_id"] == running.job_id]
        assert summary["status"] == "running"
        done = await client.call_tool("status", {"job_id": running.job_id, "wait_seconds": 20})
        generated = (done.structured_content or {}).get("generate") or {}
        assert generated.get("status") == "completed" and generated.get("media"), done.content
        after = await client.call_tool("status", {})
        assert "image" in ((after.structured_content or {}).get("timeline") or "").lower()
    assert len(prompts_sent(sandbox)) == 1


# ------------------------------------------------------------------------------------ renders
RENDER_FAULTS: list[tuple[str, int | None, dict[str, Any], type[FGIError] | None]] = [
    ("render_failed", 1, {}, None),
    ("render_failed", 2, {}, RenderFailed),
    ("server_error", 1, {"path": "/api/render/proxy/lambda"}, None),  # the submit
    ("server_error", None, {"path": "/api/render/proxy/lambda"}, RenderFailed),
    ("malformed_json", 1, {"path": "/api/render/proxy/lambda"}, None),  # unreadable submit: new id once
    ("server_error", 4, {"path": "/api/render/proxy/lambda/"}, None),  # the polls
    ("malformed_json", 4, {"path": "/api/render/proxy/lambda/"}, None),  # unreadable polls: as a 503
    ("rate_limited", 2, {"path": "/api/render/proxy/lambda/", "retry_after": 0.1}, None),
    ("drop_download", 1, {"path": "/files/"}, None),
]


@pytest.mark.parametrize(("fault", "times", "params", "error"), RENDER_FAULTS)
async def test_each_render_is_retried_at_most_once(
    service: Service,
    sandbox: Sandbox,
    fault: str,
    times: int | None,
    params: dict[str, Any],
    error: type[FGIError] | None,
) -> None:
    await service.generate("an image of a windmill", kind="image", wait_seconds=30)
    sandbox.inject(fault, times=times, **params)
    if error is None:
        result = await service.export("png", wait_seconds=30)
        assert result.status == "completed" and result.file
    else:
        with pytest.raises(error):
            await service.export("png", wait_seconds=30)
    ids = [e.body for e in render_submits(sandbox)]
    assert 1 <= len(ids) <= 2 and len(set(ids)) == len(ids)


async def test_a_dropped_generation_that_never_lands_is_reported_not_resent(
    settings: Settings, sandbox: Sandbox
) -> None:
    sandbox.inject("drop_stream", after=1)
    sandbox.inject("slow_stream", seconds=5)
    async with make_service(settings, speedup=SPEEDUP, recovery_delays=(1.0, 1.0, 1.0)) as service:
        with pytest.raises(GenerationUnconfirmed, match="not changed"):
            await service.generate("an image of a comet", kind="image", wait_seconds=30)
    reads = sandbox.requests("/api/state", "GET")
    assert len(reads) == 1 + 3  # the state before sending, then one read per scheduled check
    assert len(prompts_sent(sandbox)) == 1
