"""The MCP server: tool declarations over the service layer. Thin on purpose.

stdout is the protocol here: nothing in this module (or below it) prints; logs go to stderr.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, TypeVar, cast

import anyio.to_thread
from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    MCPServer,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import (
    CallToolResult,
    ContentBlock,
    ImageContent,
    ResourceLink,
    TextContent,
    ToolAnnotations,
)
from pydantic import BaseModel, Field

from free_generation_image import files
from free_generation_image.config import Settings
from free_generation_image.errors import FGIError
from free_generation_image.jobs import Progress, ProgressFn
from free_generation_image.models import (
    CancelResult,
    ChatResult,
    CreditsInfo,
    ExportResult,
    GenerateResult,
    MediaFile,
    StatusResult,
    UploadResult,
)
from free_generation_image.nemo.errors import NemoError
from free_generation_image.prompting import AspectRatio, Kind
from free_generation_image.service import Service
from free_generation_image.skillmeta import SKILL

log = logging.getLogger(__name__)

RESOURCE_PREFIX = "fgi://output/"
RESOURCE_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
    "json": "application/json",
}
DEFAULT_WAIT = 50.0
MAX_TOOL_WAIT = 55.0  # hosts cut calls at ~60 s and none extends on progress (mcp-notes §6)

Model = TypeVar("Model", bound=BaseModel)

# Every tool talks to the backend (open world). Only `cancel` is destructive (it stops a render).
SPENDS_OR_CHANGES = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)
READS = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
RENDERS = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
STOPS = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
)


@dataclass
class AppState:
    service: Service


def instructions() -> str:
    """Server instructions: the same text SKILL.md gives skill-reading assistants."""
    return SKILL.section("How to use the tools") or SKILL.description


def _service(ctx: Context) -> Service:
    state = cast(AppState, ctx.request_context.lifespan_context)
    params = ctx.session.client_params
    if params is not None and params.client_info is not None:
        state.service.set_client_name(params.client_info.name)
    return state.service


def _progress(ctx: Context) -> ProgressFn:
    """Forward job progress as MCP progress notifications (monotonic, as the spec requires)."""
    last = 0.0

    async def report(progress: Progress) -> None:
        nonlocal last
        value = progress.percent if progress.percent is not None else progress.elapsed
        last = max(value, last + 0.01)
        total = 100.0 if progress.percent is not None else None
        await ctx.report_progress(last, total, progress.message)

    return report


def _wait(seconds: float) -> float:
    return max(0.0, min(seconds, MAX_TOOL_WAIT))


async def _call(fn: Callable[[], Awaitable[Model]]) -> Model:
    """Run a service call; our errors become tool errors carrying the actionable message."""
    try:
        return await fn()
    except FGIError as err:
        raise ToolError(err.user_text()) from err


async def _media_blocks(media: list[MediaFile]) -> list[ContentBlock]:
    blocks: list[ContentBlock] = []
    for item in media:
        # Decoding an image or a video frame is CPU work: keep it off the event loop.
        preview = await anyio.to_thread.run_sync(files.make_preview, Path(item.path))
        if preview is not None:
            blocks.append(
                ImageContent(data=base64.b64encode(preview.data).decode(), mime_type=preview.mime_type)
            )
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


async def _result(model: BaseModel, text: str, media: list[MediaFile] | None = None) -> CallToolResult:
    content: list[ContentBlock] = [TextContent(text=text)]
    content += await _media_blocks(media or [])
    return CallToolResult(content=content, structured_content=model.model_dump(mode="json"))


class SpendConfirmation(BaseModel):
    """What the user is asked before a generation that probably exceeds their credits."""

    send: bool = Field(description="Send the generation anyway?")


async def confirm_budget(
    prompt: str, ctx: Context, kind: Kind = "auto", duration_s: float | None = None
) -> Elicit[SpendConfirmation] | SpendConfirmation:
    """Ask the user (when the client can) before a generation that likely costs more than is available."""
    service = _service(ctx)
    try:
        estimate, available = await service.preflight(prompt, kind, duration_s)
    except (FGIError, NemoError) as err:
        log.info("budget check skipped: %s", err)
        return SpendConfirmation(send=False)  # the tool re-checks and reports any real problem
    if available >= estimate:
        return SpendConfirmation(send=False)
    caps = ctx.client_capabilities
    elicitation = caps.elicitation if caps is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return SpendConfirmation(send=False)
    return Elicit(
        f"This generation likely costs about {estimate} credits and only {available} are available. "
        "Send it anyway?",
        SpendConfirmation,
    )


def build_server(
    settings: Settings | None = None, *, service_factory: Callable[[Settings], Service] | None = None
) -> MCPServer:
    """The MCP server. ``settings`` default to the environment; tests inject a factory."""

    @asynccontextmanager
    async def lifespan(server: MCPServer) -> AsyncIterator[AppState]:
        resolved = settings or Settings.from_env()
        service = service_factory(resolved) if service_factory else Service(resolved)
        async with service:
            service.reconcile()
            yield AppState(service=service)

    mcp = MCPServer(
        SKILL.name,
        title="Free Generation Image",
        version=SKILL.version,
        instructions=instructions(),
        lifespan=lifespan,
        website_url=str(SKILL.metadata.get("openclaw", {}).get("homepage") or "") or None,
        # The CLI configures logging for `serve`; an embedder calling build_server() gets quiet defaults
        # rather than a line (with signed media URLs) per backend request.
        log_level="WARNING",
    )

    @mcp.tool(
        title="Generate image or video",
        annotations=SPENDS_OR_CHANGES,
    )
    async def generate(
        prompt: Annotated[
            str,
            Field(
                min_length=1,
                max_length=8000,
                description="What to make, in the user's words (English or Chinese)",
            ),
        ],
        ctx: Context,
        confirmation: Annotated[ElicitationResult[SpendConfirmation], Resolve(confirm_budget)],
        kind: Annotated[Kind, Field(description="image, video, or auto (let the prompt decide)")] = "auto",
        aspect_ratio: Annotated[
            AspectRatio | None, Field(description="Frame shape; default: backend's choice")
        ] = None,
        duration_s: Annotated[float | None, Field(ge=1, le=60, description="Video length in seconds")] = None,
        new_project: Annotated[
            bool, Field(description="Start a fresh project instead of adding to the current one")
        ] = False,
        wait_seconds: Annotated[
            float,
            Field(
                ge=0,
                le=55,
                description="Max seconds to wait before returning a job_id (hosts time out at ~60 s)",
            ),
        ] = DEFAULT_WAIT,
    ) -> Annotated[CallToolResult, GenerateResult]:
        """Generate an image or short video from a text prompt. SPENDS CREDITS (about 30 per image, about 100
        per video clip), so call it once per request and never retry it after a timeout: if it returns a
        job_id, follow it with `status(job_id=...)`. The same prompt sent again while it runs (or just after)
        returns the same job instead of paying twice. Results include the saved file paths and previews."""
        if not isinstance(confirmation, AcceptedElicitation):
            raise ToolError("Not sent: the user declined to spend credits on this generation.")
        service = _service(ctx)
        result = await _call(
            lambda: service.generate(
                prompt,
                kind=kind,
                aspect_ratio=aspect_ratio,
                duration_s=duration_s,
                new_project=new_project,
                wait_seconds=_wait(wait_seconds),
                on_progress=_progress(ctx),
                confirmed=confirmation.data.send,
            )
        )
        return await _result(result, result.text(), result.media)

    @mcp.tool(
        title="Upload reference media",
        annotations=SPENDS_OR_CHANGES,
    )
    async def upload(
        source: Annotated[
            str | list[str],
            Field(
                description="Local file path(s) or http(s) URL(s): video "
                "mp4/mov/avi/webm/mkv, image jpg/png/gif/webp, audio mp3/wav/m4a/aac; "
                "200 MB max each"
            ),
        ],
        ctx: Context,
    ) -> Annotated[CallToolResult, UploadResult]:
        """Add reference images, clips or audio to the current project (free). URLs are handed to the backend,
        not downloaded here. Use before `generate` when the user wants to build on their own media."""
        sources = [source] if isinstance(source, str) else list(source)
        result = await _call(lambda: _service(ctx).upload(sources))
        return await _result(result, result.text())

    @mcp.tool(
        title="Check credits",
        annotations=READS,
    )
    async def credits(ctx: Context) -> Annotated[CallToolResult, CreditsInfo]:
        """Show the credit balance: available, frozen (reserved by running work) and total. Free."""
        result = await _call(lambda: _service(ctx).credits())
        return await _result(result, result.text())

    @mcp.tool(
        title="Project and job status",
        annotations=READS,
    )
    async def status(
        ctx: Context,
        job_id: Annotated[str | None, Field(description="A job_id returned by generate/export/chat")] = None,
        wait_seconds: Annotated[
            float, Field(ge=0, le=55, description="With job_id: max seconds to wait for it")
        ] = 0,
    ) -> Annotated[CallToolResult, StatusResult]:
        """Without job_id: the project's timeline, whether it can be exported, and recent/running jobs (also
        from before a restart). With job_id: wait up to wait_seconds and return that job's result (files
        included). Free; call it as often as needed."""
        result = await _call(
            lambda: _service(ctx).status(job_id, wait_seconds=_wait(wait_seconds), on_progress=_progress(ctx))
        )
        return await _result(result, result.text(), result.saved_files())

    @mcp.tool(
        title="Export video or still",
        annotations=RENDERS,
    )
    async def export(
        ctx: Context,
        format: Annotated[
            Literal["mp4", "png"], Field(description="mp4: the video; png: a still of the composition")
        ] = "mp4",
        wait_seconds: Annotated[
            float, Field(ge=0, le=55, description="Max seconds to wait before returning a job_id")
        ] = DEFAULT_WAIT,
    ) -> Annotated[CallToolResult, ExportResult]:
        """Render the project's timeline and save the file locally (FREE: no credits). Renders take ~30 s;
        if it is not done within wait_seconds you get a job_id for `status`. Exporting the same unchanged
        timeline again returns the same file."""
        result = await _call(
            lambda: _service(ctx).export(format, wait_seconds=_wait(wait_seconds), on_progress=_progress(ctx))
        )
        return await _result(result, result.text(), [result.file] if result.file else [])

    @mcp.tool(
        title="Cancel a job",
        annotations=STOPS,
    )
    async def cancel(
        job_id: Annotated[str, Field(min_length=1, description="The job_id to stop")],
        ctx: Context,
    ) -> Annotated[CallToolResult, CancelResult]:
        """Stop waiting on a job; a pending render is cancelled on the backend. A generation already sent may
        still finish (and be charged) on the backend."""
        result = await _call(lambda: _service(ctx).cancel(job_id))
        return await _result(result, result.text())

    @mcp.tool(
        title="Chat (routes free text)",
        annotations=SPENDS_OR_CHANGES,
    )
    async def chat(
        message: Annotated[
            str,
            Field(
                min_length=1,
                max_length=8000,
                description="The user's words, English or "
                "Chinese, e.g. 'export', '导出', 'credits', 'a cat surfing at sunset'",
            ),
        ],
        ctx: Context,
        wait_seconds: Annotated[float, Field(ge=0, le=55, description="Max seconds to wait")] = DEFAULT_WAIT,
    ) -> Annotated[CallToolResult, ChatResult]:
        """Route free text to the right operation: export/导出, credits/积分, status/状态, upload/上传 (with a
        path or URL), cancel <job_id>; anything else is a generation (SPENDS CREDITS). Prefer the specific
        tools when the intent is clear."""
        result = await _call(
            lambda: _service(ctx).chat(message, wait_seconds=_wait(wait_seconds), on_progress=_progress(ctx))
        )
        return await _result(result, result.text(), result.saved_files())

    def _register_resource(ext: str, mime: str) -> None:
        @mcp.resource(
            RESOURCE_PREFIX + "{name}." + ext,
            name=f"output-{ext}",
            mime_type=mime,
            description=f"A .{ext} file saved in the output folder",
        )
        async def read_output(name: str, ctx: Context) -> bytes:
            return _read_output(_service(ctx).settings.output_dir, f"{name}.{ext}")

    for ext, mime in RESOURCE_TYPES.items():
        _register_resource(ext, mime)

    return mcp


def _read_output(output_dir: Path, name: str) -> bytes:
    """Bytes of a file directly inside the output dir; anything else is refused."""
    path = output_dir / name
    if "/" in name or "\\" in name or not files.is_inside(output_dir, path) or not path.is_file():
        raise ResourceError(f"No such output file: {name}")
    return path.read_bytes()


def serve(settings: Settings | None = None) -> None:
    """Run the MCP server on stdio (blocking)."""
    build_server(settings).run()


__all__ = ["build_server", "instructions", "serve"]
