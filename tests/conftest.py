"""Shared fixtures: a clean environment for every test, anyio on asyncio, and a sandbox backend on
loopback (one per module, reset before each test; a folder overrides ``sandbox_config`` for its pace)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from free_generation_image.config import Settings
from free_generation_image.sandbox import Sandbox, SandboxConfig, run_sandbox

_ENV = (
    "NEMO_TOKEN",
    "NEMO_API_URL",
    "NEMO_WEB_URL",
    "NEMO_CLIENT_ID",
    "NEMO_LANGUAGE",
    "SKILL_SOURCE",
    "NEMO_CONFIG_DIR",
    "NEMO_OUTPUT_DIR",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the developer's NEMO_* settings or writes to their real config/Downloads dirs."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(home / "Downloads"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def sandbox_config() -> SandboxConfig:
    """Milliseconds instead of minutes, small media, no token quota (a module creates many users)."""
    return SandboxConfig(
        generation_seconds=0.3,
        edit_seconds=0.1,
        render_seconds=0.4,
        heartbeat_interval=0.05,
        media_scale=0.25,
        retry_after_seconds=1.0,
        quota_enabled=False,
    )


@pytest.fixture(scope="module")
def module_sandbox(sandbox_config: SandboxConfig) -> Iterator[Sandbox]:
    with run_sandbox(sandbox_config) as sb:
        yield sb


@pytest.fixture
def sandbox(module_sandbox: Sandbox) -> Sandbox:
    """The module's sandbox, reset: its start settings, no users, sessions, faults or journal."""
    module_sandbox.reset()
    return module_sandbox


@pytest.fixture
def settings(sandbox: Sandbox, tmp_path: Path) -> Settings:
    """Settings pointing at the sandbox, with private config and output dirs."""
    return Settings.from_env(
        {}, api_url=sandbox.url, config_dir=tmp_path / "config", output_dir=tmp_path / "out"
    )
