"""Bounded everything: timeouts on every request, the stream caps, polling and retries that stop, and a
tool call cancelled by the MCP client that stops waiting without stopping the job."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from PIL import Image

from free_generation_image.config import Settings
from free_generation_image.errors import FGIError
from free_generation_image.exporting import RenderTimedOut
from free_generation_image.jobs import Job, ProgressFn
from free_generation_image.mcp_server import build_server
from free_generation_image.models import ExportResult, GenerateResult
from free_generation_image.nemo import transport
from free_generation_image.nemo.errors import AuthError, BackendUnavailable, RateLimited, SessionNotFound
from free_generation_image.nemo.stream import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_SECONDS
from free_generation_image.polling import PollPolicy
from free_generation_image.sandbox import Sandbox
from free_generation_image.service import Service
from tests.helpers import SPEEDUP, Silent, make_service, prompts_sent, render_submits

pytestmark = pytest.mark.anyio


# ------------------------------------------------------------------------------------ timeouts
class Recorder(httpx2.AsyncBaseTransport):
    """The real transport, noting the timeouts each request went out with."""

    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.seen: list[tuple[str, str, dict[str, float | None]]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append((request.method, request.url.path, dict(request.extensions.get("timeout") or {})))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_every_request_goes_out_with_connect_and_read_timeouts(
    settings: Settings, sandbox: Sandbox, tmp_path: Path
) -> None:
    picture = tmp_path / "ref.png"
    Image.new("RGB", (32, 24), "teal").save(picture)
    recorder = Recorder()
    # No client-wide default: a request that does not set its own timeouts would go out with none.
    async with (
        httpx2.AsyncClient(transport=recorder, timeout=None) as http,
        make_service(settings, speedup=SPEEDUP, http=http) as service,
    ):
        await service.credits()
        await service.generate("an image of a lighthouse", kind="image", wait_seconds=20)
        await service.upload([str(picture), "https://example.com/clip.mp4"])
        await service.status()
        await service.export("png", wait_seconds=20)
    kinds = {
        path.split("/")[2] if path.startswith("/api/") else path.split("/")[1] for _, path, _ in recorder.seen
    }
    assert {"auth", "tasks", "credits", "state", "run_sse", "upload-video", "render", "files"} <= kinds
    for method, path, timeout in recorder.seen:
        for phase in ("connect", "read", "write", "pool"):
            value = timeout.get(phase)
            assert value is not None and 0 < value < math.inf, (method, path, phase, value)
        assert timeout["connect"] is not None and timeout["connect"] <= 10, (method, path)
        read = timeout["read"]
        assert read is not None and read <= (DEFAULT_IDLE_TIMEOUT if path == "/run_sse" else 180), path


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport, "JSON_TIMEOUT", httpx2.Timeout(0.3, connect=0.3))


@pytest.mark.usefixtures("short_timeouts")
@pytest.mark.parametrize(
    ("call", "connections"),
    [
        ("credits", 3),  # a GET: two retries, then a clear error
        ("generate", 1),  # creating the project is a POST: never repeated once it may have arrived
    ],
)
async def test_a_backend_that_never_answers_gets_a_bounded_number_of_tries(
    silent: Silent, tmp_path: Path, call: str, connections: int
) -> None:
    settings = Settings(
        api_url=silent.url,
        token="nmv_usr_" + "s" * 43,
        config_dir=tmp_path / "config",
        output_dir=tmp_path / "out",
    )
    started = time.monotonic()
    async with make_service(settings, speedup=SPEEDUP) as service:
        attempt = (
            service.credits()
            if call == "credits"
            else service.generate("an image of a lighthouse", kind="image", wait_seconds=5)
        )
        with pytest.raises(BackendUnavailable, match="did not answer in time"):
            await attempt
    assert time.monotonic() - started < 0.3 * connections + 1.5
    assert len(silent.accepted) == connections


# --------------------------------------------------------------------------------- stream caps
async def test_the_stream_caps_default_to_the_skill_limits(tmp_path: Path) -> None:
    settings = Settings(config_dir=tmp_path, output_dir=tmp_path)
    assert (DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_SECONDS) == (600.0, 900.0)  # 10 min keep-alives, 15 min in all
    service = Service(settings)
    assert (service.client.stream_idle_timeout, service.client.stream_max_seconds) == (600.0, 900.0)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"stream_idle_timeout": 0.3}, "No progress from the backend for 0.3 s"),
        ({"stream_idle_timeout": 10, "stream_max_seconds": 0.4}, "exceeded the 0.4 s limit"),
    ],
)
async def test_a_turn_past_its_cap_is_abandoned_and_read_from_state(
    settings: Settings,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
    limits: dict[str, float],
    message: str,
) -> None:
    sandbox.inject("slow_stream", seconds=1.0)  # keep-alives only, for longer than either cap
    caplog.set_level(logging.INFO, logger="free_generation_image")
    async with make_service(settings, speedup=SPEEDUP, **limits) as service:
        result = await service.generate("an image of a slow boat", kind="image", wait_seconds=20)
    assert result.status == "completed" and result.media
    assert any(message in record.getMessage() for record in caplog.records)
    assert len(prompts_sent(sandbox)) == 1


# ---------------------------------------------------------------------------------- polling
async def test_render_polling_gives_up_at_its_limit(settings: Settings, sandbox: Sandbox) -> None:
    async with make_service(settings, speedup=SPEEDUP) as service:
        await service.generate("an image of a kite", kind="image", wait_seconds=20)
        sandbox.configure(render_seconds=60)
        service.poll_policy = PollPolicy(first_delay=0.5, min_delay=0.5, give_up_after=0.6)
        started = time.monotonic()
        with pytest.raises(RenderTimedOut):
            await service.export("png", wait_seconds=20)
    assert time.monotonic() - started < 3
    polls = sandbox.requests("/api/render/proxy/lambda/", "GET")
    assert 1 <= len(polls) <= 20 and len(render_submits(sandbox)) == 1


async def test_failing_polls_stop_after_the_allowed_run_of_errors(
    settings: Settings, sandbox: Sandbox
) -> None:
    policy = PollPolicy(first_delay=0.5, min_delay=0.5, give_up_after=20, max_consecutive_errors=2)
    async with make_service(settings, speedup=SPEEDUP, poll_policy=policy) as service:
        await service.generate("an image of a kite", kind="image", wait_seconds=20)
        sandbox.inject("server_error", path="/api/render/proxy/lambda/", times=None)
        with pytest.raises(BackendUnavailable):
            await service.export("png", wait_seconds=30)
    polls = sandbox.requests("/api/render/proxy/lambda/", "GET")
    assert len(polls) == (policy.max_consecutive_errors + 1) * transport.MAX_ATTEMPTS
    assert len(render_submits(sandbox)) == 1


# ---------------------------------------------------------------------------------- retries
async def _credits(service: Service, _: Path) -> Any:
    return await service.credits()


async def _upload(service: Service, tmp_path: Path) -> Any:
    picture = tmp_path / "ref.png"
    Image.new("RGB", (8, 8), "red").save(picture)
    return await service.upload([str(picture)])


async def _project(service: Service, _: Path) -> Any:
    return await service.generate("an image of a bell", kind="image", wait_seconds=5)


Call = Callable[[Service, Path], Awaitable[Any]]
RETRIES: list[tuple[str, str, dict[str, Any], Call, type[FGIError], dict[str, int]]] = [
    ("/api/credits", "server_error", {}, _credits, BackendUnavailable, {"/api/credits": 3}),
    ("/api/credits", "rate_limited", {"retry_after": 0.1}, _credits, RateLimited, {"/api/credits": 2}),
    ("/api/credits", "rate_limited", {"retry_after": 3600}, _credits, RateLimited, {"/api/credits": 1}),
    ("/api/auth/anonymous-token", "server_error", {}, _credits, BackendUnavailable, {"/anonymous-token": 1}),
    (
        "/api/auth/anonymous-token",
        "rate_limited",
        {"retry_after": 0.1},
        _credits,
        RateLimited,
        {"/anonymous-token": 2},
    ),
    ("/api/credits", "token_expired", {}, _credits, AuthError, {"/api/credits": 2, "/anonymous-token": 2}),
    ("/api/tasks/", "server_error", {}, _project, BackendUnavailable, {"/api/tasks/": 1}),
    (
        "/api/upload-video/",
        "session_lost",
        {},
        _upload,
        SessionNotFound,
        {"/api/upload-video/": 2, "/api/tasks/": 2},
    ),
]


@pytest.mark.parametrize(("path", "fault", "params", "call", "error", "counts"), RETRIES)
async def test_a_fault_that_never_ends_gets_a_bounded_number_of_requests(
    service: Service,
    sandbox: Sandbox,
    tmp_path: Path,
    path: str,
    fault: str,
    params: dict[str, Any],
    call: Call,
    error: type[FGIError],
    counts: dict[str, int],
) -> None:
    sandbox.inject(fault, times=None, path=path, **params)
    with pytest.raises(error) as info:
        await call(service, tmp_path)
    assert info.value.hint  # every refusal says what to do next
    for where, expected in counts.items():
        assert len(sandbox.requests(where)) == expected, where
    assert prompts_sent(sandbox) == []


# ------------------------------------------------------------------------- MCP cancellation
class Watched(Service):
    """A Service that signals when a tool's wait was cancelled (the job itself must go on)."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.wait_cancelled = anyio.Event()

    async def collect_generate(
        self, job: Job, wait_seconds: float, on_progress: ProgressFn | None
    ) -> GenerateResult:
        try:
            return await super().collect_generate(job, wait_seconds, on_progress)
        except anyio.get_cancelled_exc_class():
            self.wait_cancelled.set()
            raise

    async def export(self, fmt: Any = "mp4", **kwargs: Any) -> ExportResult:
        try:
            return await super().export(fmt, **kwargs)
        except anyio.get_cancelled_exc_class():
            self.wait_cancelled.set()
            raise


@pytest.mark.parametrize(("tool", "mode"), [("generate", "auto"), ("generate", "legacy"), ("export", "auto")])
async def test_a_tool_call_cancelled_by_the_client_leaves_its_job_running(
    settings: Settings, sandbox: Sandbox, mode: str, tool: str
) -> None:
    made: list[Watched] = []

    def factory(s: Settings) -> Service:
        made.append(make_service(s, speedup=SPEEDUP, factory=Watched))
        return made[-1]

    server = build_server(settings, service_factory=factory)
    async with Client(server, mode=mode) as client:
        if tool == "export":
            await client.call_tool("generate", {"prompt": "an image of a fox", "kind": "image"})
            sandbox.configure(render_seconds=1.2)
        else:
            sandbox.configure(generation_seconds=1.2)
        arguments = (
            {"format": "png"} if tool == "export" else {"prompt": "an image of a hare", "kind": "image"}
        )
        with pytest.raises(MCPError, match=r"(?i)timed out"):
            await client.call_tool(tool, arguments, read_timeout_seconds=0.4)
        with anyio.fail_after(5):  # notifications/cancelled reached the server and stopped the wait
            await made[0].wait_cancelled.wait()
        listing = await client.call_tool("status", {})
        [running] = [j for j in (listing.structured_content or {})["jobs"] if j["status"] == "running"]
        done = await client.call_tool("status", {"job_id": running["job_id"], "wait_seconds": 20})
        data = (done.structured_content or {}).get("generate" if tool == "generate" else "export") or {}
        assert data.get("status") == "completed", done.content
        assert data.get("media") if tool == "generate" else data.get("file")
    assert len(prompts_sent(sandbox)) == 1
    assert len(render_submits(sandbox)) == (1 if tool == "export" else 0)
