"""Services as a user runs them: one per user (own config and output folders), production waits."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from free_generation_image.config import Settings
from free_generation_image.models import ExportResult, GenerateResult
from free_generation_image.polling import PollPolicy
from free_generation_image.service import Service

PROMPTS = (
    "a lighthouse at dusk",
    "a red fox in snow",
    "waves on black sand",
    "a neon city street in the rain",
    "a paper boat on a pond",
)


def settings_for(url: str, folder: Path, token: str | None = None) -> Settings:
    """Settings of one user pointed at the sandbox (nothing read from the environment)."""
    return Settings.from_env(
        {}, api_url=url, token=token, config_dir=folder / "config", output_dir=folder / "out"
    )


@asynccontextmanager
async def user_service(
    url: str, folder: Path, *, token: str | None = None, poll_policy: PollPolicy | None = None
) -> AsyncIterator[Service]:
    """A running Service: the production poll policy (unless given) and recovery schedule."""
    async with Service(settings_for(url, folder, token), poll_policy=poll_policy) as service:
        yield service


def prompt(index: int) -> str:
    """A distinct short-video prompt per user, so no two renders share an encode."""
    return f"{PROMPTS[index % len(PROMPTS)]}, take {index}"


async def generate(service: Service, index: int) -> GenerateResult:
    """A short video on a fresh timeline; raises if it did not complete with a saved file."""
    result = await service.generate(prompt(index), kind="video", duration_s=2, wait_seconds=300)
    if result.status != "completed" or not result.media:
        raise RuntimeError(f"generation {index} ended {result.status} with {len(result.media)} file(s)")
    return result


@dataclass(frozen=True)
class FlowResult:
    """One generate -> export flow: how long it took and what it saved."""

    seconds: float
    generated: GenerateResult
    exported: ExportResult


async def generate_and_export(service: Service, index: int) -> FlowResult:
    """The product's main path: a prompt to a saved clip, then the timeline to a saved MP4."""
    started = time.perf_counter()
    generated = await generate(service, index)
    exported = await service.export("mp4", wait_seconds=300)
    if exported.status != "completed" or exported.file is None:
        raise RuntimeError(f"export {index} ended {exported.status}")
    return FlowResult(time.perf_counter() - started, generated, exported)
