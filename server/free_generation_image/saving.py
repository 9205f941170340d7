"""Saving downloads in the output dir: checked, size-capped, atomic, never-overwriting; sidecars; partials.

Whatever the server sends (``../`` names, odd Unicode, wrong Content-Type, an HTML error page, endless
bytes), a download ends up as a complete file of the expected type inside the output dir, under a name
that did not exist before, or as nothing at all:

- bytes go to a hidden temp file in the target dir (``.fgi-*.part``) and are checked as they arrive
  (magic bytes of the first :data:`~free_generation_image.mediatypes.SNIFF_BYTES`, size cap); any
  failure or cancellation removes it;
- the finished file is published with ``os.link`` (fails if the name exists, so two writers can never
  overwrite each other), retrying ``name-2``, ``name-3``...; where hard links are unsupported it falls
  back to reserving the name with ``O_EXCL`` and renaming over that reservation.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import time
from collections.abc import AsyncIterable, Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio.to_thread

from free_generation_image import mediatypes
from free_generation_image.errors import FGIError
from free_generation_image.naming import safe_stem
from free_generation_image.store import written_temp

log = logging.getLogger(__name__)

_PART_PREFIX, _PART_SUFFIX = ".fgi-", ".part"
_MAX_NAME_ATTEMPTS = 10_000


class UnexpectedContent(FGIError):
    """The server sent something other than the file we asked for (wrong type, empty, too large)."""

    exit_code = 4
    default_hint = (
        "The file could not be saved as sent by the server. Try again; if it keeps happening, open the "
        "project in the web app and download it there."
    )


class ContentTooLarge(UnexpectedContent):
    """The download passed its size cap and was abandoned."""


@dataclass(frozen=True)
class SavedFile:
    """A file that was written completely: where, how big, what it is (sniffed), its SHA-256."""

    path: Path
    size: int
    kind: str
    sha256: str


def _fsync_dir(directory: Path) -> None:
    # Makes the new name durable on POSIX; directories cannot be opened this way on Windows.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _publish(tmp: Path, directory: Path, stem: str, suffix: str, *, keep_free: str = "") -> Path:
    """Give ``tmp`` the first free name ``stem{suffix}``, ``stem-2{suffix}``...; never replaces a file.

    ``keep_free`` skips names whose companion (``name + keep_free``) already exists, so a sidecar can
    follow the file.
    """
    use_links = True
    for n in range(1, _MAX_NAME_ATTEMPTS + 1):
        name = f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}"
        if Path(name).name != name or name.startswith("."):  # stems are sanitised; this is a last guard
            raise UnexpectedContent(f"Refusing the file name {name!r}.")
        target = directory / name
        if keep_free and os.path.lexists(directory / f"{name}{keep_free}"):
            continue
        if use_links:
            try:
                os.link(tmp, target)
            except FileExistsError:
                continue
            except OSError as err:  # no hard links on this file system (FAT, some network shares)
                log.debug("hard link into %s failed (%s); reserving names with O_EXCL", directory, err)
                use_links = False
            else:
                os.unlink(tmp)
                return target
        try:
            fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            continue
        os.close(fd)
        os.replace(tmp, target)  # replaces only the empty reservation we just created
        return target
    raise UnexpectedContent(f"No free file name for {stem}{suffix} in {directory}.")


class _Writer:
    """Streams bytes into a hidden temp file, checking type and size, then publishes it under a free name."""

    def __init__(
        self,
        directory: Path,
        stem: str,
        *,
        expected: Collection[str] | None,
        max_bytes: int,
        content_type: str | None,
    ) -> None:
        self.directory = directory
        self.stem = safe_stem(stem)  # callers pass prompts and server names: sanitise every time
        self.expected = mediatypes.expected_kinds(expected)
        self.max_bytes = max_bytes
        self.content_type = mediatypes.media_type(content_type)
        self.size = 0
        self.kind: str | None = None
        self._head = bytearray()
        self._hash = hashlib.sha256()
        directory.mkdir(parents=True, exist_ok=True, mode=0o755)
        fd, name = tempfile.mkstemp(prefix=_PART_PREFIX, suffix=_PART_SUFFIX, dir=directory)
        self._tmp = Path(name)
        self._file = os.fdopen(fd, "wb")

    def __enter__(self) -> _Writer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.abort()

    def write(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise ContentTooLarge(
                f"The download is larger than the {self.max_bytes:,}-byte limit; it was stopped."
            )
        if self.kind is None:
            self._head += chunk[: mediatypes.SNIFF_BYTES - len(self._head)]
            if len(self._head) >= mediatypes.SNIFF_BYTES:
                self._check_type()
        self._hash.update(chunk)
        self._file.write(chunk)

    def _check_type(self) -> None:
        kind = mediatypes.sniff(bytes(self._head))
        if self.expected is not None and (kind is None or kind not in self.expected):
            # The bytes decide: "expected png, sent image/png" would hide that the body was no PNG at all.
            label = f" labelled {self.content_type}" if self.content_type else ""
            sent = kind or f"unrecognised data{label}"
            if self.content_type in ("text/html", "application/json", "text/plain", "application/xml"):
                sent = f"{self.content_type} (probably an error page)"
            want = "/".join(sorted(self.expected))
            raise UnexpectedContent(f"Expected a {want} file but the server sent {sent}; nothing was saved.")
        self.kind = kind or mediatypes.kind_of_media_type(self.content_type) or "bin"

    def finish(self) -> SavedFile:
        """Check, flush, fsync and publish. Blocking: run it in a worker thread from async code."""
        if self.size == 0:
            raise UnexpectedContent("The server sent an empty file; nothing was saved.")
        if self.kind is None:
            self._check_type()  # shorter than SNIFF_BYTES
        kind = self.kind or "bin"
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.chmod(self._tmp, 0o644)  # mkstemp makes 0600; a download is an ordinary user file
        path = _publish(self._tmp, self.directory, self.stem, mediatypes.suffix(kind), keep_free=".json")
        _fsync_dir(self.directory)
        return SavedFile(path=path, size=self.size, kind=kind, sha256=self._hash.hexdigest())

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self._tmp.unlink()


async def save_stream(
    directory: Path,
    stem: str,
    chunks: AsyncIterable[bytes],
    *,
    expected: Collection[str] | None,
    max_bytes: int,
    content_type: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> SavedFile:
    """Stream ``chunks`` into a new file in ``directory``: checked, size-capped, atomic, never overwriting.

    ``expected`` holds kinds (``png``, ``jpg``...) or groups (``image``, ``video``, ``audio``); None accepts
    anything. The extension comes from the bytes, not from the server. ``on_progress`` gets bytes so far.
    """
    writer = _Writer(directory, stem, expected=expected, max_bytes=max_bytes, content_type=content_type)
    with writer:  # removes the temp file on any error or cancellation
        async for chunk in chunks:
            # Chunks are small and land in the page cache: writing inline is cheaper than a thread hop each.
            writer.write(chunk)
            if on_progress is not None:
                on_progress(writer.size)
        return await anyio.to_thread.run_sync(writer.finish)


_SECRET_KEY = re.compile(r"token|authorization|password|secret|api[_-]?key|cookie", re.IGNORECASE)
_TOKEN_VALUE = re.compile(r"nmv_usr_[A-Za-z0-9_\-]+")


def _redact(value: Any) -> Any:
    # Defence in depth: callers pass safe fields only, but a token must never reach the disk here.
    if isinstance(value, Mapping):
        return {str(k): "***" if _SECRET_KEY.search(str(k)) else _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    if isinstance(value, str):
        return _TOKEN_VALUE.sub("nmv_usr_***", value)
    return value


def write_sidecar(path: Path, meta: Mapping[str, object]) -> Path:
    """Write ``meta`` as JSON beside ``path`` (``<name>.json``): atomic, never overwriting, no secrets."""
    data = (json.dumps(_redact(meta), ensure_ascii=False, indent=2, default=str) + "\n").encode("utf-8")
    with written_temp(path.parent, data, prefix=_PART_PREFIX, suffix=_PART_SUFFIX, mode=0o644) as tmp:
        return _publish(tmp, path.parent, path.name, ".json")


def remove_stale_partials(directory: Path, *, older_than_s: float = 24 * 3600) -> int:
    """Delete temp files left by a crashed process (``.fgi-*.part`` older than ``older_than_s``)."""
    removed = 0
    cutoff = time.time() - older_than_s
    with contextlib.suppress(OSError):
        for entry in directory.glob(f"{_PART_PREFIX}*{_PART_SUFFIX}"):
            with contextlib.suppress(OSError):
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
    return removed


__all__ = [
    "ContentTooLarge",
    "SavedFile",
    "UnexpectedContent",
    "remove_stale_partials",
    "save_stream",
    "write_sidecar",
]
