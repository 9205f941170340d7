"""The current project (backend session), persisted per API URL so a sandbox project never leaks
into production and a restart continues where the user left off."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import anyio
import anyio.to_thread

from free_generation_image.locks import Locks
from free_generation_image.models import Project
from free_generation_image.nemo.client import NemoClient
from free_generation_image.nemo.errors import NemoError
from free_generation_image.prompting import detect_language
from free_generation_image.store import Store

log = logging.getLogger(__name__)

_FILE = "project.json"
LINK_TTL = 6 * 24 * 3600  # claim tokens live 7 days (contract §2.3); refresh a day early


@dataclass
class SavedProject:
    task_id: str
    session_id: str
    user_id: str | None
    language: str
    created_at: float
    link: str | None = None
    link_at: float = 0.0

    def public(self) -> Project:
        return Project(
            task_id=self.task_id, session_id=self.session_id, link=self.link, language=self.language
        )

    @classmethod
    def parse(cls, entry: Any) -> SavedProject | None:
        """A saved project from its stored form (a dict, or its JSON text); None when it is not one."""
        try:
            if isinstance(entry, str | bytes):
                entry = json.loads(entry)
            if not isinstance(entry, dict):
                return None
            return cls(**{k: entry[k] for k in cls.__dataclass_fields__ if k in entry})
        except (ValueError, TypeError):
            return None

    @property
    def link_fresh(self) -> bool:
        return bool(self.link) and time.time() - self.link_at < LINK_TTL


class ProjectPointer(Protocol):
    """Where the current project is remembered (blocking: call from worker threads)."""

    def load(self) -> SavedProject | None: ...
    def save(self, project: SavedProject) -> None: ...
    def clear(self) -> None: ...


class ProjectStore:
    """Reads and writes ``project.json``: ``{api_url: SavedProject}``."""

    def __init__(self, store: Store, api_url: str) -> None:
        self._store = store
        self._api_url = api_url

    def load(self) -> SavedProject | None:
        raw = self._store.read_json(_FILE)
        return SavedProject.parse(raw.get(self._api_url) if isinstance(raw, dict) else None)

    def save(self, project: SavedProject) -> None:
        raw = self._store.read_json(_FILE)
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        data[self._api_url] = asdict(project)
        self._store.write_json(_FILE, data)

    def clear(self) -> None:
        raw = self._store.read_json(_FILE)
        if isinstance(raw, dict) and raw.pop(self._api_url, None) is not None:
            self._store.write_json(_FILE, raw)


class ProjectKeeper:
    """The current project: made when first needed, replaced once when the backend lost it, whoever
    notices first (in this process or another sharing the config dir); concurrent callers all get the
    replacement. File work runs in worker threads."""

    def __init__(
        self,
        store: Store,
        api_url: str,
        client: NemoClient,
        language: str | None,
        locks: Locks,
        *,
        pointer: ProjectPointer | None = None,
    ) -> None:
        self.store: ProjectPointer = pointer if pointer is not None else ProjectStore(store, api_url)
        self._client = client
        self._language = language
        self._lock = locks.get("project")

    async def load(self) -> SavedProject | None:
        return await anyio.to_thread.run_sync(self.store.load)

    async def ensure(self, *, new: bool = False, language_hint: str = "") -> SavedProject:
        """The current project (a new one when there is none, or when ``new``), with a fresh web link."""
        async with self._lock.hold(timeout=30.0, best_effort=True):
            saved = None if new else await self.load()
            if saved is None:
                return await self._create(language_hint)
            if not saved.link_fresh:
                saved.link = await self._link(saved)
                saved.link_at = time.time()
                await anyio.to_thread.run_sync(self.store.save, saved)
            return saved

    async def replace(self, lost: SavedProject, language_hint: str = "") -> SavedProject:
        """A new project in place of ``lost``, unless somebody already replaced it: then theirs."""
        async with self._lock.hold(timeout=30.0, best_effort=True):
            saved = await self.load()
            if saved is not None and saved.session_id != lost.session_id:
                return saved
            log.info("project %s is gone on the backend; starting a new one", lost.task_id)
            return await self._create(language_hint)

    async def _create(self, language_hint: str) -> SavedProject:
        await self._client.ensure_token()
        language = detect_language(language_hint, self._language)
        name = " ".join(language_hint.split())[:60] or "free-generation-image"
        info = await self._client.create_session(task_name=name, language=language)
        saved = SavedProject(
            task_id=info.task_id,
            session_id=info.session_id,
            user_id=self._client.user_id,
            language=language,
            created_at=time.time(),
        )
        saved.link = await self._link(saved)
        saved.link_at = time.time()
        await anyio.to_thread.run_sync(self.store.save, saved)
        log.info("started project %s (session %s, language %s)", saved.task_id, saved.session_id, language)
        return saved

    async def _link(self, saved: SavedProject) -> str | None:
        try:
            return await self._client.claim_link(saved.task_id, saved.session_id)
        except NemoError as err:
            log.info("no claim link: %s", err)
            return None
