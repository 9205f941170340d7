"""Shared fixtures: a clean environment for every test, anyio on asyncio, a sandbox backend on loopback
(one per module, reset before each test), a Service and the MCP server on it. A folder changes the pace
by overriding ``sandbox_config`` (or ``service_speedup``); plain helpers live in tests/helpers.py."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from mcp.server.mcpserver import MCPServer

from free_generation_image.config import Settings
from free_generation_image.mcp_server import build_server
from free_generation_image.sandbox import Sandbox, SandboxConfig, run_sandbox
from free_generation_image.service import Service
from tests.helpers import FAST, make_service

_ENV = (
    "NEMO_TOKEN",
    "NEMO_API_URL",
    "NEMO_WEB_URL",
    "NEMO_CLIENT_ID",
    "NEMO_LANGUAGE",
    "SKILL_SOURCE",
    "NEMO_CONFIG_DIR",
    "NEMO_OUTPUT_DIR",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the developer's NEMO_* settings or writes to their real config/Downloads dirs."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(home / "Downloads"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# ----------------------------------------------------------------------------------- the sandbox
@pytest.fixture(scope="module")
def sandbox_config() -> SandboxConfig:
    """The one fast config (tests/helpers.py); a folder with another pace overrides this fixture."""
    return FAST


@pytest.fixture(scope="module")
def module_sandbox(sandbox_config: SandboxConfig) -> Iterator[Sandbox]:
    with run_sandbox(sandbox_config) as sb:
        yield sb


@pytest.fixture
def sandbox(module_sandbox: Sandbox) -> Sandbox:
    """The module's sandbox, reset: its start settings, no users, sessions, faults or journal."""
    module_sandbox.reset()
    return module_sandbox


@pytest.fixture
def settings(sandbox: Sandbox, tmp_path: Path) -> Settings:
    """Settings pointing at the sandbox, with private config and output dirs."""
    return Settings.from_env(
        {}, api_url=sandbox.url, config_dir=tmp_path / "config", output_dir=tmp_path / "out"
    )


# ----------------------------------------------------------------------------------- the service
@pytest.fixture
def service_speedup() -> float:
    """How many times faster the service's own waits run (1: real time); a folder may override it."""
    return 1.0


@pytest.fixture
async def service(settings: Settings, service_speedup: float) -> AsyncIterator[Service]:
    """A Service on the sandbox with test-sized waits (``make_service``)."""
    async with make_service(settings, speedup=service_speedup) as svc:
        yield svc


@pytest.fixture
def server(settings: Settings) -> MCPServer:
    """The MCP server on the sandbox, its services with test-sized waits; reach it with ``Client(server)``."""
    return build_server(settings, service_factory=make_service)


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol eras of the MCP client."""
    return str(request.param)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two workers a core, since most of a test's time is waiting on the sandbox's clocks."""
    return 2 * (os.cpu_count() or 1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The soak runs only when a ``-m`` expression names it, so ``-m "not slow"`` does not pull it in."""
    if "soak" in (config.getoption("markexpr") or ""):
        return
    soak = [item for item in items if item.get_closest_marker("soak")]
    if soak:
        config.hook.pytest_deselected(items=soak)
        items[:] = [item for item in items if not item.get_closest_marker("soak")]
