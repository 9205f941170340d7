"""A browser-facing relay for the studio's browser test: serves the test host page and relays its MCP
requests (tools/call, tools/list, resources/read) to the real server through the official client."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import uvicorn
from filelock import FileLock
from mcp import Client
from mcp.client.extension import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID
from mcp.server.mcpserver import MCPServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

HOST_DIR = Path(__file__).parent / "host"
# npm packages the browser test needs (the .ci/run step installs the same into the tools cache).
NPM_PACKAGES = (
    "@modelcontextprotocol/ext-apps@2",
    "@modelcontextprotocol/client@2",
    "@modelcontextprotocol/core@2",
    "zod@4",
    "axe-core@4",
    "esbuild@0",
)


def apps_extension() -> Any:
    """What a host that renders MCP Apps advertises."""
    return advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})


def tools_cache() -> Path:
    return Path(os.environ.get("FGI_TOOLS_CACHE") or Path.home() / ".cache" / "fgi-tools")


def npm_tools() -> Path:
    """node_modules with the bridge, axe-core and esbuild; installed once into the tools cache."""
    prefix = tools_cache()
    modules = prefix / "node_modules"
    wanted = [modules / "@modelcontextprotocol/ext-apps", modules / "axe-core", modules / ".bin/esbuild"]
    prefix.mkdir(parents=True, exist_ok=True)
    # The cache is shared by every test worker (and checkout): one installer at a time, the others wait.
    with FileLock(prefix / ".install.lock", timeout=600):
        if not all(p.exists() for p in wanted):
            npm = shutil.which("npm")
            if npm is None:
                raise RuntimeError("npm is needed to install the MCP Apps host bridge and axe-core")
            subprocess.run(
                [npm, "install", "-s", "--prefix", str(prefix), *NPM_PACKAGES], check=True, timeout=600
            )
    return modules


def bundle_bridge(modules: Path, out_dir: Path) -> Path:
    """The official host bridge (AppBridge + PostMessageTransport) as one browser script."""
    entry = out_dir / "bridge-entry.mjs"
    entry.write_text(
        'import { AppBridge, PostMessageTransport } from "@modelcontextprotocol/ext-apps/app-bridge";\n'
        "window.McpAppsHost = { AppBridge, PostMessageTransport };\n",
        encoding="utf-8",
    )
    out = out_dir / "bridge.js"
    subprocess.run(
        [
            str(modules / ".bin/esbuild"),
            str(entry),
            "--bundle",
            "--format=iife",
            f"--outfile={out}",
            "--log-level=warning",
        ],
        check=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(modules)},
        cwd=modules.parent,
    )
    return out


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


@asynccontextmanager
async def relay(server: MCPServer[Any], bridge_js: Path) -> AsyncIterator[str]:
    """Serve the host page on 127.0.0.1 (yields its base URL) with an Apps-capable client behind /rpc."""
    async with Client(server, extensions=[apps_extension()], read_timeout_seconds=60) as client:

        async def rpc(request: Request) -> Response:
            body = json.loads(await request.body())
            method, params = body["method"], body.get("params") or {}
            try:
                if method == "tools/call":
                    result = await client.call_tool(params["name"], params.get("arguments") or {})
                elif method == "tools/list":
                    result = await client.list_tools()
                elif method == "resources/read":
                    result = await client.read_resource(params["uri"])
                else:
                    return JSONResponse({"error": f"not relayed: {method}"})
            except Exception as err:  # the page shows it; the test asserts on what the page shows
                return JSONResponse({"error": str(err)})
            return JSONResponse({"result": _dump(result)})

        app = Starlette(
            routes=[
                Route("/", lambda _: FileResponse(HOST_DIR / "host.html")),
                Route("/host.js", lambda _: FileResponse(HOST_DIR / "host.js")),
                Route("/bridge.js", lambda _: FileResponse(bridge_js)),
                Route("/rpc", rpc, methods=["POST"]),
            ]
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        web = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: web.serve(sockets=[sock]))
            while not web.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
                await anyio.sleep(0.01)
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                web.should_exit = True
