"""The current project (backend session), persisted per API URL so a sandbox project never leaks
into production and a restart continues where the user left off."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from free_generation_image.models import Project
from free_generation_image.store import Store

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

    @property
    def link_fresh(self) -> bool:
        return bool(self.link) and time.time() - self.link_at < LINK_TTL


class ProjectStore:
    """Reads and writes ``project.json``: ``{api_url: SavedProject}``."""

    def __init__(self, store: Store, api_url: str) -> None:
        self._store = store
        self._api_url = api_url

    def load(self) -> SavedProject | None:
        raw = self._store.read_json(_FILE)
        entry: Any = raw.get(self._api_url) if isinstance(raw, dict) else None
        if not isinstance(entry, dict):
            return None
        try:
            return SavedProject(**{k: entry[k] for k in SavedProject.__dataclass_fields__ if k in entry})
        except TypeError:
            return None

    def save(self, project: SavedProject) -> None:
        raw = self._store.read_json(_FILE)
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        data[self._api_url] = asdict(project)
        self._store.write_json(_FILE, data)

    def clear(self) -> None:
        raw = self._store.read_json(_FILE)
        if isinstance(raw, dict) and raw.pop(self._api_url, None) is not None:
            self._store.write_json(_FILE, raw)
