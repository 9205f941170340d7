"""How service results become MCP tool results (text, previews, resource links, structured content),
how errors become tool errors with a hint, and how job progress becomes progress notifications."""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent
from pydantic import BaseModel

from free_generation_image import previews
from free_generation_image.engine import local_error
from free_generation_image.errors import FGIError
from free_generation_image.jobs import Progress, ProgressFn
from free_generation_image.models import MediaFile

log = logging.getLogger(__name__)

Model = TypeVar("Model", bound=BaseModel)


def progress_of(ctx: Context) -> ProgressFn:
    """Forward job progress as MCP progress notifications (monotonic, as the spec requires)."""
    last = 0.0

    async def report(progress: Progress) -> None:
        nonlocal last
        value = progress.percent if progress.percent is not None else progress.elapsed
        last = max(value, last + 0.01)
        total = 100.0 if progress.percent is not None else None
        await ctx.report_progress(last, total, progress.message)

    return report


async def run_call(fn: Callable[[], Awaitable[Model]]) -> Model:
    """Run a service call; every error becomes a tool error with a message and what to do next."""
    try:
        return await fn()
    except FGIError as err:
        raise ToolError(err.user_text()) from err
    except OSError as err:  # local state (config or output folder) is never a reason to stop serving
        raise ToolError(local_error(err).user_text()) from err
    except Exception as err:
        log.exception("tool call failed unexpectedly")
        raise ToolError(
            f"Unexpected error ({type(err).__name__}). This is a bug; the server keeps running. "
            "Please report it with the server log."
        ) from err


async def _media_blocks(media: list[MediaFile]) -> list[ContentBlock]:
    blocks: list[ContentBlock] = []
    for item in media:
        # Decoding an image or a video frame is CPU work: keep it off the event loop.
        preview = await anyio.to_thread.run_sync(previews.try_preview, Path(item.path))
        if isinstance(preview, previews.Preview):
            blocks.append(
                ImageContent(data=base64.b64encode(preview.data).decode(), mime_type=preview.mime_type)
            )
        elif preview is not None:  # say why there is no preview (e.g. PyAV missing) and how to fix it
            blocks.append(TextContent(text=preview.reason))
        if item.resource_uri:
            blocks.append(
                ResourceLink(
                    uri=item.resource_uri,
                    name=Path(item.path).name,
                    mime_type=item.mime_type,
                    size=item.size,
                    description=f"Saved at {item.path}",
                )
            )
    return blocks


async def tool_result(model: BaseModel, text: str, media: list[MediaFile] | None = None) -> CallToolResult:
    """The text with every key fact, a preview and a resource link per saved file, and structured content."""
    content: list[ContentBlock] = [TextContent(text=text)]
    content += await _media_blocks(media or [])
    return CallToolResult(content=content, structured_content=model.model_dump(mode="json"))


__all__ = ["progress_of", "run_call", "tool_result"]
