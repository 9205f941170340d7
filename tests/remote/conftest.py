"""A hosted (remote-mode) server on a free port, backed by the shared sandbox (its clients and config
helpers are in tests/helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from free_generation_image.remote.serve import RunningServer, run_in_thread
from free_generation_image.sandbox import Sandbox

# tests/replicas still imports these two from here; tests.helpers is their home.
from tests.helpers import SECRET, connect, make_remote_service, remote_config

__all__ = ["SECRET", "connect"]


@pytest.fixture
def remote(sandbox: Sandbox, tmp_path: Path) -> Iterator[RunningServer]:
    with run_in_thread(remote_config(sandbox, tmp_path / "state"), factory=make_remote_service) as server:
        yield server
