"""Running the hosted server: in the foreground (``serve --http``), or on a thread for tests and bench.

Shutdown (SIGINT/SIGTERM) stops accepting, lets requests in flight finish for a few seconds, then closes
every user's Service: their running jobs stay "running" in each job log and resume when the user returns.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

import uvicorn

from free_generation_image.remote.config import RemoteConfig
from free_generation_image.remote.users import RemoteService, ServiceFactory
from free_generation_image.serving import ReadyServer, bind

log = logging.getLogger(__name__)
GRACE_SECONDS = 10
START_TIMEOUT = 20.0


def _server(
    config: RemoteConfig, on_ready: Callable[[], None], factory: ServiceFactory, grace: int
) -> ReadyServer:
    from free_generation_image.remote.app import build_app

    settings = uvicorn.Config(
        build_app(config, service_factory=factory),
        lifespan="on",
        loop="asyncio",
        log_config=None,
        access_log=False,  # RequestLog writes one JSON line per request instead
        server_header=False,
        timeout_graceful_shutdown=grace,
        proxy_headers=True,
    )
    return ReadyServer(settings, on_ready)


def serve_http(config: RemoteConfig, on_ready: Callable[[str], None] = lambda url: None) -> None:
    """Run until SIGINT/SIGTERM; ``on_ready(mcp_url)`` once requests are accepted."""
    with bind(config.host, config.port) as sock:
        port = sock.getsockname()[1]
        resolved = replace(config, port=port)
        _server(resolved, lambda: on_ready(resolved.mcp_url), RemoteService, GRACE_SECONDS).run(
            sockets=[sock]
        )


class RunningServer:
    """A hosted server on a background thread; ``url`` is its base URL, ``mcp_url`` its endpoint."""

    def __init__(
        self, config: RemoteConfig, thread: threading.Thread, server: ReadyServer, sock: socket.socket
    ):
        self.config = config
        self.url = config.url
        self.mcp_url = config.mcp_url
        self._thread = thread
        self._server = server
        self._sock = sock

    @property
    def stopped(self) -> bool:
        """True once the server's thread has ended (its lifespan shut down)."""
        return not self._thread.is_alive()

    def stop(self) -> None:
        """What SIGTERM does to uvicorn: stop accepting, let requests finish, run the lifespan's shutdown."""
        self._server.should_exit = True
        self._thread.join(GRACE_SECONDS + 10)
        self._sock.close()


@contextmanager
def run_in_thread(
    config: RemoteConfig, *, factory: ServiceFactory = RemoteService
) -> Iterator[RunningServer]:
    """``with run_in_thread(config.with_port(0)) as srv: ... srv.mcp_url ...``"""
    ready = threading.Event()
    sock = bind(config.host, config.port)
    resolved = replace(config, port=sock.getsockname()[1])
    server = _server(resolved, ready.set, factory, 2)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="fgi-remote", daemon=True)
    thread.start()
    running = RunningServer(resolved, thread, server, sock)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready.wait(0.01):
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the remote server failed to start (see the log)")
        yield running
    finally:
        running.stop()
