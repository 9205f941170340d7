"""A Service on the shared sandbox (tests/conftest.py), with its waits shrunk; journal helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from free_generation_image.config import Settings
from free_generation_image.polling import PollPolicy
from free_generation_image.sandbox import Sandbox
from free_generation_image.service import Service

FAST_POLL = PollPolicy(first_delay=0.05, min_delay=0.05, give_up_after=30)


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
