"""CLI fixtures: the real command against the shared sandbox (tests/conftest.py), as a subprocess or in this
process."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from free_generation_image.sandbox import Sandbox
from tests.cli.helpers import Cli, Outcome, run_main


@pytest.fixture
def cli(sandbox: Sandbox, tmp_path: Path) -> Cli:
    """The CLI on this sandbox, with private config and output dirs and none of the developer's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEMO_", "SKILL_"))}
    env.update(
        NEMO_API_URL=sandbox.url,
        NEMO_CONFIG_DIR=str(tmp_path / "config"),
        NEMO_OUTPUT_DIR=str(tmp_path / "out"),
        PYTHONUNBUFFERED="1",
    )
    return Cli(env, tmp_path / "out")


@pytest.fixture
def main_in_process(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Outcome]:
    """``main(argv)`` in this process, on this sandbox, with private config and output dirs."""
    monkeypatch.setenv("NEMO_API_URL", sandbox.url)
    monkeypatch.setenv("NEMO_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("NEMO_OUTPUT_DIR", str(tmp_path / "out"))
    return lambda *argv: run_main(capsys, *argv)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """main() configures logging for a process; give the next test the configuration it had."""
    root = logging.getLogger()
    ours = [logging.getLogger(name) for name in ("free_generation_image", "httpx2")]
    saved = (root.level, list(root.handlers), [logger.level for logger in ours])
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    for logger, level in zip(ours, saved[2], strict=True):
        logger.setLevel(level)
