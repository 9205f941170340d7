"""Two users on one hosted server: neither can list, read, cancel or collect the other's work."""

from __future__ import annotations

import anyio
import pytest
from mcp.types import CallToolResult

from free_generation_image.remote.serve import RunningServer
from free_generation_image.sandbox import Sandbox
from tests.helpers import connect

pytestmark = pytest.mark.anyio


async def _generate(url: str, token: str, prompt: str, out: dict[str, CallToolResult]) -> None:
    async with connect(url, token) as client:
        out[prompt] = await client.call_tool("generate", {"prompt": prompt, "kind": "image"})


async def test_two_users_in_parallel_never_see_each_others_work(
    remote: RunningServer, sandbox: Sandbox
) -> None:
    alice, bob = sandbox.new_user(credits=500), sandbox.new_user(credits=500)
    results: dict[str, CallToolResult] = {}
    async with anyio.create_task_group() as tg:
        tg.start_soon(_generate, remote.mcp_url, alice.token, "alice's blue whale", results)
        tg.start_soon(_generate, remote.mcp_url, bob.token, "bob's green cactus", results)
    a, b = results["alice's blue whale"], results["bob's green cactus"]
    assert not a.is_error and not b.is_error
    a_job = (a.structured_content or {})["job_id"]
    b_job = (b.structured_content or {})["job_id"]
    a_link = next(block for block in a.content if block.type == "resource_link")

    async with connect(remote.mcp_url, bob.token) as client:
        listing = (await client.call_tool("status", {})).structured_content or {}
        assert {j["job_id"] for j in listing["jobs"]} == {b_job}
        assert "whale" not in str(listing)
        for tool, args in (
            ("status", {"job_id": a_job}),
            ("cancel", {"job_id": a_job}),
            ("status", {"job_id": "job_000000000000"}),  # a guessed id
        ):
            refused = await client.call_tool(tool, args)
            assert refused.is_error, (tool, refused.content)
            assert "whale" not in str(refused.content)
        with pytest.raises(Exception, match=r"(?i)no such|not found|unknown"):
            await client.read_resource(str(a_link.uri))

    async with connect(remote.mcp_url, alice.token) as client:  # alice's job is untouched by bob's attempts
        mine = (await client.call_tool("status", {"job_id": a_job})).structured_content or {}
        assert mine["job"]["status"] in ("succeeded", "completed")  # not cancelled by bob
        read = await client.read_resource(str(a_link.uri))
        assert read.contents

    users = list((remote.config.state_dir / "users").iterdir())
    assert len(users) == 2  # one private folder per user, named by a hash, never the token
    assert all(alice.token not in p.name and bob.token not in p.name for p in users)
