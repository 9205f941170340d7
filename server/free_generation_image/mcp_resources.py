"""The output folder as MCP resources: a template per media type (every saved file is readable by its
``fgi://output/`` URI) and ``resources/list`` showing the newest saved files. Reads run off the loop."""

from __future__ import annotations

import heapq
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.types import Resource

from free_generation_image import mediatypes, naming
from free_generation_image.service import Service

log = logging.getLogger(__name__)

# Suffix -> MIME type of the files the output dir holds: the product's one media table (a JPEG is saved as
# .jpg), plus the JSON sidecars among the resources.
MEDIA_TYPES = {ext: mime for ext, mime in mediatypes.MIME_TYPES.items() if ext != "jpeg"}
RESOURCE_TYPES = mediatypes.MIME_TYPES | {"json": "application/json"}
RECENT_FILES = 50  # resources/list shows this many newest saved files; older ones stay readable by URI
# One resource read is one JSON-RPC message (base64 adds a third): beyond this, point at the file instead.
MAX_RESOURCE_BYTES = 25 * 2**20


def install_output_resources(mcp: MCPServer[Any], service_of: Callable[[Context], Service]) -> None:
    """Register the output-folder templates and the recent-files listing on ``mcp``."""

    def _register_resource(ext: str, mime: str) -> None:
        @mcp.resource(
            naming.RESOURCE_PREFIX + "{name}." + ext,
            name=f"output-{ext}",
            mime_type=mime,
            description=f"A .{ext} file saved in the output folder",
        )
        async def read_output(name: str, ctx: Context) -> bytes:
            output_dir = service_of(ctx).settings.output_dir
            return await anyio.to_thread.run_sync(_read_output, output_dir, f"{name}.{ext}")

    for ext, mime in RESOURCE_TYPES.items():
        _register_resource(ext, mime)

    async def list_recent_files(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """resources/list: the SDK's static list plus the newest saved files (templates cover the rest)."""
        result = await call_next(ctx)
        if ctx.method != "resources/list" or not isinstance(result, dict) or (ctx.params or {}).get("cursor"):
            return result
        output_dir = service_of(Context(request_context=ctx, mcp_server=mcp)).settings.output_dir
        recent = await anyio.to_thread.run_sync(_recent_files, output_dir)
        listed = [r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in recent]
        return {**result, "resources": [*result.get("resources", []), *listed]}

    mcp.middleware.append(list_recent_files)


def _read_output(output_dir: Path, name: str) -> bytes:
    """Bytes of a file directly inside the output dir, up to MAX_RESOURCE_BYTES; anything else is refused."""
    path = output_dir / name
    if (
        "/" in name
        or "\\" in name
        or name.startswith(".")  # partial downloads in progress
        or not naming.is_inside(output_dir, path)
        or not path.is_file()
    ):
        raise ResourceNotFoundError(f"No such output file: {name}")
    with path.open("rb") as stream:
        data = stream.read(MAX_RESOURCE_BYTES + 1)
    if len(data) > MAX_RESOURCE_BYTES:
        size = max(len(data), path.stat().st_size)
        raise ResourceError(
            f"{name} is {size / 2**20:.0f} MB, too large to send in one message (the limit is "
            f"{MAX_RESOURCE_BYTES / 2**20:.0f} MB); open it from {path} instead."
        )
    return data


def _recent_files(output_dir: Path, limit: int = RECENT_FILES) -> list[Resource]:
    """The newest saved media files directly in the output dir, newest first (blocking)."""
    found: list[tuple[float, str, int]] = []
    try:
        with os.scandir(output_dir) as entries:
            for entry in entries:
                suffix = entry.name.rpartition(".")[2]
                hidden = entry.name.startswith(".")  # partial downloads in progress
                if hidden or suffix not in MEDIA_TYPES or not entry.is_file(follow_symlinks=False):
                    continue
                stat = entry.stat(follow_symlinks=False)
                found.append((stat.st_mtime, entry.name, stat.st_size))
    except OSError as err:  # no output yet, or unreadable: nothing to list
        log.debug("output dir not listed: %s", err)
        return []
    resources: list[Resource] = []
    for _, name, size in heapq.nlargest(limit, found):
        uri = naming.resource_uri_for(output_dir, output_dir / name)
        if uri is not None:
            resources.append(
                Resource(
                    uri=uri,
                    name=name,
                    mime_type=MEDIA_TYPES[name.rpartition(".")[2]],
                    size=size,
                    description=f"Saved at {output_dir / name}",
                )
            )
    return resources


__all__ = ["MAX_RESOURCE_BYTES", "RECENT_FILES", "install_output_resources"]
