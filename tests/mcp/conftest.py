"""The MCP server wired to a sandbox, reached through the SDK's in-memory client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp.server.mcpserver import MCPServer

from free_generation_image.config import Settings
from free_generation_image.mcp_server import build_server
from free_generation_image.sandbox import Sandbox, SandboxConfig, run_sandbox
from tests.service.conftest import FAST, make_service


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(SandboxConfig(**FAST)) as sb:  # type: ignore[arg-type]
        yield sb


@pytest.fixture
def settings(sandbox: Sandbox, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {}, api_url=sandbox.url, config_dir=tmp_path / "config", output_dir=tmp_path / "out"
    )


@pytest.fixture
def server(settings: Settings) -> MCPServer:
    return build_server(settings, service_factory=make_service)


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)
