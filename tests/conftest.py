"""Shared fixtures: a clean environment for every test, anyio on asyncio."""

from __future__ import annotations

import pytest

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
