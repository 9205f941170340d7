"""Small private files in the config dir: atomic writes, 0600 files in a 0700 dir, corruption-tolerant.

Every file is replaced whole (temp file + ``os.replace``), so two processes sharing the dir never see
or leave a half-written file; the last writer wins. Jobs get one file each, so they never race.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@contextlib.contextmanager
def written_temp(directory: Path, data: bytes, *, prefix: str, suffix: str, mode: int) -> Iterator[Path]:
    """``data`` in a new temp file in ``directory``, flushed to disk; removed if the caller's block fails.

    The caller moves it into place (rename over a file, or a never-overwriting publish).
    """
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        yield tmp
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` via a temp file in the same dir, then rename over it."""
    with written_temp(path.parent, data, prefix=f".{path.name}.", suffix=".tmp", mode=mode) as tmp:
        os.replace(tmp, path)


class Store:
    """JSON and text files under one private directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def ensure(self) -> Path:
        """Create the dir (0700) if needed and tighten its mode."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(OSError):
            os.chmod(self.root, 0o700)
        return self.root

    def path(self, name: str) -> Path:
        return self.root / name

    def read_json(self, name: str) -> Any | None:
        """The parsed file, or None if missing or corrupt (a corrupt file is moved aside, not fatal)."""
        path = self.path(name)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            log.warning("cannot read %s: %s", path, err)
            return None
        try:
            return json.loads(raw)
        except ValueError:
            log.warning("%s is corrupt; ignoring it (it will be rewritten)", path)
            with contextlib.suppress(OSError):
                os.replace(path, path.with_name(path.name + ".corrupt"))
            return None

    def write_json(self, name: str, value: Any) -> None:
        """Atomically write ``value`` as JSON (0600)."""
        self.ensure()
        target = self.path(name)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write_bytes(target, json.dumps(value, ensure_ascii=False, indent=1).encode("utf-8"))

    def read_text(self, name: str) -> str | None:
        try:
            return self.path(name).read_text(encoding="utf-8").strip() or None
        except (FileNotFoundError, UnicodeDecodeError):
            return None
        except OSError as err:
            log.warning("cannot read %s: %s", self.path(name), err)
            return None

    def write_text(self, name: str, value: str) -> None:
        self.ensure()
        atomic_write_bytes(self.path(name), value.encode("utf-8"))

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(name).unlink()

    def list(self, subdir: str, suffix: str = ".json") -> list[str]:
        """Names (relative to the root) of files in ``subdir`` ending with ``suffix``."""
        folder = self.path(subdir)
        if not folder.is_dir():
            return []
        return [
            f"{subdir}/{p.name}"
            for p in folder.iterdir()
            if p.name.endswith(suffix) and not p.name.startswith(".")
        ]
