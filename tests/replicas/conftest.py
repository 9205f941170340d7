"""Replicas on one Redis: a real ``redis-server`` on a free port (skipped, with the reason shown, where
the binary is missing) and ``free-generation-image serve --http`` processes sharing it and the sandbox."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from free_generation_image.jobs import JobRegistry
from free_generation_image.sandbox import Sandbox, SandboxConfig
from free_generation_image.store import Store
from tests.helpers import SECRET

READY = re.compile(r"MCP over Streamable HTTP at (http://\S+)")
LEASE_SECONDS = "2"  # short leases: a dead replica's job is adopted within ~2 s


@pytest.fixture(scope="module")
def sandbox_config() -> SandboxConfig:
    """Generations and renders slow enough to kill a replica in the middle of one."""
    return SandboxConfig(
        generation_seconds=2.5,
        edit_seconds=0.1,
        render_seconds=3.0,
        heartbeat_interval=0.1,
        media_scale=0.15,
        retry_after_seconds=0.5,
        quota_enabled=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RedisServer:
    """One redis-server with an append-only file, so a restart keeps every key (and its expiry)."""

    binary: str
    folder: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--protected-mode",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # writes the append-only file out before leaving
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    pytest.importorskip("redis", reason="the redis extra is not installed (pip install -e '.[redis]')")
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run does it)")
    server = RedisServer(binary, tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Replica:
    """One ``serve --http`` process; its log lines land in ``log``."""

    proc: subprocess.Popen[bytes]
    log: Path
    url: str = ""

    @property
    def mcp_url(self) -> str:
        return self.url + "/mcp"

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def replica_env(sandbox: Sandbox, redis_url: str, state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEMO_", "FGI_"))}
    env.update(
        NEMO_API_URL=sandbox.url,
        FGI_SECRET_KEY=SECRET,
        FGI_STATE_DIR=str(state),
        FGI_REDIS_URL=redis_url,
        FGI_LEASE_SECONDS=LEASE_SECONDS,
        FGI_RATE_PER_MINUTE="100000",
        FGI_RATE_BURST="100000",
    )
    return env


def launch_replica(sandbox: Sandbox, redis_url: str, state: Path) -> Replica:
    state.mkdir(parents=True, exist_ok=True)
    log = state / "replica.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "free_generation_image", "serve", "--http", "--port", "0"],
            env=replica_env(sandbox, redis_url, state),
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    return Replica(proc, log)


def wait_ready(replica: Replica) -> Replica:
    """Block until the replica printed its URL (it binds before it says so)."""
    proc, log = replica.proc, replica.log
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = READY.search(log.read_text(errors="replace"))
        if found:
            replica.url = found.group(1).removesuffix("/mcp")
            return replica
        if proc.poll() is not None:
            raise RuntimeError("a replica exited at start:\n" + log.read_text(errors="replace")[-2000:])
        time.sleep(0.05)
    replica.kill()
    raise RuntimeError("a replica did not start within 60 s")


@pytest.fixture
def replicas(sandbox: Sandbox, redis_server: RedisServer, tmp_path: Path) -> Iterator[list[Replica]]:
    """Three replicas, each with its own state folder, sharing the sandbox and Redis."""
    started: list[Replica] = []
    try:
        for n in range(3):  # started together: each spends its first seconds importing
            started.append(launch_replica(sandbox, redis_server.url, tmp_path / f"replica{n}"))
        for replica in started:
            wait_ready(replica)
        yield started
    finally:
        for replica in started:
            replica.stop()


@dataclass
class StoreSetup:
    """Job registries on one kind of store: ``files`` (stdio), ``sqlite`` (the remote default), ``redis``."""

    kind: str
    root: Path
    hub: Any = None
    url: str = ""

    def registry(self, user: str = "u1", api: str = "http://a", *, hub: Any = None) -> JobRegistry:
        store = Store(self.root / user)
        hub = hub or self.hub
        if hub is None:
            return JobRegistry(store, api)
        return JobRegistry(store, api, log=hub.for_user(user, api).jobs)


@pytest.fixture(params=["files", "sqlite", "redis"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSetup]:
    if request.param == "files":
        yield StoreSetup("files", tmp_path / "cfg")
        return
    if request.param == "sqlite":
        from free_generation_image.sqlitestore import SqliteHub

        embedded = SqliteHub(tmp_path / "state.db", tmp_path / "locks")
        try:
            yield StoreSetup("sqlite", tmp_path / "cfg", embedded)
        finally:
            embedded.close()
        return
    yield from _redis_setup(request, tmp_path)


@pytest.fixture
def redis_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSetup]:
    """Redis only: what leases do (one machine's stores have none; the pid check decides there)."""
    yield from _redis_setup(request, tmp_path)


def _redis_setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSetup]:
    from free_generation_image.redisstore import RedisHub

    server: RedisServer = request.getfixturevalue("redis_server")
    hub = RedisHub(server.url, lease_seconds=1.0)
    try:
        yield StoreSetup("redis", tmp_path / "cfg", hub, server.url)
    finally:
        hub.close()
