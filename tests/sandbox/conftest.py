"""The sandbox's own tests: the shared sandbox (tests/conftest.py) at a quicker pace, with its quota on,
and a raw HTTP client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx2
import pytest

from free_generation_image.sandbox import Sandbox, SandboxConfig
from tests.helpers import FAST


# These tests drive the raw API (many generations and renders per test) and look at no pixels, so the
# clocks are quicker and media 10 % (192x108 for 16:9); the token quota is itself under test here.
@pytest.fixture(scope="module")
def sandbox_config() -> SandboxConfig:
    return replace(
        FAST,
        generation_seconds=0.05,
        edit_seconds=0.02,
        render_seconds=0.15,
        heartbeat_interval=0.02,
        media_scale=0.1,
        quota_enabled=True,
    )


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[httpx2.AsyncClient]:
    # verify=False: plain HTTP on loopback, and it skips loading the trust store (~50 ms a client).
    async with httpx2.AsyncClient(base_url=sandbox.url, timeout=10, trust_env=False, verify=False) as client:
        yield client
