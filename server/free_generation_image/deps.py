"""What every job kind needs, built once by the service and handed down (never imported upward)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from free_generation_image.budget import CostBook
from free_generation_image.config import Settings
from free_generation_image.downloads import MediaSaver
from free_generation_image.engine import Engine
from free_generation_image.jobs import JobRegistry
from free_generation_image.locks import Locks
from free_generation_image.nemo.client import NemoClient
from free_generation_image.polling import PollPolicy
from free_generation_image.projects import ProjectKeeper

# How long a job may take to get ready (token, project, state, credits) before giving up: nothing has
# been sent by then, so failing is safe and the message says so.
PREPARE_SECONDS = 120.0
# How long a generation may wait for the project's current turn to end.
QUEUE_SECONDS = 30 * 60.0


@dataclass
class Deps:
    settings: Settings
    client: NemoClient
    jobs: JobRegistry
    engine: Engine
    projects: ProjectKeeper
    media: MediaSaver
    costs: CostBook
    turns: Locks
    sleep: Callable[[float], Awaitable[None]]
    recovery_delays: Sequence[float]
    poll_policy: PollPolicy
    dedupe_window: float
    prepare_seconds: float = PREPARE_SECONDS
    queue_seconds: float = QUEUE_SECONDS


__all__ = ["PREPARE_SECONDS", "QUEUE_SECONDS", "Deps"]
