"""The output folder, checked before anything is paid for: a folder, writable, with room for the result."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from free_generation_image.errors import InvalidInput

# Room wanted before a job starts: a generous size for what it will save (exports are capped at 200 MB
# by the backend; a generated image or clip is far smaller).
EXPECTED_BYTES = {"image": 16 * 2**20, "video": 64 * 2**20, "png": 16 * 2**20, "mp4": 64 * 2**20}


class OutputDirUnusable(InvalidInput):
    """The output folder cannot take the result; nothing was sent."""

    default_hint = "Point NEMO_OUTPUT_DIR (or --output) at a folder you can write to, then try again."


def check_output_dir(directory: Path, expected_bytes: int) -> Path:
    """The folder, created if missing; refused when it is not a writable folder with room (blocking)."""
    directory = directory.expanduser()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputDirUnusable(
            f"The output folder {directory} is a file, not a folder; nothing was sent."
        ) from None
    except OSError as err:
        raise OutputDirUnusable(
            f"The output folder {directory} cannot be created ({err.strerror or err}); nothing was sent."
        ) from err
    if not directory.is_dir():
        raise OutputDirUnusable(f"The output folder {directory} is not a folder; nothing was sent.")
    try:  # access() says yes to root on a read-only mount: write a probe instead
        fd, probe = tempfile.mkstemp(prefix=".fgi-probe-", dir=directory)
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(probe)
    except OSError as err:
        raise OutputDirUnusable(
            f"Cannot write to the output folder {directory} ({err.strerror or err}); nothing was sent."
        ) from err
    with contextlib.suppress(OSError):
        free = shutil.disk_usage(directory).free
        if free < expected_bytes:
            raise OutputDirUnusable(
                f"The output folder {directory} has only {free // 2**20} MB free; about "
                f"{expected_bytes // 2**20} MB are needed. Nothing was sent.",
                hint="Free some space or point NEMO_OUTPUT_DIR (or --output) at another folder.",
            )
    return directory


__all__ = ["EXPECTED_BYTES", "OutputDirUnusable", "check_output_dir"]
