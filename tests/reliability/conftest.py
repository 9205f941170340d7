"""Reliability fixtures: the root conftest's sandbox with a short Retry-After, the service's own waits run ten
times faster (``make_service(speedup=SPEEDUP)``), and a silent peer; the witnesses are in tests/helpers.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from free_generation_image.sandbox import SandboxConfig
from tests.helpers import FAST, SPEEDUP, Silent


# A short Retry-After: the rate-limit paths here wait it out (through the sped-up sleep), many times a test.
@pytest.fixture(scope="module")
def sandbox_config() -> SandboxConfig:
    return replace(FAST, retry_after_seconds=0.2)


@pytest.fixture
def service_speedup() -> float:
    return SPEEDUP


@pytest.fixture
def silent() -> Iterator[Silent]:
    server = Silent()
    yield server
    server.close()
