"""Reliability fixtures: one fast sandbox per module (reset before each test), services on it, and the
witnesses the tests share (what reached the backend, what was left on disk, where a secret shows up)."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from free_generation_image.config import Settings
from free_generation_image.polling import PollPolicy
from free_generation_image.sandbox import JournalEntry, Sandbox, SandboxConfig
from free_generation_image.service import Service


# Milliseconds instead of minutes, small media; quota off so a module can create many users.
@pytest.fixture(scope="module")
def sandbox_config() -> SandboxConfig:
    return FAST


FAST = SandboxConfig(
    generation_seconds=0.15,
    edit_seconds=0.05,
    render_seconds=0.15,
    heartbeat_interval=0.05,
    media_scale=0.15,
    retry_after_seconds=0.2,
    quota_enabled=False,
)
# The service's own waits (retry backoff, Retry-After, recovery schedule, poll gaps) run ten times faster
# through its injectable sleep; the schedules below are written in that scaled time.
SPEEDUP = 10.0
FAST_POLL = PollPolicy(first_delay=0.5, min_delay=0.5, give_up_after=20)
FAST_RECOVERY = (1.5, 2.5, 2.5, 2.5, 2.5)


async def fast_sleep(seconds: float) -> None:
    await anyio.sleep(seconds / SPEEDUP)


def make_service(settings: Settings, **kwargs: Any) -> Service:
    """A Service with test-sized waits: recovery schedule, render polling, rate-limit sleeps."""
    kwargs.setdefault("recovery_delays", FAST_RECOVERY)
    kwargs.setdefault("poll_policy", FAST_POLL)
    kwargs.setdefault("sleep", fast_sleep)
    return Service(settings, **kwargs)


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[Service]:
    async with make_service(settings) as svc:
        yield svc


# ----------------------------------------------------------------------------------- witnesses
def prompts_sent(sandbox: Sandbox) -> list[JournalEntry]:
    """Every POST /run_sse that reached the sandbox, whatever it answered (a 503 page counts too)."""
    return sandbox.requests("/run_sse", "POST")


def prompts_accepted(sandbox: Sandbox) -> list[JournalEntry]:
    """The /run_sse requests the agent took on (HTTP 200 with a stream): the ones that charge."""
    return [e for e in prompts_sent(sandbox) if e.status == 200 and e.data.get("invocation_id")]


def render_submits(sandbox: Sandbox) -> list[JournalEntry]:
    return [e for e in sandbox.requests("/api/render/proxy/lambda", "POST") if not e.path.endswith("/cancel")]


def leftovers(*directories: Path) -> list[Path]:
    """Temp files a crash or an abandoned write could leave: ``.fgi-*.part`` downloads, ``*.tmp`` state."""
    found: list[Path] = []
    for directory in directories:
        if directory.exists():
            found += [
                p
                for p in directory.rglob("*")
                if p.name.endswith((".part", ".tmp")) or (p.name.startswith(".fgi-") and p.is_file())
            ]
    return found


def files_under(directory: Path) -> list[Path]:
    """Every regular file below ``directory`` (empty when it does not exist)."""
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


def occurrences(secret: str, texts: Iterable[tuple[str, str]]) -> list[str]:
    """Names of the ``(name, text)`` pairs that contain ``secret``: empty means clean."""
    assert len(secret) >= 16, "scan for the real secret, not a prefix that would match anything"
    return [name for name, text in texts if secret in text]


def dir_texts(*directories: Path) -> list[tuple[str, str]]:
    """``(path, content)`` of every file below the directories (bytes decoded leniently)."""
    return [(str(p), p.read_bytes().decode("utf-8", "replace")) for d in directories for p in files_under(d)]


# ------------------------------------------------------------------------------ a silent peer
class Silent:
    """A TCP server that accepts connections and never answers: the worst backend there is."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self.accepted.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self.accepted:
            conn.close()
        self._sock.close()


@pytest.fixture
def silent() -> Iterator[Silent]:
    server = Silent()
    yield server
    server.close()
