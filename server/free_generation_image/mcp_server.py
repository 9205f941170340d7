"""The MCP server: tool declarations over the service layer. Thin on purpose.

stdout is the protocol here: nothing in this module (or below it) prints; logs go to stderr.
"""

from __future__ import annotations

import base64
import heapq
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, cast

import anyio.to_thread
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    MCPServer,
    Resolve,
)
from mcp.server.mcpserver.exceptions import (
    ResourceError,
    ResourceNotFoundError,
    ToolError,
    UnexpectedToolError,
)
from mcp.types import (
    CallToolResult,
    ContentBlock,
    ImageContent,
    InputRequiredResult,
    Resource,
    ResourceLink,
    TextContent,
    ToolAnnotations,
)
from mcp.types import Tool as MCPTool
from pydantic import BaseModel, Field, ValidationError

from free_generation_image import mediatypes, naming, previews
from free_generation_image.config import Settings
from free_generation_image.engine import local_error
from free_generation_image.errors import FGIError
from free_generation_image.jobs import Progress, ProgressFn
from free_generation_image.mcp_schema import argument_error, compact_tools
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
from free_generation_image.prompting import AspectRatio, Kind
from free_generation_image.service import Service
from free_generation_image.skillmeta import SKILL
from free_generation_image.studio import Studio, tool_meta

log = logging.getLogger(__name__)

# Suffix -> MIME type of the files the output dir holds: the product's one media table (a JPEG is saved as
# .jpg), plus the JSON sidecars among the resources.
MEDIA_TYPES = {ext: mime for ext, mime in mediatypes.MIME_TYPES.items() if ext != "jpeg"}
RESOURCE_TYPES = mediatypes.MIME_TYPES | {"json": "application/json"}
RECENT_FILES = 50  # resources/list shows this many newest saved files; older ones stay readable by URI
# One resource read is one JSON-RPC message (base64 adds a third): beyond this, point at the file instead.
MAX_RESOURCE_BYTES = 25 * 2**20
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
    service: Service | None
    # Remote mode (remote/app.py): each request's own user's Service instead of one per process.
    service_for: Callable[[Context], Service] | None = None


class ToolSurface(MCPServer[AppState]):
    """The SDK server, with a compact tool listing and argument errors in one plain sentence."""

    async def list_tools(self) -> list[MCPTool]:
        return compact_tools(await super().list_tools())

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[AppState, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise
        except ToolError as err:
            # The SDK raises a failed argument validation (and only that: a tool body's own errors are wrapped
            # differently) as a ToolError caused by the ValidationError, whose text is a pydantic dump.
            if not isinstance(err.__cause__, ValidationError):
                raise
            schemas = {tool.name: tool.input_schema for tool in await self.list_tools()}
            message = argument_error(name, err.__cause__, arguments, schemas.get(name, {}))
            raise ToolError(message) from err.__cause__


def instructions() -> str:
    """Server instructions: the same text SKILL.md gives skill-reading assistants."""
    return SKILL.section("How to use the tools") or SKILL.description


def _service(ctx: Context) -> Service:
    state = cast(AppState, ctx.request_context.lifespan_context)
    service = state.service_for(ctx) if state.service_for is not None else state.service
    assert service is not None
    params = ctx.session.client_params
    if params is not None and params.client_info is not None:
        service.set_client_name(params.client_info.name)
    return service


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


async def _result(model: BaseModel, text: str, media: list[MediaFile] | None = None) -> CallToolResult:
    content: list[ContentBlock] = [TextContent(text=text)]
    content += await _media_blocks(media or [])
    return CallToolResult(content=content, structured_content=model.model_dump(mode="json"))


class SpendConfirmation(BaseModel):
    """What the user is asked before a generation that probably exceeds their credits."""

    send: bool = Field(description="Send the generation anyway?")


async def confirm_budget(
    prompt: str,
    ctx: Context,
    kind: Kind = "auto",
    aspect_ratio: AspectRatio | None = None,
    duration_s: float | None = None,
    new_project: bool = False,
) -> Elicit[SpendConfirmation] | SpendConfirmation:
    """Ask once, where the client can, when the estimate exceeds the balance; never for a call that joins a
    running (or just finished) identical job. The estimate is a guess: without elicitation it never blocks."""
    go = SpendConfirmation(send=True)
    caps = ctx.client_capabilities
    elicitation = caps.elicitation if caps is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return go
    service = _service(ctx)
    try:
        joining = await service.find_generate(
            prompt, kind=kind, aspect_ratio=aspect_ratio, duration_s=duration_s, new_project=new_project
        )
        if joining is not None:
            return go
        estimate, available = await service.preflight(prompt, kind)
    except (FGIError, OSError) as err:  # the tool checks the input again and reports any real problem
        log.info("budget check skipped: %s", err)
        return go
    if available is None or available >= estimate:
        return go
    return Elicit(
        f"This generation is estimated at about {estimate} credits (an estimate, not a price) and "
        f"{available} are available. Send it anyway?",
        SpendConfirmation,
    )


def build_server(
    settings: Settings | None = None,
    *,
    service_factory: Callable[[Settings], Service] | None = None,
    service_for: Callable[[Context], Service] | None = None,
) -> MCPServer:
    """The MCP server. ``settings`` default to the environment; tests inject a factory. ``service_for``
    (remote mode) picks the calling user's Service per request; then no process-wide Service is opened."""

    @asynccontextmanager
    async def lifespan(server: MCPServer) -> AsyncIterator[AppState]:
        if service_for is not None:
            yield AppState(service=None, service_for=service_for)
            return
        resolved = settings or Settings.from_env()
        service = service_factory(resolved) if service_factory else Service(resolved)
        async with service:
            await service.reconcile()
            yield AppState(service=service)

    studio = Studio.for_server(_service, settings, remote=service_for is not None)
    mcp = ToolSurface(
        SKILL.name,
        title="Free Generation Image",
        version=SKILL.version,
        instructions=instructions(),
        lifespan=lifespan,
        website_url=str(SKILL.metadata.get("openclaw", {}).get("homepage") or "") or None,
        # The CLI configures logging for `serve`; an embedder calling build_server() gets quiet defaults
        # rather than a line (with signed media URLs) per backend request.
        log_level="WARNING",
        extensions=[studio],
    )

    @mcp.tool(
        title="Generate image or video",
        annotations=SPENDS_OR_CHANGES,
        meta=tool_meta(),
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
        kind: Annotated[
            Kind, Field(description="image, video, or auto: what the prompt names, else an image")
        ] = "auto",
        aspect_ratio: Annotated[
            AspectRatio | None, Field(description="Frame shape; default: backend's choice")
        ] = None,
        duration_s: Annotated[
            float | None, Field(ge=1, le=60, description="Video length in seconds (videos only)")
        ] = None,
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
        """Make an image or a short video from a text prompt and save it on the user's computer.
        SPENDS CREDITS (about 30 per image, about 100 per video clip), so call it once per request and never
        retry it after a timeout: a result with a job_id is still running; collect it with
        `status(job_id=...)`. The same prompt sent again while it runs (or just after) returns that job
        instead of paying twice. Each call adds to the current project (its timeline), which `export` renders.
        Results give the saved file paths, previews and the credits before and after."""
        if not isinstance(confirmation, AcceptedElicitation) or not confirmation.data.send:
            raise ToolError(
                "Not sent: the user chose not to spend credits on this generation. Nothing was charged."
            )
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
        wait_seconds: Annotated[
            float, Field(ge=0, le=55, description="Max seconds to wait before returning a job_id")
        ] = DEFAULT_WAIT,
    ) -> Annotated[CallToolResult, UploadResult]:
        """Add the user's own images, clips or audio to the current project (free), so the next `generate`
        can build on them. URLs are handed to the backend, not downloaded here."""
        sources = [source] if isinstance(source, str) else list(source)
        result = await _call(
            lambda: _service(ctx).upload(
                sources, wait_seconds=_wait(wait_seconds), on_progress=_progress(ctx)
            )
        )
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
        meta=tool_meta(),
    )
    async def status(
        ctx: Context,
        job_id: Annotated[
            str | None, Field(description="A job_id returned by generate, upload, export or chat")
        ] = None,
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
        meta=tool_meta(),
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
        """Render the whole project timeline into one file (an MP4 video or a PNG still) and save it
        locally. FREE: no credits. Renders take about 30 s; if one is not done within wait_seconds you
        get a job_id for `status`. Exporting the same unchanged timeline again returns the same file."""
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
        wait_seconds: Annotated[
            float, Field(ge=0, le=55, description="Max seconds to wait before returning a job_id")
        ] = DEFAULT_WAIT,
    ) -> Annotated[CallToolResult, ChatResult]:
        """Route the user's free text to one operation: export/导出, credits/积分, status/状态,
        upload/上传 (with a path or URL), cancel <job_id>; anything else is a generation (SPENDS CREDITS).
        Prefer the specific tools when the intent is clear."""
        result = await _call(
            lambda: _service(ctx).chat(message, wait_seconds=_wait(wait_seconds), on_progress=_progress(ctx))
        )
        return await _result(result, result.text(), result.saved_files())

    def _register_resource(ext: str, mime: str) -> None:
        @mcp.resource(
            naming.RESOURCE_PREFIX + "{name}." + ext,
            name=f"output-{ext}",
            mime_type=mime,
            description=f"A .{ext} file saved in the output folder",
        )
        async def read_output(name: str, ctx: Context) -> bytes:
            output_dir = _service(ctx).settings.output_dir
            return await anyio.to_thread.run_sync(_read_output, output_dir, f"{name}.{ext}")

    for ext, mime in RESOURCE_TYPES.items():
        _register_resource(ext, mime)

    async def list_recent_files(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """resources/list: the SDK's static list plus the newest saved files (templates cover the rest)."""
        result = await call_next(ctx)
        if ctx.method != "resources/list" or not isinstance(result, dict) or (ctx.params or {}).get("cursor"):
            return result
        output_dir = _service(Context(request_context=ctx, mcp_server=mcp)).settings.output_dir
        recent = await anyio.to_thread.run_sync(_recent_files, output_dir)
        listed = [r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in recent]
        return {**result, "resources": [*result.get("resources", []), *listed]}

    mcp.middleware.append(list_recent_files)
    studio.install(mcp)
    return mcp


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


def serve(settings: Settings | None = None) -> None:
    """Run the MCP server on stdio (blocking)."""
    build_server(settings).run()


__all__ = ["build_server", "instructions", "serve"]
