"""Remote mode never promises files "saved on the user's computer"; stdio keeps its own wording."""

from __future__ import annotations

import re

import pytest
from mcp import Client
from mcp.types import Tool

from free_generation_image.config import Settings
from free_generation_image.mcp_server import build_server
from free_generation_image.remote.serve import RunningServer
from free_generation_image.remote.wording import REWORDING, reword, unmatched
from free_generation_image.sandbox import Sandbox
from tests.helpers import connect

pytestmark = pytest.mark.anyio

LOCAL_PROMISES = re.compile(
    r"(?i)save it on the user's computer|save it locally|saved file paths|local (file )?paths?"
    r"|saves the results as files"
)


def _texts(tools: list[Tool], instructions: str | None) -> list[str]:
    out = [instructions or ""]
    for tool in tools:
        out.append(tool.description or "")
        out += [str(p.get("description", "")) for p in (tool.input_schema.get("properties") or {}).values()]
    return out


async def test_remote_tools_and_instructions_promise_no_local_files(
    remote: RunningServer, sandbox: Sandbox, mode: str
) -> None:
    user = sandbox.new_user(credits=100)
    async with connect(remote.mcp_url, user.token, mode) as client:
        tools = (await client.list_tools()).tools
        instructions = client.instructions
        texts = _texts(tools, instructions)
    assert instructions and "hosted server" in instructions
    assert [t for t in texts if LOCAL_PROMISES.search(t)] == []
    upload = next(t for t in tools if t.name == "upload")
    assert "http(s) URL(s) only" in upload.input_schema["properties"]["source"]["description"]


async def test_every_rewording_still_matches_the_stdio_text_which_is_unchanged(
    settings: Settings, mode: str
) -> None:
    async with Client(build_server(settings), mode=mode) as client:
        texts = _texts((await client.list_tools()).tools, client.instructions)
    # A phrase the source no longer contains would silently stop being reworded: name it here instead.
    assert unmatched(texts) == []
    assert any("save it on the user's computer" in t for t in texts)  # stdio still promises local files


def test_reword_matches_across_reflowed_whitespace() -> None:
    old, new = REWORDING[0]
    wrapped = "Make an image " + old.replace(" ", "\n    ", 2) + " Then more."
    assert reword(wrapped) == f"Make an image {new} Then more."
