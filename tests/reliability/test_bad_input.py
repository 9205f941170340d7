"""Bad input: every tool and command given empty, huge, binary, wrong-typed or malformed arguments answers
with a short, clear error, sends nothing, and the server keeps serving."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import TextContent

from free_generation_image.cli import main
from free_generation_image.config import Settings
from free_generation_image.errors import InvalidInput
from free_generation_image.mcp_server import build_server
from free_generation_image.sandbox import Sandbox
from free_generation_image.service import Service
from tests.helpers import SPEEDUP, make_service

pytestmark = pytest.mark.anyio

MEGABYTE = "a" * 1_000_000
BINARY = "\x00\x01\x02\xff\xfe\x7f\x1b[2J"

# Every case must be refused (is_error); none may reach the backend's agent.
BAD: dict[str, list[dict[str, Any]]] = {
    "generate": [
        {},
        {"prompt": ""},
        {"prompt": "   \n\t "},
        {"prompt": MEGABYTE},
        {"prompt": "\x00\x00\x00"},
        {"prompt": 123},
        {"prompt": ["a cat"]},
        {"prompt": None},
        {"prompt": {"text": "a cat"}},
        {"prompt": "a cat", "kind": "sculpture"},
        {"prompt": "a cat", "aspect_ratio": "2:1"},
        {"prompt": "a cat", "duration_s": -1},
        {"prompt": "a cat", "duration_s": "long"},
        {"prompt": "a cat", "wait_seconds": -5},
        {"prompt": "a cat", "wait_seconds": 1e308},
        {"prompt": "a cat", "new_project": "maybe"},
    ],
    "upload": [
        {},
        {"source": ""},
        {"source": []},
        {"source": [""]},
        {"source": MEGABYTE},
        {"source": BINARY},
        {"source": "a\x00b.png"},
        {"source": "\ud800.png"},
        {"source": 5},
        {"source": {"path": "a.png"}},
        {"source": [None]},
        {"source": "ftp://example.com/a.png"},
        {"source": "file:///etc/passwd"},
        {"source": ["https://example.com/a.png", "javascript:alert(1)"]},
        {"source": ["https://example.com/\ud800.png"]},
        {"source": "/etc/passwd"},
        {"source": "/dev/zero"},
        {"source": "/"},
    ],
    "status": [
        {"job_id": MEGABYTE},
        {"job_id": BINARY},
        {"job_id": "../../jobs/../token"},
        {"job_id": 5},
        {"job_id": ["job_1"]},
        {"wait_seconds": -1},
        {"wait_seconds": "soon"},
        {"job_id": "job_000000000000", "wait_seconds": 1e9},
    ],
    "export": [
        {},  # nothing to export yet
        {"format": "gif"},
        {"format": ""},
        {"format": 4},
        {"format": None},
        {"wait_seconds": -1},
        {"wait_seconds": "x"},
    ],
    "cancel": [
        {},
        {"job_id": ""},
        {"job_id": MEGABYTE},
        {"job_id": BINARY},
        {"job_id": 7},
        {"job_id": None},
        {"job_id": "job_doesnotexist"},
    ],
    "chat": [
        {},
        {"message": ""},
        {"message": "  "},
        {"message": MEGABYTE},
        {"message": "\x00"},
        {"message": 5},
        {"message": ["export"]},
        {"message": "cancel"},  # which job?
        {"message": "status", "wait_seconds": -3},
    ],
}
# Tolerated rather than refused: they ask for nothing harmful, so a normal answer is fine too.
SURVIVABLE: dict[str, list[dict[str, Any]]] = {
    "credits": [{"unexpected": 1}, {"unexpected": MEGABYTE}],
    "status": [{"job_id": ""}, {"job_id": None}],
}


def text_of(result: Any) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def clear(text: str) -> bool:
    """Short, says something after the SDK's prefix, and no Python internals leak through."""
    message = text.split(":", 1)[1].strip() if text.startswith("Error executing tool") else text
    return bool(message) and len(text) < 2000 and "Traceback" not in text and "object at 0x" not in text


@pytest.mark.parametrize("tool", sorted(set(BAD) | set(SURVIVABLE)))
async def test_bad_arguments_are_refused_clearly_and_the_session_keeps_serving(
    settings: Settings, sandbox: Sandbox, tool: str
) -> None:
    server = build_server(settings, service_factory=functools.partial(make_service, speedup=SPEEDUP))
    problems: list[str] = []
    async with Client(server, mode="auto") as client:
        for arguments in BAD.get(tool, []) + SURVIVABLE.get(tool, []):
            result = await client.call_tool(tool, arguments)
            shown = repr(arguments)[:80]
            if arguments in BAD.get(tool, []) and not result.is_error:
                problems.append(f"{shown}: accepted")
            elif result.is_error and not clear(text_of(result)):
                problems.append(f"{shown}: unclear error {text_of(result)[:300]!r}")
            after = await client.call_tool("credits", {})
            if after.is_error or (after.structured_content or {}).get("available") != 100:
                problems.append(f"{shown}: the next call failed: {text_of(after)[:200]!r}")
    assert problems == []
    assert sandbox.requests("/run_sse") == []
    assert sandbox.requests("/api/upload-video") == []


@pytest.mark.parametrize(
    "prompt",
    ["\udcff\udcfe", "a cat \ud800", "\x00 \x00", MEGABYTE],
    ids=["argv-bytes", "surrogate", "nuls", "1MB"],
)
async def test_a_prompt_that_is_not_usable_text_is_refused_before_anything_is_sent(
    service: Service, sandbox: Sandbox, prompt: str
) -> None:
    with pytest.raises(InvalidInput):
        await service.generate(prompt, wait_seconds=1)
    with pytest.raises(InvalidInput):
        await service.chat(prompt, wait_seconds=1)
    assert sandbox.journal() == []


# -------------------------------------------------------------------------------------- CLI
@pytest.fixture
def cli_env(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NEMO_API_URL", sandbox.url)
    monkeypatch.setenv("NEMO_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("NEMO_OUTPUT_DIR", str(tmp_path / "out"))
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), logging.getLogger("free_generation_image").level)
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    logging.getLogger("free_generation_image").setLevel(saved[2])


CLI_CASES: list[list[str]] = [
    ["generate", ""],
    ["generate", MEGABYTE],
    ["generate", "\udcff\udcfe"],  # what undecodable argv bytes look like to Python
    ["generate", "a cat", "--duration", "-5"],
    ["generate", "a cat", "--duration", "nan"],
    ["generate", "a cat", "--duration", "ten"],
    ["generate", "a cat", "--wait", "-1"],
    ["generate", "a cat", "--kind", "sculpture"],
    ["upload", "\x00"],
    ["upload", "ftp://example.com/a.png"],
    ["upload", MEGABYTE],
    ["status", "--job", BINARY],
    ["cancel", ""],
    ["cancel", MEGABYTE],
    ["chat", ""],
    ["export", "--format", "gif"],
    ["credits", "--bogus"],
]


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize("argv", CLI_CASES, ids=lambda argv: " ".join(a[:12] for a in argv))
def test_bad_command_lines_exit_2_with_one_clear_line(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's usage errors
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    assert code == 2, (code, err)
    assert out == "" and "Traceback" not in err and len(err) < 3000
    last = err.strip().splitlines()[-1]
    assert last.startswith(("error: ", f"{'free-generation-image'}")) or ": error: " in last, err
    assert sandbox.requests("/run_sse") == []


async def test_a_file_whose_name_is_not_text_is_refused_before_anything_is_sent(
    service: Service, sandbox: Sandbox, tmp_path: Path
) -> None:
    odd = tmp_path / os.fsdecode(b"clip-\xff\xfe.png")  # a real file whose name is not UTF-8
    odd.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    with pytest.raises(InvalidInput, match="not valid text"):
        await service.upload([str(odd)])
    assert sandbox.journal() == []
