"""The studio: an MCP App (extension ``io.modelcontextprotocol/ui``) that shows results inside the chat.

``generate``, ``export`` and ``status`` point at the ``ui://`` page with :func:`tool_meta`; the page calls
the app-only ``studio_*`` tools below through the host. A client that did not negotiate Apps never sees
those tools (the SDK leaves that filtering to hosts, so :meth:`Studio.hide_app_only_tools` does it here)
and gets exactly the results it got before the studio existed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from typing import Annotated, Any, Literal, TypeVar

import anyio.to_thread
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID, Apps, ResourceCsp, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import ToolBinding
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ListToolsResult, TextContent, Tool, ToolAnnotations
from pydantic import Field

from free_generation_image.config import Settings
from free_generation_image.errors import FGIError
from free_generation_image.joblog import TERMINAL
from free_generation_image.nemo import timeline
from free_generation_image.nemo.errors import NemoError
from free_generation_image.service import Service
from free_generation_image.studio import media, view

log = logging.getLogger(__name__)

STUDIO_URI = "ui://free-generation-image/studio.html"
# The ext-apps SDK still reads the flat key older hosts used; its own registerAppTool writes both.
LEGACY_URI_KEY = "ui/resourceUri"
HTML_FILE = "studio.html"

ServiceOf = Callable[[Context], Service]
T = TypeVar("T")

_READS_LOCAL = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
_READS_BACKEND = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)


def tool_meta() -> dict[str, Any]:
    """``_meta`` for a model-visible tool whose results the studio renders."""
    return {"ui": {"resourceUri": STUDIO_URI}, LEGACY_URI_KEY: STUDIO_URI}


def studio_html() -> str:
    """The self-contained page shipped as package data."""
    return resources.files(__package__).joinpath(HTML_FILE).read_text(encoding="utf-8")


def is_app_only(tool: Tool) -> bool:
    """True for a tool whose ``_meta.ui.visibility`` leaves out the model."""
    ui = (tool.meta or {}).get("ui")
    visibility = ui.get("visibility") if isinstance(ui, dict) else None
    return isinstance(visibility, list) and "model" not in visibility


async def _call(ctx: Context, name: str, fn: Callable[[], Awaitable[T]]) -> T:
    """Run one studio operation: only for Apps clients; our errors become tool errors with the hint."""
    if not client_supports_apps(ctx):
        # What the SDK says for a tool that does not exist: to this client, it does not.
        raise ToolError(f"Unknown tool: {name}")
    try:
        return await fn()
    except FGIError as err:
        raise ToolError(err.user_text()) from err


class Studio(Apps):
    """The Apps extension (the page, advertised capability) plus the app-only tools it needs.

    Pass it to ``MCPServer(extensions=[studio])``, then call :meth:`install` after the server's own tools:
    the app-only tools are listed last, so the model-visible listing is compacted exactly as without them.
    ``media_origins`` (remote mode) are the backend origins the page may load media from directly; they
    become the resource's CSP ``resourceDomains``. Without them (stdio) the page may load nothing from
    the network and media arrive through ``studio_media`` chunks.
    """

    def __init__(self, service_of: ServiceOf, *, media_origins: Sequence[str] = ()) -> None:
        super().__init__()
        self._service_of = service_of
        self.media_origins = sorted({o for o in (view.origin(u) for u in media_origins) if o})
        self.add_html_resource(
            STUDIO_URI,
            studio_html(),
            name="studio",
            title="Free Generation Image studio",
            description="Shows generated images and clips, the timeline and exports; exports with a click",
            csp=ResourceCsp(resource_domains=self.media_origins) if self.media_origins else None,
            prefers_border=True,
        )
        self._app_tools: list[ToolBinding] = []
        self._register_tools()

    @classmethod
    def for_server(cls, service_of: ServiceOf, settings: Settings | None, *, remote: bool) -> Studio:
        """Stdio: media only through chunks. Remote: the page may also load the backend's media URLs."""
        return cls(service_of, media_origins=[settings.api_url] if remote and settings is not None else ())

    def install(self, mcp: MCPServer[Any]) -> None:
        """Add the app-only tools (after the server's own) and hide them from clients without Apps."""
        for binding in self._app_tools:
            mcp.add_tool(binding.fn, meta=binding.meta, **binding.kwargs)
        mcp.middleware.append(self.hide_app_only_tools)

    def app_tool_names(self) -> list[str]:
        return [str(binding.kwargs["name"]) for binding in self._app_tools]

    def _app_tool(self, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Collect a tool bound to the page and callable by the page only (``visibility: ["app"]``)."""

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            meta = {"ui": {"resourceUri": STUDIO_URI, "visibility": ["app"]}}
            self._app_tools.append(ToolBinding(fn=fn, meta=meta, kwargs=kwargs))
            return fn

        return decorator

    async def hide_app_only_tools(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        """Server middleware: ``tools/list`` without the app-only tools for clients without Apps."""
        result = await call_next(ctx)
        if ctx.method != "tools/list" or client_supports_apps(ctx):
            return result
        hidden = set(self.app_tool_names())
        if isinstance(result, ListToolsResult):
            return result.model_copy(update={"tools": [t for t in result.tools if t.name not in hidden]})
        if isinstance(result, dict) and isinstance(result.get("tools"), list):
            tools = [t for t in result["tools"] if not (isinstance(t, dict) and t.get("name") in hidden)]
            return {**result, "tools": tools}
        return result

    def _register_tools(self) -> None:
        app_tool = self._app_tool
        service_of = self._service_of
        origins = self.media_origins

        @app_tool(
            name="studio_media",
            title="Studio: read a saved file",
            annotations=_READS_LOCAL,
        )
        async def studio_media(
            ctx: Context,
            file: Annotated[
                str, Field(min_length=1, description="A saved file: its path, name or fgi://output/ URI")
            ],
            offset: Annotated[int, Field(ge=0, description="First byte to return")] = 0,
            length: Annotated[
                int, Field(ge=1, le=media.MAX_CHUNK, description="Bytes to return at most")
            ] = media.MAX_CHUNK,
        ) -> Annotated[CallToolResult, media.MediaChunk]:
            """A base64 slice of a file in the output folder (the studio page's media; nothing else)."""
            output_dir = service_of(ctx).settings.output_dir

            async def read() -> media.MediaChunk:
                # File IO off the event loop: a 100 MB export is read one bounded slice per call.
                return await anyio.to_thread.run_sync(media.read_chunk, output_dir, file, offset, length)

            chunk = await _call(ctx, "studio_media", read)
            end = chunk.offset + chunk.length
            text = f"{chunk.name}: bytes {chunk.offset}-{end} of {chunk.size}"
            return CallToolResult(
                content=[TextContent(text=text)], structured_content=chunk.model_dump(mode="json")
            )

        @app_tool(
            name="studio_project",
            title="Studio: project, timeline and credits",
            annotations=_READS_BACKEND,
        )
        async def studio_project(ctx: Context) -> view.StudioProject:
            """The current project's tracks and segments, running jobs and credits (free)."""
            service = service_of(ctx)

            async def build() -> view.StudioProject:
                status = await service.status()
                result = view.StudioProject(
                    project=status.project,
                    language=(status.project.language if status.project else None)
                    or service.settings.language
                    or "en",
                    ready_to_export=status.ready_to_export,
                    running=[j for j in status.jobs if j.status == "running"],
                    media_origins=origins,
                    chunk_bytes=media.MAX_CHUNK,
                )
                if status.project is not None:
                    try:
                        state = await service.client.state(status.project.session_id)
                    except NemoError as err:
                        result.notes.append(err.user_text())
                    else:
                        draft = timeline.parse_draft(state.draft)
                        result.tracks = view.tracks(draft)
                        result.total_ms = view.total_ms(draft)
                        canvas = state.canvas
                        result.width = _int(canvas.get("width")) or (draft.width if draft else None)
                        result.height = _int(canvas.get("height")) or (draft.height if draft else None)
                try:
                    result.credits = await service.credits()
                except FGIError as err:  # the strip is still worth showing without the balance
                    result.notes.append(err.user_text())
                return result

            return await _call(ctx, "studio_project", build)

        @app_tool(
            name="studio_progress",
            title="Studio: job progress",
            annotations=_READS_LOCAL,
        )
        async def studio_progress(
            ctx: Context,
            job_id: Annotated[str, Field(min_length=1, description="A job_id from generate or export")],
        ) -> view.StudioProgress:
            """Where a job is now, without waiting (the page polls it)."""

            async def read() -> view.StudioProgress:
                status = await service_of(ctx).status(job_id, wait_seconds=0)
                job = status.job
                if job is None:
                    raise ToolError(f"No such job: {job_id}")
                return view.StudioProgress(
                    job_id=job.job_id,
                    kind=job.kind,
                    # The results' words (completed, failed, ...), not the job log's (succeeded).
                    status="completed" if job.status == "succeeded" else job.status,
                    done=job.status in TERMINAL,
                    percent=job.percent,
                    message=status.error or job.message,
                )

            return await _call(ctx, "studio_progress", read)

        @app_tool(
            name="studio_estimate",
            title="Studio: estimate a generation's cost",
            annotations=_READS_BACKEND,
        )
        async def studio_estimate(
            ctx: Context,
            prompt: Annotated[str, Field(min_length=1, max_length=8000, description="What would be made")],
            kind: Annotated[
                Literal["auto", "image", "video"], Field(description="image, video or auto")
            ] = "auto",
        ) -> view.StudioEstimate:
            """The likely cost of a generation and the credits available; spends nothing."""

            async def estimate() -> view.StudioEstimate:
                cost, available = await service_of(ctx).preflight(prompt, kind)
                return view.StudioEstimate(
                    estimate=cost,
                    available=available,
                    enough=None if available is None else available >= cost,
                )

            return await _call(ctx, "studio_estimate", estimate)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


__all__ = ["APP_MIME_TYPE", "EXTENSION_ID", "STUDIO_URI", "Studio", "is_app_only", "studio_html", "tool_meta"]
