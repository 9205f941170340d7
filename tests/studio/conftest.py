"""The studio tests use the MCP tests' server on the sandbox (same fixtures, not copies)."""

from tests.mcp.conftest import mode, server

__all__ = ["mode", "server"]
