"""Figure 7: cold start, from spawning ``free-generation-image serve`` to the ``tools/list`` answer.

What a host does at launch, over stdio: ``initialize``, ``notifications/initialized``,
``tools/list``. The baseline is the floor any MCP server in Python pays: ``python -c "import mcp"``
run to exit. The runs alternate; medians. The bare interpreter start is reported for scale.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Final

import anyio
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

from bench.context import Bench
from bench.processes import ROOT, child_env
from bench.report import Figure
from bench.stats import median, ratio

TARGET_RATIO: Final = 1.5
PROTOCOL_VERSION: Final = "2025-11-25"  # the handshake era every host speaks today
EXPECTED_TOOLS: Final = 7
ANSWER_TIMEOUT: Final = 60.0
MAX_LINE: Final = 16 * 2**20


def serve_command() -> list[str]:
    """The console script hosts launch (beside this interpreter), else the module form."""
    script = Path(sys.executable).parent / "free-generation-image"
    if script.exists():
        return [str(script), "serve"]
    found = shutil.which("free-generation-image")
    return [found, "serve"] if found else [sys.executable, "-m", "free_generation_image", "serve"]


async def _send(process: Process, message: dict[str, Any]) -> None:
    assert process.stdin is not None
    await process.stdin.send(json.dumps(message).encode() + b"\n")


async def _answer(lines: BufferedByteReceiveStream, request_id: int) -> dict[str, Any]:
    """The JSON-RPC answer to ``request_id`` (notifications and other lines are skipped)."""
    while True:
        message: dict[str, Any] = json.loads(await lines.receive_until(b"\n", MAX_LINE))
        if message.get("id") == request_id:
            if "error" in message:
                raise RuntimeError(f"serve answered request {request_id} with {message['error']}")
            return message


async def serve_once(bench: Bench, run: int) -> float:
    """Seconds from spawn to the tools/list answer, for one fresh ``serve`` process."""
    folder = bench.folder(f"cold-{run}")
    env = child_env(
        {
            "NEMO_API_URL": bench.url,
            "NEMO_CONFIG_DIR": str(folder / "config"),
            "NEMO_OUTPUT_DIR": str(folder / "out"),
        }
    )
    started = time.perf_counter()
    process = await anyio.open_process(serve_command(), env=env, cwd=folder, stderr=None)
    try:
        assert process.stdout is not None and process.stdin is not None
        lines = BufferedByteReceiveStream(process.stdout)
        with anyio.fail_after(ANSWER_TIMEOUT):
            await _send(
                process,
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "protocolVersion": PROTOCOL_VERSION,
                        "capabilities": {},
                        "clientInfo": {"name": "bench", "version": "0"},
                    },
                },
            )
            await _answer(lines, 1)
            await _send(process, {"jsonrpc": "2.0", "method": "notifications/initialized"})
            await _send(process, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
            tools = (await _answer(lines, 2))["result"]["tools"]
        seconds = time.perf_counter() - started
        if len(tools) != EXPECTED_TOOLS:
            raise RuntimeError(f"serve listed {len(tools)} tools, expected {EXPECTED_TOOLS}")
        await process.stdin.aclose()  # how hosts stop a stdio server
        with anyio.move_on_after(5):
            await process.wait()
        return seconds
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def python_once(code: str) -> float:
    """Seconds to run ``python -c code`` to exit."""
    started = time.perf_counter()
    await anyio.run_process([sys.executable, "-c", code], cwd=ROOT, env=child_env())
    return time.perf_counter() - started


async def measure(bench: Bench) -> list[Figure]:
    """``scale.cold_runs`` of each, interleaved, after one untimed warm-up of each (disk cache)."""
    if bench.scale.cold_runs > 1:  # warm the disk cache; a smoke run has no time for it
        await serve_once(bench, -1)
        await python_once("import mcp")
    serve: list[float] = []
    baseline: list[float] = []
    bare: list[float] = []
    for run in range(bench.scale.cold_runs):
        serve.append(await serve_once(bench, run))
        baseline.append(await python_once("import mcp"))
        bare.append(await python_once("pass"))
    ours, base, floor = median(serve), median(baseline), median(bare)
    value = ratio(ours, base)
    return [
        Figure(
            key="cold_start",
            title=f"7. serve cold start to tools/list (median of {len(serve)})",
            value=ours,
            unit="s",
            baseline=base,
            baseline_label='python -c "import mcp"',
            ratio=value,
            ratio_label="serve/import mcp",
            target=f"≤ {TARGET_RATIO:g}×",
            met=value <= TARGET_RATIO,
            note=f"a bare interpreter starts in {floor:.2f} s",
            details={"serve_s": serve, "import_mcp_s": baseline, "python_s": bare},
        )
    ]
