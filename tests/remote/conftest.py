"""A hosted (remote-mode) server on a free port, backed by the shared sandbox, and clients for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from free_generation_image.config import Settings
from free_generation_image.remote.config import RemoteConfig
from free_generation_image.remote.serve import RunningServer, run_in_thread
from free_generation_image.remote.users import RemoteService
from free_generation_image.sandbox import Sandbox
from free_generation_image.service import Service
from tests.service.conftest import FAST_POLL

SECRET = "test-secret-key-0123456789-abcdefghijklmnop"


def fast_service(settings: Settings, **kwargs: Any) -> Service:
    """A user's RemoteService with test-sized waits."""
    kwargs.setdefault("recovery_delays", (0.2, 0.3, 0.3, 0.3, 0.3))
    kwargs.setdefault("poll_policy", FAST_POLL)
    return RemoteService(settings, **kwargs)


def remote_config(sandbox: Sandbox, state: Path, **changes: Any) -> RemoteConfig:
    base = Settings.from_env(
        {}, api_url=sandbox.url, config_dir=state / "unused", output_dir=state / "unused"
    )
    env = {"FGI_SECRET_KEY": SECRET, "FGI_STATE_DIR": str(state)}
    config = RemoteConfig.from_env(env, host="127.0.0.1", port=0, base=base)
    from dataclasses import replace

    return replace(config, **changes)


@pytest.fixture
def remote(sandbox: Sandbox, tmp_path: Path) -> Iterator[RunningServer]:
    with run_in_thread(remote_config(sandbox, tmp_path / "state"), factory=fast_service) as server:
        yield server


@asynccontextmanager
async def connect(mcp_url: str, token: str, mode: str = "auto") -> AsyncIterator[Client]:
    """The official client over Streamable HTTP, sending ``Authorization: Bearer <token>``."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http,
        Client(streamable_http_client(mcp_url, http_client=http), mode=mode) as client,
    ):
        yield client


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)
