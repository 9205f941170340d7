"""The sandbox's memory: config, accounts, sessions, turns, renders, files, faults, journal, and the
background work (agent turns, renders) that outlives the requests that started it.

Everything here runs on the server's event loop; nothing needs a lock.
"""

from __future__ import annotations

import itertools
import logging
import random
import secrets
import string
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from free_generation_image.sandbox.accounts import Accounts, User
from free_generation_image.sandbox.config import SandboxConfig
from free_generation_image.sandbox.drafts import canvas_config
from free_generation_image.sandbox.faults import FaultBook
from free_generation_image.sandbox.files import FileStore, Workers
from free_generation_image.sandbox.intent import DEFAULT_RATIO
from free_generation_image.sandbox.journal import Journal

if TYPE_CHECKING:
    from free_generation_image.sandbox.agent import Turn
    from free_generation_image.sandbox.renders import Render

log = logging.getLogger(__name__)

_SNOWFLAKE_EPOCH_MS = 1_288_834_974_657  # gives 19-digit ids like the contract's examples


@dataclass
class Session:
    """One project ("task") and its agent session."""

    session_id: str
    task_id: str
    task_name: str
    user_id: str
    language: str
    created_at: float
    state: dict[str, Any] = field(
        default_factory=lambda: {
            "video_infos": [],
            "draft": {},
            "canvas_config": canvas_config(DEFAULT_RATIO),
            "video_analyses": {},
            "generated_media": [],
        }
    )

    def to_json(self) -> dict[str, Any]:
        """``GET .../latest`` data."""
        return {
            "session_id": self.session_id,
            "task_id": self.task_id,
            "task_name": self.task_name,
            "state": self.state,
        }


class World:
    """State of one sandbox run. ``reset()`` brings it back to the start (and the initial config)."""

    def __init__(self, config: SandboxConfig) -> None:
        self.initial_config = config
        self.config = config
        self.journal = Journal(config.journal_limit)
        self.faults = _armed(config)
        self.workers = Workers(max_workers=2)
        self.files = FileStore(self.workers)
        self.accounts = Accounts()
        self.sessions: dict[str, Session] = {}
        self.turns: dict[str, Turn] = {}
        self.renders: dict[str, Render] = {}
        self.rng = random.Random(config.seed)
        self._sequence = itertools.count()
        self._tasks: TaskGroup | None = None
        self._jobs: set[anyio.CancelScope] = set()
        self._idle = anyio.Event()
        self._idle.set()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run background jobs for the lifetime of the server (the app's lifespan)."""
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            try:
                yield
            finally:
                self.close_streams()
                tasks.cancel_scope.cancel()
                self._tasks = None
        self.workers.shutdown()

    def spawn(self, job: Callable[[], Awaitable[None]], name: str) -> anyio.CancelScope:
        """Start ``job`` in the background; it keeps running when the request that started it ends."""
        if self._tasks is None:
            raise RuntimeError("the sandbox is not running")
        scope = anyio.CancelScope()
        self._jobs.add(scope)
        if self._idle.is_set():  # replace only a set event: waiters on an unset one must still wake
            self._idle = anyio.Event()
        self._tasks.start_soon(self._guarded, job, scope, name=name)
        return scope

    async def _guarded(self, job: Callable[[], Awaitable[None]], scope: anyio.CancelScope) -> None:
        try:
            with scope:
                await job()
        except Exception:  # a bug in one job must not take the whole sandbox down
            log.exception("sandbox background job failed")
        finally:
            self._jobs.discard(scope)
            if not self._jobs:
                self._idle.set()

    async def wait_idle(self, seconds: float) -> bool:
        """Wait up to ``seconds`` until no turn or render is running; False if still busy."""
        with anyio.move_on_after(seconds):
            while self._jobs:
                await self._idle.wait()
            return True
        return False

    def close_streams(self) -> None:
        """End every open ``/run_sse`` response (shutdown): their turns stop being followed."""
        for turn in self.turns.values():
            turn.finish()

    def reset(self) -> None:
        """Cancel running work and forget everything; restore the initial config."""
        for scope in list(self._jobs):
            scope.cancel()
        self.close_streams()
        # New objects rather than cleared ones: cancelled jobs finish against the old ones.
        self.config = self.initial_config
        self.journal = Journal(self.config.journal_limit)
        self.faults = _armed(self.config)
        self.files = FileStore(self.workers)
        self.accounts = Accounts()
        self.sessions = {}
        self.turns = {}
        self.renders = {}
        self.rng = random.Random(self.config.seed)

    def new_session(self, user: User, task_name: str, language: str) -> Session:
        """Create a project and its session (contract §2.2)."""
        now = time.time()
        sequence = next(self._sequence) % (1 << 22)
        session_id = str((int(now * 1000) - _SNOWFLAKE_EPOCH_MS) << 22 | sequence)
        task_id = "task_" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(16))
        session = Session(session_id, task_id, task_name, user.user_id, language, now)
        self.sessions[session_id] = session
        return session


def _armed(config: SandboxConfig) -> FaultBook:
    """A fault book with the config's run-wide faults armed."""
    book = FaultBook()
    for name, times in config.fault_specs():
        book.add(name, times=times)
    return book
