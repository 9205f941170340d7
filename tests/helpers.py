"""Plain helpers the test folders share: the fast sandbox config, a Service with test-sized waits, journal
queries (what reached the backend), witnesses of what was left on disk, a silent peer, and a remote client."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from free_generation_image.config import Settings
from free_generation_image.polling import PollPolicy
from free_generation_image.remote.config import RemoteConfig
from free_generation_image.remote.users import RemoteService
from free_generation_image.sandbox import JournalEntry, Sandbox, SandboxConfig
from free_generation_image.service import Service

# ----------------------------------------------------------------------------------- the sandbox
# Milliseconds instead of minutes, small media, a short Retry-After; no token quota, because a module
# creates many users. A folder that needs another pace overrides ``sandbox_config`` with a replace().
FAST = SandboxConfig(
    generation_seconds=0.1,
    edit_seconds=0.05,
    render_seconds=0.2,
    heartbeat_interval=0.05,
    media_scale=0.1,
    retry_after_seconds=1.0,
    quota_enabled=False,
)

# ----------------------------------------------------------------------------------- a service
# Test-sized schedules in the service's own time (see ``speedup``).
FAST_POLL = PollPolicy(first_delay=0.05, min_delay=0.05, give_up_after=30)
FAST_RECOVERY = (0.2, 0.3, 0.3, 0.3, 0.3)
# The reliability tests run the service's own waits ten times faster (``make_service(speedup=SPEEDUP)``).
SPEEDUP = 10.0

ServiceT = TypeVar("ServiceT", bound=Service)


def scaled_sleep(speedup: float) -> Callable[[float], Awaitable[None]]:
    """An injectable sleep that waits ``speedup`` times less than asked."""

    async def sleep(seconds: float) -> None:
        await anyio.sleep(seconds / speedup)

    return sleep


def make_service(
    settings: Settings,
    *,
    speedup: float = 1.0,
    factory: Callable[..., ServiceT] = Service,  # type: ignore[assignment]
    **kwargs: Any,
) -> ServiceT:
    """A Service (or ``factory``'s subclass) with test-sized waits: recovery schedule and render polling.

    ``speedup`` > 1 also runs the service's injectable sleep (retry backoff, Retry-After, recovery, poll
    gaps, whose caps are in seconds of the service's time) that many times faster; the default schedules
    are stretched by the same factor, so they still take the same real time.
    """
    kwargs.setdefault("recovery_delays", tuple(d * speedup for d in FAST_RECOVERY))
    kwargs.setdefault(
        "poll_policy",
        replace(
            FAST_POLL, first_delay=FAST_POLL.first_delay * speedup, min_delay=FAST_POLL.min_delay * speedup
        ),
    )
    if speedup != 1.0:
        kwargs.setdefault("sleep", scaled_sleep(speedup))
    return factory(settings, **kwargs)


def make_remote_service(settings: Settings, **kwargs: Any) -> RemoteService:
    """A hosted user's RemoteService with test-sized waits."""
    return make_service(settings, factory=RemoteService, **kwargs)


# ----------------------------------------------------------------------------------- the journal
def prompts_sent(sandbox: Sandbox) -> list[JournalEntry]:
    """Every POST /run_sse that reached the sandbox, whatever it answered (a 503 page counts too)."""
    return sandbox.requests("/run_sse", "POST")


def prompts_accepted(sandbox: Sandbox) -> list[JournalEntry]:
    """The /run_sse requests the agent took on (HTTP 200 with a stream): the ones that charge."""
    return [e for e in prompts_sent(sandbox) if e.status == 200 and e.data.get("invocation_id")]


def sse_requests(sandbox: Sandbox) -> list[JournalEntry]:
    """/run_sse requests that reached the agent (status 200)."""
    return [e for e in sandbox.requests("/run_sse") if e.status == 200]


def render_submits(sandbox: Sandbox) -> list[JournalEntry]:
    """Render submissions (POST /api/render/proxy/lambda), cancellations left out."""
    return [e for e in sandbox.requests("/api/render/proxy/lambda", "POST") if not e.path.endswith("/cancel")]


# ----------------------------------------------------------------------------------- the disk
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


# ----------------------------------------------------------------------------------- a silent peer
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


# ----------------------------------------------------------------------------------- a hosted server
SECRET = "test-secret-key-0123456789-abcdefghijklmnop"


def remote_config(sandbox: Sandbox, state: Path, **changes: Any) -> RemoteConfig:
    """A hosted server's config on a free loopback port, backed by ``sandbox``, its state under ``state``."""
    base = Settings.from_env(
        {}, api_url=sandbox.url, config_dir=state / "unused", output_dir=state / "unused"
    )
    env = {"FGI_SECRET_KEY": SECRET, "FGI_STATE_DIR": str(state)}
    config = RemoteConfig.from_env(env, host="127.0.0.1", port=0, base=base)
    return replace(config, **changes)


@asynccontextmanager
async def connect(mcp_url: str, token: str, mode: str = "auto") -> AsyncIterator[Client]:
    """The official client over Streamable HTTP, sending ``Authorization: Bearer <token>``."""
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http,
        Client(streamable_http_client(mcp_url, http_client=http), mode=mode) as client,
    ):
        yield client
