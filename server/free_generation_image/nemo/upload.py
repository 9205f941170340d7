"""Uploads (contract §2.5): local checks before anything is sent, and a multipart body streamed from disk.

httpx2's ``files=`` would stream too, but it reads files with blocking calls on the event loop and
cannot report progress; this body reads each chunk in a worker thread, knows its exact length up
front (no chunked encoding, which some upload proxies refuse) and calls ``on_progress``. Memory
use is one chunk per upload, whatever the file size.
"""

from __future__ import annotations

import os
import re
import stat
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import anyio

from free_generation_image.errors import InvalidInput
from free_generation_image.mediatypes import MIME_TYPES
from free_generation_image.nemo.errors import (
    ACCEPTED_FORMATS,
    MAX_UPLOAD_BYTES,
    FileTooLarge,
    UnsupportedFileType,
)
from free_generation_image.nemo.transport import is_http_url

CHUNK_SIZE: Final = 256 * 1024
FIELD_NAME: Final = "files"
ProgressCallback = Callable[[int, int], None]  # (bytes sent, total bytes of the files)

# The HTML5 form encoding of names in Content-Disposition (what browsers and httpx send).
_FORM_ESCAPES: Final = {'"': "%22", "\\": "\\\\"} | {chr(c): f"%{c:02X}" for c in range(0x20) if c != 0x1B}
_FORM_ESCAPE_RE: Final = re.compile("|".join(re.escape(c) for c in _FORM_ESCAPES))


@dataclass(frozen=True)
class LocalFile:
    """A file that passed the local checks."""

    path: Path
    name: str
    size: int
    content_type: str


def check_file(path: Path) -> LocalFile:
    """Refuse what the backend would refuse, before sending a byte (type, size, readability)."""
    name = path.name or str(path)
    shown = str(path) if len(str(path)) <= 200 else str(path)[:199] + "…"  # a path can be any length
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InvalidInput(f"File not found: {shown}.", hint="Check the path and try again.") from None
    except OSError as err:
        raise InvalidInput(f"Cannot read {shown}: {err.strerror or err}.", hint="Check the path.") from None
    except ValueError:  # a NUL, or a lone surrogate the file system cannot encode: no such file exists
        raise InvalidInput(f"Not a usable file path: {shown!r}.", hint="Check the path.") from None
    if not is_text(name):  # an undecodable name cannot go into the multipart header
        raise InvalidInput(f"The file name {name!r} is not valid text.", hint="Rename it and try again.")
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput(
            f"{path} is not a regular file.", hint="Upload a media file, not a folder or device."
        )
    extension = path.suffix.lower().lstrip(".")
    content_type = MIME_TYPES.get(extension)
    if content_type is None:
        shown = f".{extension}" if extension else "no extension"
        raise UnsupportedFileType(f"{name}: {shown} is not a supported media type.", code=4001)
    if info.st_size > MAX_UPLOAD_BYTES:
        raise FileTooLarge(
            f"{name} is {info.st_size / 2**20:.0f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB.",
            code=4002,
        )
    if info.st_size == 0:
        raise InvalidInput(f"{name} is empty.", hint="Upload a file with content.")
    if not os.access(path, os.R_OK):
        raise InvalidInput(f"Cannot read {path}: permission denied.", hint="Check the file's permissions.")
    return LocalFile(path=path, name=name, size=info.st_size, content_type=content_type)


def check_urls(urls: Sequence[str]) -> list[str]:
    """http(s) links only; they are handed to the backend as they are, never fetched here."""
    if not urls:
        raise InvalidInput("No URL to upload.", hint="Give at least one http(s) link.")
    for url in urls:
        if not isinstance(url, str) or not is_text(url) or not is_http_url(url.strip()):
            raise InvalidInput(
                f"Not an http(s) URL: {str(url)[:200]!r}.",
                hint=f"Give http or https links to media files ({ACCEPTED_FORMATS}).",
            )
    return [url.strip() for url in urls]


def is_text(text: str) -> bool:
    """False for strings holding lone surrogates (undecodable bytes from argv or a file system)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _form_value(value: str) -> str:
    return _FORM_ESCAPE_RE.sub(lambda m: _FORM_ESCAPES[m.group(0)], value)


class MultipartUpload:
    """A ``multipart/form-data`` body of files under one field name, read from disk chunk by chunk."""

    def __init__(
        self,
        files: Sequence[LocalFile],
        *,
        field: str = FIELD_NAME,
        boundary: str | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.files = list(files)
        self.boundary = boundary or uuid.uuid4().hex
        self.chunk_size = chunk_size
        self._heads = [
            (
                f"--{self.boundary}\r\n"
                f'Content-Disposition: form-data; name="{_form_value(field)}"; '
                f'filename="{_form_value(f.name)}"\r\n'
                f"Content-Type: {f.content_type}\r\n\r\n"
            ).encode()
            for f in self.files
        ]
        self._tail = f"--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def total_file_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def content_length(self) -> int:
        # Each part: head + file bytes + CRLF; then the closing boundary.
        return sum(len(h) + f.size + 2 for h, f in zip(self._heads, self.files, strict=True)) + len(
            self._tail
        )

    def headers(self) -> dict[str, str]:
        return {"Content-Type": self.content_type, "Content-Length": str(self.content_length)}

    async def stream(self, on_progress: ProgressCallback | None = None) -> AsyncIterator[bytes]:
        """The body, from the start (call again for a retry). Exactly :attr:`content_length` bytes."""
        total = self.total_file_bytes
        sent = 0
        for head, local in zip(self._heads, self.files, strict=True):
            yield head
            remaining = local.size
            async with await anyio.open_file(local.path, "rb") as fh:
                while remaining:
                    chunk = await fh.read(min(self.chunk_size, remaining))
                    if not chunk:
                        raise InvalidInput(
                            f"{local.name} shrank while it was being uploaded.", hint="Upload it again."
                        )
                    remaining -= len(chunk)
                    sent += len(chunk)
                    yield chunk
                    if on_progress is not None:
                        on_progress(sent, total)
            yield b"\r\n"
        yield self._tail
