"""In-memory files served under ``/files/<key>``: generated media, uploads, renders.

Generated media is content-addressed, and :meth:`FileStore.produce` is single-flight, so fifty
sessions asking for the same picture make it once.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import unquote, urlsplit

T = TypeVar("T")

FILES_PREFIX = "/files/"
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class StoredFile:
    """Bytes with their media type."""

    data: bytes
    content_type: str


class Workers:
    """The threads that synthesize media, so encoding never blocks the event loop.

    Jobs get a stop event that is set only at shutdown; a job abandoned by its waiter (a cancelled
    render) runs to completion, which is bounded work and keeps shared single-flight jobs intact.
    """

    def __init__(self, max_workers: int = 2) -> None:
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="fgi-sandbox-media")

    async def run(self, job: Callable[[threading.Event], T]) -> T:
        """Run ``job(stop_event)`` in a worker thread and wait for its result."""
        return await asyncio.wrap_future(self._pool.submit(job, self._stop))

    def shutdown(self) -> None:
        """Ask running jobs to stop, drop queued ones, and join the threads."""
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)


class FileStore:
    """Keys like ``media/<hash>.png`` -> :class:`StoredFile`."""

    def __init__(self, workers: Workers) -> None:
        self._workers = workers
        self._files: dict[str, StoredFile] = {}
        self._pending: dict[str, asyncio.Future[StoredFile]] = {}

    def put(self, key: str, data: bytes, content_type: str) -> StoredFile:
        """Store (or replace) a file."""
        stored = StoredFile(data, content_type)
        self._files[key] = stored
        return stored

    def get(self, key: str) -> StoredFile | None:
        """The file at ``key``, if any."""
        return self._files.get(key)

    def find_basename(self, name: str) -> StoredFile | None:
        """A file whose key ends with ``/<name>`` (drafts may name uploads by ``/mnt/userdata/<name>``)."""
        return next((f for key, f in self._files.items() if key.rsplit("/", 1)[-1] == name), None)

    async def produce(
        self, key: str, content_type: str, make: Callable[[threading.Event], bytes]
    ) -> StoredFile:
        """The file at ``key``, made once in a worker thread if missing, even when asked concurrently."""
        existing = self._files.get(key)
        if existing is not None:
            return existing
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._make(key, content_type, make))
            self._pending[key] = pending
            pending.add_done_callback(lambda done: self._settled(key, done))
        return await asyncio.shield(pending)

    def _settled(self, key: str, done: asyncio.Future[StoredFile]) -> None:
        self._pending.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: every waiter may have gone (shutdown, cancelled render)

    async def _make(
        self, key: str, content_type: str, make: Callable[[threading.Event], bytes]
    ) -> StoredFile:
        return self.put(key, await self._workers.run(make), content_type)


def file_url(base_url: str, key: str) -> str:
    """Public URL of a stored file."""
    return f"{base_url.rstrip('/')}{FILES_PREFIX}{key}"


def key_of(url: str) -> str | None:
    """The store key named by a sandbox file URL (any host: localhost and 127.0.0.1 both work)."""
    path = unquote(urlsplit(url).path)
    return path[len(FILES_PREFIX) :] if path.startswith(FILES_PREFIX) else None


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Inclusive (first, last) of a single ``Range: bytes=...`` header; None for the whole file.

    Raises ValueError when the range cannot be satisfied (HTTP 416); a malformed or multi-range
    header is ignored, as RFC 9110 allows.
    """
    match = _RANGE_RE.match((header or "").strip())
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":  # suffix range: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise ValueError("unsatisfiable range")
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise ValueError("unsatisfiable range")
    return start, end
