"""Free text (English or Chinese) routed to one operation of the service, and run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from free_generation_image import router
from free_generation_image.errors import InvalidInput
from free_generation_image.inputs import check_prompt
from free_generation_image.jobs import ProgressFn
from free_generation_image.models import ChatResult

if TYPE_CHECKING:
    from free_generation_image.service import Service


async def run(
    service: Service, message: str, *, wait_seconds: float = 50.0, on_progress: ProgressFn | None = None
) -> ChatResult:
    """What the words ask for, done: export, credits, status, upload, cancel, else a generation."""
    route = router.route(check_prompt(message, argument="message"))
    result = ChatResult(operation=route.op, reason=route.reason)
    if route.op == "export":
        result.export = await service.export(
            route.fmt or "mp4", wait_seconds=wait_seconds, on_progress=on_progress
        )
    elif route.op == "credits":
        result.credits = await service.credits()
    elif route.op == "status":
        result.status = await service.status(route.job_id, wait_seconds=wait_seconds if route.job_id else 0)
    elif route.op == "upload":
        result.upload = await service.upload(
            list(route.sources), wait_seconds=wait_seconds, on_progress=on_progress
        )
    elif route.op == "cancel":
        if not route.job_id:
            raise InvalidInput("Which job should be cancelled?", hint="Say e.g. 'cancel job_1a2b3c4d5e6f'.")
        result.cancel = await service.cancel(route.job_id)
    else:
        result.generate = await service.generate(
            route.prompt or message, wait_seconds=wait_seconds, on_progress=on_progress
        )
    return result
