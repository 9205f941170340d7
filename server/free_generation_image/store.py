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
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio

log = logging.getLogger(__name__)


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` via a temp file in the same dir, then rename over it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


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

    @contextlib.asynccontextmanager
    async def lock(
        self, name: str, *, timeout: float = 30.0, stale_after: float = 120.0
    ) -> AsyncIterator[None]:
        """Hold an inter-process lock (a file created exclusively: every OS, no dependency).

        Two servers sharing the config dir must not both fetch a token or start a project. A lock left
        by a crashed process expires after ``stale_after`` s; after ``timeout`` s we go on without it
        (a duplicate token is cheaper than a stuck server).
        """
        self.ensure()
        path = self.path(f".{name}.lock")
        deadline = time.monotonic() + timeout
        owned = False
        while not owned:
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                with contextlib.suppress(FileNotFoundError):
                    if time.time() - path.stat().st_mtime > stale_after:
                        log.warning("removing a stale lock %s", path)
                        path.unlink(missing_ok=True)
                        continue
                if time.monotonic() > deadline:
                    log.warning("could not take %s within %.0f s; going on without it", path, timeout)
                    break
                await anyio.sleep(0.05)
            except OSError as err:  # e.g. a read-only config dir: locking is best effort
                log.warning("cannot lock %s: %s", path, err)
                break
            else:
                with contextlib.suppress(OSError):
                    os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                owned = True
        try:
            yield
        finally:
            if owned:
                with contextlib.suppress(OSError):
                    path.unlink()

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
