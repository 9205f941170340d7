"""One sandbox for the whole test session (fast clocks, tiny media), reset before every test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx2
import pytest

from free_generation_image.sandbox import Sandbox, SandboxConfig, run_sandbox

# Milliseconds instead of minutes; media at 10 % (192x108 for 16:9) so encoding takes a few ms.
FAST = SandboxConfig(
    generation_seconds=0.05,
    edit_seconds=0.02,
    render_seconds=0.15,
    heartbeat_interval=0.02,
    media_scale=0.1,
    retry_after_seconds=1,
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    with run_sandbox(FAST) as sandbox:
        yield sandbox


@pytest.fixture
def sb(sandbox_server: Sandbox) -> Sandbox:
    """The shared sandbox, reset: no users, sessions, faults or journal; the FAST config."""
    sandbox_server.reset()
    return sandbox_server


@pytest.fixture
async def http(sb: Sandbox) -> AsyncIterator[httpx2.AsyncClient]:
    # verify=False: plain HTTP on loopback, and it skips loading the trust store (~50 ms a client).
    async with httpx2.AsyncClient(base_url=sb.url, timeout=10, trust_env=False, verify=False) as client:
        yield client
