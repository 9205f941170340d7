"""Serving a Starlette app with uvicorn on a socket bound first (so port 0 resolves before start-up)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0 = any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP (socket.create_server leaves 0): asyncio only sets TCP_NODELAY on
    # accepted sockets whose proto says TCP, and without it every keep-alive request waits ~40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket (a wildcard address is shown as loopback)."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):  # noqa: S104 - only naming the wildcard, not binding to it
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"  # noqa: S104
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class ReadyServer(uvicorn.Server):
    """uvicorn that says when it accepts requests (``on_ready``), once start-up has succeeded."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_ready()


__all__ = ["ReadyServer", "bind", "url_of"]
