"""The MCP server wired to a sandbox, reached through the SDK's in-memory client."""

from __future__ import annotations

import pytest
from mcp.server.mcpserver import MCPServer

from free_generation_image.config import Settings
from free_generation_image.mcp_server import build_server
from tests.service.conftest import make_service


@pytest.fixture
def server(settings: Settings) -> MCPServer:
    return build_server(settings, service_factory=make_service)


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)
