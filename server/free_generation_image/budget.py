"""Cost estimates for generations: guesses that inform and never block.

The first guess comes from the contract (``prompting.estimate_cost``); once the backend has charged
for a kind of generation, the estimate follows what it actually charged (``costs.json`` in the
config dir, shared by every process using it).
"""

from __future__ import annotations

import logging
from typing import Literal

import anyio.to_thread

from free_generation_image.prompting import IMAGE_COST, VIDEO_CLIP_COST, Kind, resolve_kind
from free_generation_image.store import Store

log = logging.getLogger(__name__)

_FILE = "costs.json"
MediaKind = Literal["image", "video"]
_DEFAULTS: dict[MediaKind, int] = {"image": IMAGE_COST, "video": VIDEO_CLIP_COST}


class CostBook:
    """What each kind of generation cost the last time it was seen, per API URL."""

    def __init__(self, store: Store, api_url: str) -> None:
        self._store = store
        self._api_url = api_url
        self._seen: dict[str, int] | None = None

    def _load(self) -> dict[str, int]:
        if self._seen is None:
            raw = self._store.read_json(_FILE)
            entry = raw.get(self._api_url) if isinstance(raw, dict) else None
            self._seen = {
                k: v
                for k, v in (entry or {}).items()
                if k in _DEFAULTS and isinstance(v, int) and not isinstance(v, bool) and 0 < v < 100_000
            }
        return self._seen

    async def estimate(self, prompt: str, kind: Kind = "auto") -> tuple[MediaKind, int]:
        """(what the generation will make, its likely cost in credits)."""
        resolved = resolve_kind(prompt, kind)
        seen = await anyio.to_thread.run_sync(self._load)
        return resolved, seen.get(resolved, _DEFAULTS[resolved])

    async def record(self, kind: MediaKind, spent: int) -> None:
        """Remember a charge the backend made for one generation of ``kind``."""
        if spent <= 0:
            return
        await anyio.to_thread.run_sync(self._record, kind, spent)

    def _record(self, kind: MediaKind, spent: int) -> None:
        seen = self._load()
        if seen.get(kind) == spent:
            return
        seen[kind] = spent
        raw = self._store.read_json(_FILE)
        data = raw if isinstance(raw, dict) else {}
        data[self._api_url] = dict(seen)
        try:
            self._store.write_json(_FILE, data)
        except OSError as err:
            log.info("could not remember the cost of a %s: %s", kind, err)


__all__ = ["CostBook", "MediaKind"]
