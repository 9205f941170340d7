"""Fixtures for the client tests: a fake backend behind httpx2.MockTransport and a client factory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest

from free_generation_image.config import Settings
from free_generation_image.nemo.client import NemoClient
from free_generation_image.store import Store

from .fakes import FakeBackend

API = "https://api.test"
WEB = "https://web.test"

MakeClient = Callable[..., NemoClient]


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait the client asked for (the injected sleep returns at once)."""
    return []


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "config"


@pytest.fixture
def make_client(backend: FakeBackend, sleeps: list[float], config_dir: Path) -> MakeClient:
    """Build a NemoClient over the fake backend; keyword arguments go to Settings or NemoClient."""

    async def record_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def make(
        *,
        handler: Any = None,
        token: str | None = None,
        api_url: str = API,
        client_id: str | None = None,
        skill_source: str | None = None,
        **kwargs: Any,
    ) -> NemoClient:
        settings = Settings(
            api_url=api_url,
            web_url=WEB,
            token=token,
            client_id=client_id,
            skill_source=skill_source,
            config_dir=config_dir,
            output_dir=config_dir.parent / "out",
        )
        http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler or backend))
        kwargs.setdefault("retry_sleep", record_sleep)
        kwargs.setdefault("install_path", "/opt/tools/free_generation_image")
        return NemoClient(settings, Store(config_dir), http=http, **kwargs)

    return make
