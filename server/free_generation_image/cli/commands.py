"""The commands that call the service: one function each, plus the spending question before a generation."""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio

from free_generation_image.cli.render import PROG
from free_generation_image.cli.run import Run
from free_generation_image.cli.waiting import chunk, failure_code, follow, see_through, settled
from free_generation_image.errors import FGIError

if TYPE_CHECKING:
    from free_generation_image.config import Settings
    from free_generation_image.models import ExportResult, GenerateResult
    from free_generation_image.service import Service

Command = Callable[[Run, "Service"], Awaitable[int]]


class SpendDeclined(FGIError):
    """The person answered no when asked to spend more than the balance; nothing was sent."""

    default_hint = f"Nothing was sent. To send without asking, add --yes (or run `{PROG} credits`)."


def settings(run: Run) -> Settings:
    from free_generation_image.config import Settings

    return Settings.from_env(
        api_url=getattr(run.args, "api_url", None), output_dir=getattr(run.args, "output", None)
    )


async def with_service(run: Run, command: Command) -> int:
    """Open the service for one command (configuration errors first, before anything heavy is loaded)."""
    configured = settings(run)
    from free_generation_image.service import Service

    async with Service(configured) as service:
        run.service = service
        return await command(run, service)


def _interactive(run: Run) -> bool:
    return sys.stdin.isatty() and run.stderr.isatty()


def _ask_to_spend(run: Run, question: str) -> bool:
    """Ask on the terminal (the CLI's elicitation) before a generation estimated above the balance."""
    run.stderr.write(f"{question}\nSend it anyway? [y/N] ")
    run.stderr.flush()
    try:
        answer = sys.stdin.readline()
    except (EOFError, OSError):
        answer = ""
    return answer.strip().lower() in ("y", "yes", "是")


async def confirm_spend(run: Run, service: Service, prompt: str, **options: Any) -> None:
    """On a terminal, ask once when the estimate exceeds the balance; never when the call joins a job.

    Elsewhere (piped, --json, --yes) nothing is asked: the estimate is a guess and never blocks, and the
    result states it.
    """
    if run.confirmed or not _interactive(run):
        return
    if await service.find_generate(prompt, **options) is not None:
        return
    estimate, available = await service.preflight(prompt, options.get("kind") or "auto")
    if available is None or available >= estimate:
        return
    question = (
        f"This generation is estimated at about {estimate} credits (an estimate, not a price) and "
        f"{available} are available."
    )
    if not await anyio.to_thread.run_sync(_ask_to_spend, run, question):
        raise SpendDeclined("Not sent: you chose not to spend credits on this generation.")
    run.confirmed = True
    run.started = time.monotonic()  # --wait counts from the answer, not from the question


async def generate(run: Run, service: Service, prompt: str, **options: Any) -> GenerateResult:
    """Start (or join) a generation, follow it within --wait, and return its result or raise its error."""
    await confirm_spend(run, service, prompt, **options)
    async with run.display.activity("Generating") as act:
        job, deduplicated = await service.start_generate(prompt, **options)
        if deduplicated:
            act.text(f"Same request as job {job.id}: returning it instead of sending (and paying) again.\n")
        result = (await see_through(run, service, job, act)).generate
    assert result is not None
    result.deduplicated = result.deduplicated or deduplicated
    return result


async def export(run: Run, service: Service, fmt: str) -> ExportResult:
    """Start an export, follow it within --wait, and return its result or raise its error."""
    async with run.display.activity(f"Exporting {fmt.upper()}") as act:
        job = await service.start_export("png" if fmt == "png" else "mp4")
        result = (await see_through(run, service, job, act)).export
    assert result is not None
    return result


async def cmd_generate(run: Run, service: Service) -> int:
    return run.emit(
        await generate(
            run,
            service,
            run.args.prompt,
            kind=run.args.kind,
            aspect_ratio=run.args.aspect_ratio,
            duration_s=run.args.duration,
            new_project=run.args.new_project,
        )
    )


async def cmd_export(run: Run, service: Service) -> int:
    return run.emit(await export(run, service, run.args.format))


async def cmd_status(run: Run, service: Service) -> int:
    job_id: str | None = run.args.job
    if not job_id:
        return run.emit(await service.status())
    async with run.display.activity(f"Waiting for {job_id}") as act:
        status = await follow(run, service, job_id.strip(), act)
    return run.emit(status, failed_code=failure_code(service, job_id.strip()))


async def cmd_credits(run: Run, service: Service) -> int:
    return run.emit(await service.credits())


async def cmd_upload(run: Run, service: Service) -> int:
    async with run.display.activity("Uploading") as act:
        result = await service.upload(run.args.sources, wait_seconds=chunk(run), on_progress=act)
        if result.status == "running" and result.job_id:
            status = await follow(run, service, result.job_id, act)
            result = settled(service, status, result.job_id).upload or result
    return run.emit(result)


async def cmd_cancel(run: Run, service: Service) -> int:
    return run.emit(await service.cancel(run.args.job))


async def cmd_chat(run: Run, service: Service) -> int:
    from free_generation_image import router

    message: str = run.args.message
    route = router.route(message)
    if route.op == "generate":
        await confirm_spend(run, service, route.prompt or message)
    async with run.display.activity("Working") as act:
        result = await service.chat(message, wait_seconds=chunk(run), on_progress=act)
        running = result.generate or result.export or result.upload
        if running is not None and running.status == "running" and running.job_id:
            done = await see_through(run, service, await service.job(running.job_id), act)
            result.generate = done.generate or result.generate
            result.export = done.export or result.export
            result.upload = done.upload or result.upload
    return run.emit(result)


COMMANDS: dict[str, Command] = {
    "generate": cmd_generate,
    "upload": cmd_upload,
    "credits": cmd_credits,
    "status": cmd_status,
    "export": cmd_export,
    "cancel": cmd_cancel,
    "chat": cmd_chat,
}

__all__ = ["COMMANDS", "Command", "SpendDeclined", "export", "generate", "settings", "with_service"]
