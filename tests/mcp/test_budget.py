"""Cost on MCP: an estimate never blocks; a host with elicitation is asked once, never for a call that
joins a job already paid for; a host without it gets the generation and the estimate in the result."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, ElicitResult, TextContent

from free_generation_image.sandbox import Sandbox

pytestmark = pytest.mark.anyio

VIDEO = {"prompt": "a video of a comet", "kind": "video"}


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def prompts(sandbox: Sandbox) -> list[Any]:
    return [e for e in sandbox.journal("/run_sse") if e.kind == "request"]


@pytest.fixture
def low_balance(sandbox: Sandbox) -> Sandbox:
    # 60 credits; a clip is estimated at 100 but this backend charges 50: the guess is wrong on purpose.
    sandbox.configure(starting_credits=60, cost_video=50)
    return sandbox


async def test_without_elicitation_it_is_sent_and_the_estimate_is_stated(
    server: MCPServer, low_balance: Sandbox
) -> None:
    async with Client(server, mode="auto") as client:
        result = await client.call_tool("generate", VIDEO)
    assert not result.is_error, text_of(result)
    data = result.structured_content or {}
    assert data["status"] == "completed" and data["credits_estimate"] == 100 and data["credits_spent"] == 50
    assert "an estimate, not a price" in text_of(result)
    assert "used up" not in text_of(result).lower()
    assert len(prompts(low_balance)) == 1


async def test_with_elicitation_the_user_is_asked_once_and_a_no_sends_nothing(
    server: MCPServer, low_balance: Sandbox
) -> None:
    asked: list[str] = []

    async def decline(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="decline")

    async with Client(server, mode="legacy", elicitation_callback=decline) as client:
        result = await client.call_tool("generate", VIDEO)
    assert result.is_error and "Not sent" in text_of(result) and "Nothing was charged" in text_of(result)
    assert len(asked) == 1 and "about 100 credits" in asked[0] and "60 are available" in asked[0]
    assert prompts(low_balance) == []


async def test_with_elicitation_a_yes_sends_it_once(
    server: MCPServer, low_balance: Sandbox, mode: str
) -> None:
    async def accept(context: Any, params: Any) -> ElicitResult:
        return ElicitResult(action="accept", content={"send": True})

    async with Client(server, mode=mode, elicitation_callback=accept) as client:
        result = await client.call_tool("generate", VIDEO)
    assert not result.is_error, text_of(result)
    assert (result.structured_content or {})["credits_spent"] == 50
    assert len(prompts(low_balance)) == 1


async def test_a_host_retry_of_a_running_generation_is_never_asked_again(
    server: MCPServer, low_balance: Sandbox
) -> None:
    low_balance.configure(generation_seconds=1.0)
    asked: list[str] = []

    async def accept(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"send": True})

    async with Client(server, mode="legacy", elicitation_callback=accept) as client:
        first = await client.call_tool("generate", {**VIDEO, "wait_seconds": 0.2})
        retry = await client.call_tool("generate", {**VIDEO, "wait_seconds": 20})
    assert (first.structured_content or {})["status"] == "running"
    data = retry.structured_content or {}
    assert not retry.is_error and data["status"] == "completed" and data["deduplicated"] is True
    assert data["job_id"] == (first.structured_content or {})["job_id"]
    assert len(asked) == 1
    assert len(prompts(low_balance)) == 1


async def test_only_the_backend_says_the_credits_ran_out(server: MCPServer, sandbox: Sandbox) -> None:
    sandbox.configure(starting_credits=20)
    async with Client(server, mode="auto") as client:
        result = await client.call_tool("generate", {"prompt": "an image of a comet"})
    # Sent (30 estimated, 20 available, no way to ask); the backend's 2001 is what says no.
    assert result.is_error and "register?bind=" in text_of(result)
    assert len(prompts(sandbox)) == 1
