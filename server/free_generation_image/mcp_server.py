"""The MCP server: tool declarations over the service layer. Thin on purpose.

stdout is the protocol here: nothing in this module (or below it) prints; logs go to stderr.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar, cast

from mcp.server.mcpserver import (
    AcceptedElicitation,
    Context,
    Elicit,
    ElicitationResult,
    MCPServer,
    Resolve,
)
from mcp.server.mcpserver.exceptions import (
    ToolError,
    UnexpectedToolError,
)
from mcp.types import (
    CallToolResult,
    InputRequiredResult,
    ToolAnnotations,
)
from mcp.types import Tool as MCPTool
from pydantic import BaseModel, Field, ValidationError

from free_generation_image.config import Settings
from free_generation_image.errors import FGIError
from free_generation_image.mcp_resources import install_output_resources
from free_generation_image.mcp_results import progress_of, run_call, tool_result
from free_generation_image.mcp_schema import argument_error, compact_tools
from free_generation_image.models import (
    CancelResult,
    ChatResult,
    CreditsInfo,
    ExportResult,
    GenerateResult,
    StatusResult,
    UploadResult,
)
from free_generation_image.prompting import AspectRatio, Kind
from free_generation_image.service import Service
from free_generation_image.skillmeta import SKILL
from free_generation_image.studio import Studio, tool_meta

log = logging.getLogger(__name__)

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


def _wait(seconds: float) -> float:
    return max(0.0, min(seconds, MAX_TOOL_WAIT))


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
        result = await run_call(
            lambda: service.generate(
                prompt,
                kind=kind,
                aspect_ratio=aspect_ratio,
                duration_s=duration_s,
                new_project=new_project,
                wait_seconds=_wait(wait_seconds),
                on_progress=progress_of(ctx),
            )
        )
        return await tool_result(result, result.text(), result.media)

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
        result = await run_call(
            lambda: _service(ctx).upload(
                sources, wait_seconds=_wait(wait_seconds), on_progress=progress_of(ctx)
            )
        )
        return await tool_result(result, result.text())

    @mcp.tool(
        title="Check credits",
        annotations=READS,
    )
    async def credits(ctx: Context) -> Annotated[CallToolResult, CreditsInfo]:
        """Show the credit balance: available, frozen (reserved by running work) and total. Free."""
        result = await run_call(lambda: _service(ctx).credits())
        return await tool_result(result, result.text())

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
        result = await run_call(
            lambda: _service(ctx).status(
                job_id, wait_seconds=_wait(wait_seconds), on_progress=progress_of(ctx)
            )
        )
        return await tool_result(result, result.text(), result.saved_files())

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
        result = await run_call(
            lambda: _service(ctx).export(
                format, wait_seconds=_wait(wait_seconds), on_progress=progress_of(ctx)
            )
        )
        return await tool_result(result, result.text(), [result.file] if result.file else [])

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
        result = await run_call(lambda: _service(ctx).cancel(job_id))
        return await tool_result(result, result.text())

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
        result = await run_call(
            lambda: _service(ctx).chat(
                message, wait_seconds=_wait(wait_seconds), on_progress=progress_of(ctx)
            )
        )
        return await tool_result(result, result.text(), result.saved_files())

    install_output_resources(mcp, _service)
    studio.install(mcp)
    return mcp


def serve(settings: Settings | None = None) -> None:
    """Run the MCP server on stdio (blocking)."""
    build_server(settings).run()


__all__ = ["build_server", "instructions", "serve"]
