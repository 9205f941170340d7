"""A sandbox on loopback per test and a Service pointed at it, with waits shrunk."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from free_generation_image.config import Settings
from free_generation_image.polling import PollPolicy
from free_generation_image.sandbox import Sandbox, SandboxConfig, run_sandbox
from free_generation_image.service import Service

FAST = {
    "generation_seconds": 0.3,
    "edit_seconds": 0.1,
    "render_seconds": 0.4,
    "heartbeat_interval": 0.05,
    "media_scale": 0.25,
    "retry_after_seconds": 1.0,
}
FAST_POLL = PollPolicy(first_delay=0.05, min_delay=0.05, give_up_after=30)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(SandboxConfig(**FAST)) as sb:  # type: ignore[arg-type]
        yield sb


@pytest.fixture
def settings(sandbox: Sandbox, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {}, api_url=sandbox.url, config_dir=tmp_path / "config", output_dir=tmp_path / "out"
    )


def make_service(settings: Settings, **kwargs: Any) -> Service:
    """A Service with test-sized waits (recovery schedule, polling)."""
    kwargs.setdefault("recovery_delays", (0.2, 0.3, 0.3, 0.3, 0.3))
    kwargs.setdefault("poll_policy", FAST_POLL)
    return Service(settings, **kwargs)


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[Service]:
    async with make_service(settings) as svc:
        yield svc


def sse_requests(sandbox: Sandbox) -> list[Any]:
    """Journal entries of /run_sse requests that reached the agent (status 200)."""
    return [e for e in sandbox.journal("/run_sse") if e.kind == "request" and e.status == 200]


def render_submits(sandbox: Sandbox) -> list[Any]:
    return [
        e
        for e in sandbox.journal("/api/render/proxy/lambda")
        if e.kind == "request" and e.method == "POST" and not e.path.endswith("/cancel")
    ]
