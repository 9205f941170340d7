"""Media for the studio page: files in the output folder, read in bounded base64 chunks.

Blocking (file IO): call :func:`read_chunk` from a worker thread. Pure otherwise.
"""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, Field

from free_generation_image import naming
from free_generation_image.errors import InvalidInput

MAX_CHUNK = 512 * 1024  # raw bytes per call: ~700 KB of base64, well under hosts' message limits
OUTPUT_URI_PREFIX = naming.RESOURCE_PREFIX


class MediaChunk(BaseModel):
    """One slice of a saved file; the page appends slices until ``eof``."""

    name: str = Field(description="File name inside the output folder")
    mime_type: str
    size: int = Field(description="Whole file size in bytes")
    offset: int
    length: int = Field(description="Bytes in this chunk (before base64)")
    eof: bool
    data: str = Field(description="Base64 of the chunk's bytes")


def _refuse(what: str) -> InvalidInput:
    return InvalidInput(
        f"Not a file in the output folder: {what}",
        hint="The studio only reads files this server saved in its output folder.",
        argument="file",
    )


def resolve(output_dir: Path, ref: str) -> Path:
    """The output file ``ref`` names (an absolute path, a bare name or an fgi://output/ URI), or InvalidInput.

    Anything that resolves outside the output folder (``..``, symlinks, other folders) is refused.
    """
    ref = ref.strip()
    if ref.startswith(OUTPUT_URI_PREFIX):
        name = unquote(urlsplit(ref).path.lstrip("/")) or unquote(ref[len(OUTPUT_URI_PREFIX) :])
        candidate = output_dir / name
    elif ref.startswith("file://"):
        candidate = Path(unquote(urlsplit(ref).path))
    else:
        candidate = Path(ref)
        if not candidate.is_absolute():
            candidate = output_dir / candidate
    if not ref or "\x00" in ref or not naming.is_inside(output_dir, candidate) or not candidate.is_file():
        raise _refuse(ref)
    return candidate.resolve()


def mime_of(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def read_chunk(output_dir: Path, ref: str, offset: int, length: int) -> MediaChunk:
    """Up to ``length`` (capped at MAX_CHUNK) bytes of an output file from ``offset``. Blocking."""
    path = resolve(output_dir, ref)
    length = max(0, min(length, MAX_CHUNK))
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        if offset > size:
            raise InvalidInput(
                f"Offset {offset} is past the end of {path.name} ({size} bytes).", argument="offset"
            )
        fh.seek(offset)
        data = fh.read(length)
    return MediaChunk(
        name=path.name,
        mime_type=mime_of(path),
        size=size,
        offset=offset,
        length=len(data),
        eof=offset + len(data) >= size,
        data=base64.b64encode(data).decode("ascii"),
    )
