"""Per-user request limits over HTTP: one user pushed past the limit gets 429 + Retry-After; others don't."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

from free_generation_image.remote.serve import run_in_thread
from free_generation_image.sandbox import Sandbox
from tests.helpers import connect, make_remote_service, remote_config

pytestmark = pytest.mark.anyio

BURST = 8
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "limit-test", "version": "1"},
    },
}
ACCEPT = "application/json, text/event-stream"


async def _post(http: httpx2.AsyncClient, url: str, token: str) -> httpx2.Response:
    return await http.post(
        url, json=INITIALIZE, headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT}
    )


async def test_one_user_over_the_limit_gets_429_while_another_is_unaffected(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # One request a minute after the burst: nothing refills while the test runs.
    config = remote_config(sandbox, tmp_path / "state", rate_per_minute=1.0, rate_burst=float(BURST))
    greedy, other = sandbox.new_user(credits=100), sandbox.new_user(credits=100)
    with run_in_thread(config, factory=make_remote_service) as remote:
        async with httpx2.AsyncClient(timeout=30) as http:
            allowed = [await _post(http, remote.mcp_url, greedy.token) for _ in range(BURST)]
            assert [r.status_code for r in allowed] == [200] * BURST
            refused = await _post(http, remote.mcp_url, greedy.token)
            assert refused.status_code == 429
            assert 1 <= int(refused.headers["retry-after"]) <= 60
            assert refused.json()["error"] == "rate_limited"
            assert refused.headers["x-request-id"]
            health = await http.get(remote.url + "/healthz")  # not a user's request: never limited
            assert health.status_code == 200

            async with connect(remote.mcp_url, other.token) as client:  # its own bucket, full
                credits = await client.call_tool("credits", {})
            assert not credits.is_error and (credits.structured_content or {})["available"] == 100

            still = await _post(http, remote.mcp_url, greedy.token)
            assert still.status_code == 429  # the other user's calls did not refill this one
