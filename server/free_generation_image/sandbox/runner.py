"""Running the sandbox: in a background thread for tests (``run_sandbox``), or in the foreground for
the ``sandbox`` command (``serve``). Both bind the socket first, so port 0 resolves before start-up.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn

from free_generation_image.sandbox.app import create_app
from free_generation_image.sandbox.config import SandboxConfig
from free_generation_image.sandbox.control_client import SandboxControl
from free_generation_image.sandbox.world import World
from free_generation_image.serving import ReadyServer, bind, url_of

log = logging.getLogger(__name__)
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class _Server(ReadyServer):
    """uvicorn that announces readiness, and ends open streams first when shutting down."""

    def __init__(self, config: uvicorn.Config, world: World, on_ready: Callable[[], None]) -> None:
        super().__init__(config, on_ready)
        self._world = world

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._world.close_streams()  # else uvicorn waits for every open /run_sse response to end
        await super().shutdown(sockets)


def _server(config: SandboxConfig, on_ready: Callable[[], None]) -> _Server:
    world = World(config)
    settings = uvicorn.Config(
        create_app(world),
        lifespan="on",
        loop="asyncio",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=1,
        server_header=False,
    )
    return _Server(settings, world, on_ready)


def serve(config: SandboxConfig, on_ready: Callable[[str], None]) -> None:
    """Run in the foreground until SIGINT/SIGTERM; ``on_ready(url)`` once it accepts requests."""
    with bind(config.host, config.port) as sock:
        url = url_of(sock)
        _server(config, lambda: on_ready(url)).run(sockets=[sock])


class Sandbox(SandboxControl):
    """A sandbox running in this process; ``url`` to point clients at, control methods to drive it."""

    def __init__(self, url: str, thread: threading.Thread, server: _Server, sock: socket.socket) -> None:
        super().__init__(url)
        self._thread = thread
        self._server = server
        self._sock = sock

    def stop(self) -> None:
        """Shut the server down and join its thread (idempotent)."""
        self.close()
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT)
        self._sock.close()
        if self._thread.is_alive():
            log.warning("the sandbox thread did not stop within %.0f s", STOP_TIMEOUT)


@contextmanager
def run_sandbox(config: SandboxConfig | None = None) -> Iterator[Sandbox]:
    """Run a sandbox on a background thread with its own event loop; stop it on exit.

    ``with run_sandbox(SandboxConfig(render_seconds=0.2)) as sb: ... sb.url ...``
    """
    config = config or SandboxConfig()
    ready = threading.Event()
    sock = bind(config.host, config.port)
    server = _server(config, ready.set)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fgi-sandbox", daemon=True)
    thread.start()
    sandbox = Sandbox(url_of(sock), thread, server, sock)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready.wait(0.01):
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox failed to start (see the log)")
        yield sandbox
    finally:
        sandbox.stop()
