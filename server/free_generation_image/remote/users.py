"""One Service per user, each in its own private folder, opened on demand and closed when idle.

Isolation is by directory: a user's Service only ever sees ``<state>/users/<hash>/`` (job log, dedupe
keys, current project, claim links, token-free config) and ``.../files`` (a bounded cache of the media
it produced, readable only through that user's resource reads). Each Service runs in a task of its own,
because an anyio task group must be closed by the task that opened it; closing one leaves its running
jobs "running" in its job log, and the next open resumes them.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import httpx2
from anyio.abc import TaskGroup

from free_generation_image import mediatypes
from free_generation_image.config import Settings
from free_generation_image.errors import FGIError, InvalidInput
from free_generation_image.jobs import ProgressFn
from free_generation_image.models import MediaFile, StatusResult, UploadResult
from free_generation_image.nemo.transport import is_http_url
from free_generation_image.remote.identity import UserAccess
from free_generation_image.remote.secrets import Keyring
from free_generation_image.service import Service

if TYPE_CHECKING:
    from free_generation_image.stores import StoreHub

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30.0
ServiceFactory = Callable[..., Service]


class RemoteService(Service):
    """A user's Service on a shared server: it never reads the server's own files."""

    async def upload(
        self, sources: Sequence[str], *, wait_seconds: float = 50.0, on_progress: ProgressFn | None = None
    ) -> UploadResult:
        local = [s for s in sources if not (isinstance(s, str) and is_http_url(s.strip()))]
        if local:
            raise InvalidInput(
                "This is a hosted server: it cannot read files from your computer (or its own disk).",
                hint="Upload the file somewhere reachable and pass its http(s) URL instead.",
                argument="source",
            )
        return await super().upload(sources, wait_seconds=wait_seconds, on_progress=on_progress)

    async def status(
        self, job_id: str | None = None, *, wait_seconds: float = 0.0, on_progress: ProgressFn | None = None
    ) -> StatusResult:
        """With a shared store a job may have been saved by another replica: fetch its files here, so
        the resource links in this answer resolve on this replica too."""
        result = await super().status(job_id, wait_seconds=wait_seconds, on_progress=on_progress)
        if self.shared is not None and job_id:
            with anyio.move_on_after(self.call_seconds):
                await self._fetch_files(result)
        return result

    async def _fetch_files(self, result: StatusResult) -> None:
        here = self.settings.output_dir
        if result.generate is not None:
            result.generate.media = [await self._local(f, here) for f in result.generate.media]
        if result.export is not None and result.export.file is not None:
            result.export.file = await self._local(result.export.file, here)

    async def _local(self, media: MediaFile, here: Path) -> MediaFile:
        name = Path(media.path).name
        if not media.url or await anyio.to_thread.run_sync((here / name).exists):
            return media
        try:
            video = media.kind in mediatypes.VIDEO_KINDS
            kinds = mediatypes.VIDEO_KINDS if video else mediatypes.IMAGE_KINDS
            meta = {"source_url": media.url}
            fetched = await self.media.save(media.url, Path(name).stem, kinds, here, meta)
        except (FGIError, OSError, httpx2.HTTPError) as err:
            log.info("could not fetch a file saved by another replica: %s", type(err).__name__)
            return media
        return fetched


def user_settings(base: Settings, root: Path, folder: str, nemo_token: str) -> Settings:
    """The backend settings of one user: their token, their private config and file folders."""
    home = root / "users" / folder
    return replace(
        base, token=nemo_token, client_id=None, config_dir=home / "config", output_dir=home / "files"
    )


def prune_files(folder: Path, max_bytes: int) -> int:
    """Keep a user's media cache under ``max_bytes``, oldest files first; returns how many went."""
    try:
        entries = [(p.stat().st_mtime, p.stat().st_size, p) for p in folder.iterdir() if p.is_file()]
    except FileNotFoundError:
        return 0
    total = sum(size for _, size, _ in entries)
    removed = 0
    for _, size, path in sorted(entries, key=lambda e: e[0]):
        if total <= max_bytes:
            break
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            total -= size
            removed += 1
    return removed


@dataclass
class _Slot:
    """An open (or opening) user Service, owned by its own task."""

    key: str
    settings: Settings
    folder: str
    ready: anyio.Event = field(default_factory=anyio.Event)
    closing: anyio.Event = field(default_factory=anyio.Event)
    closed: anyio.Event = field(default_factory=anyio.Event)
    service: Service | None = None
    error: BaseException | None = None
    leases: int = 0
    drained: anyio.Event | None = None
    last_used: float = field(default_factory=time.monotonic)


class UserPool:
    """Bounded set of open user Services: LRU beyond ``max_open``, closed after ``idle_seconds``."""

    def __init__(
        self,
        base: Settings,
        root: Path,
        keyring: Keyring,
        http: httpx2.AsyncClient,
        *,
        max_open: int = 200,
        idle_seconds: float = 900.0,
        max_file_bytes: int = 200 * 1024 * 1024,
        factory: ServiceFactory = RemoteService,
        hub: StoreHub | None = None,
    ) -> None:
        self.hub = hub
        self.base = base
        self.root = root
        self.keyring = keyring
        self.http = http
        self.max_open = max_open
        self.idle_seconds = idle_seconds
        self.max_file_bytes = max_file_bytes
        self.factory = factory
        self._slots: dict[str, _Slot] = {}
        self._tg: TaskGroup | None = None

    @property
    def open_count(self) -> int:
        return len(self._slots)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[UserPool]:
        """Run the pool; on exit every Service is closed (running jobs stay resumable)."""
        async with anyio.create_task_group() as tg:
            self._tg = tg
            tg.start_soon(self._sweep)
            try:
                yield self
            finally:
                for slot in list(self._slots.values()):
                    slot.closing.set()
                with anyio.CancelScope(shield=True):
                    for slot in list(self._slots.values()):
                        await slot.closed.wait()
                self._tg = None
                tg.cancel_scope.cancel()

    @contextlib.asynccontextmanager
    async def lease(self, user: UserAccess) -> AsyncIterator[Service]:
        """The user's Service for the length of one request."""
        slot = await self._acquire(user)
        try:
            assert slot.service is not None
            yield slot.service
        finally:
            slot.leases -= 1
            slot.last_used = time.monotonic()
            if slot.leases == 0 and slot.drained is not None:
                slot.drained.set()
            if slot.leases == 0:
                files = slot.settings.output_dir
                await anyio.to_thread.run_sync(prune_files, files, self.max_file_bytes)

    async def _acquire(self, user: UserAccess) -> _Slot:
        key = user.identity
        while True:
            slot = self._slots.get(key)
            if slot is None or slot.closing.is_set():
                if slot is not None:
                    await slot.closed.wait()
                    continue
                slot = self._open(key, user)
            slot.leases += 1
            slot.last_used = time.monotonic()
            await slot.ready.wait()
            if slot.service is not None and slot.settings.token == user.nemo_token:
                return slot
            slot.leases -= 1
            if slot.error is not None:
                raise slot.error
            # The same user came back with another NemoVideo token: reopen with it once idle.
            slot.closing.set()
            await slot.closed.wait()

    def _open(self, key: str, user: UserAccess) -> _Slot:
        if self._tg is None:
            raise RuntimeError("UserPool is not running")
        self._evict_for_room()
        folder = self.keyring.directory_for(key)
        slot = _Slot(key, user_settings(self.base, self.root, folder, user.nemo_token), folder)
        self._slots[key] = slot
        self._tg.start_soon(self._own, slot, name=f"user-{folder[:8]}")
        return slot

    async def _own(self, slot: _Slot) -> None:
        """The task that opens, holds and closes one user's Service."""
        try:
            extra: dict[str, Any] = {}
            if self.hub is not None:  # the user's jobs, project and locks live where every replica sees them
                extra["shared"] = self.hub.for_user(slot.folder, slot.settings.api_url)
            async with self.factory(slot.settings, http=self.http, **extra) as service:
                slot.service = service
                with contextlib.suppress(Exception):  # a broken job log must not lock the user out
                    await service.reconcile()
                slot.ready.set()
                await slot.closing.wait()
                while slot.leases > 0:  # let requests in flight finish
                    slot.drained = anyio.Event()
                    await slot.drained.wait()
        except Exception as err:
            log.exception("cannot open a user's service")
            slot.error = err
        finally:
            slot.service = None
            slot.ready.set()
            if self._slots.get(slot.key) is slot:
                del self._slots[slot.key]
            slot.closed.set()

    def _evict_for_room(self) -> None:
        idle = sorted(
            (s for s in self._slots.values() if s.leases == 0 and not s.closing.is_set()),
            key=lambda s: s.last_used,
        )
        excess = len(self._slots) + 1 - self.max_open
        for slot in idle[: max(0, excess)]:
            slot.closing.set()

    async def _sweep(self) -> None:
        while True:
            await anyio.sleep(min(SWEEP_SECONDS, self.idle_seconds / 2))
            now = time.monotonic()
            for slot in list(self._slots.values()):
                if slot.leases == 0 and now - slot.last_used > self.idle_seconds:
                    slot.closing.set()

    def stats(self) -> dict[str, Any]:
        busy = sum(1 for s in self._slots.values() if s.leases)
        return {"open_users": len(self._slots), "busy_users": busy}
