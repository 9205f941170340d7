"""Running the real `free-generation-image` command in a subprocess, the way people and scripts do."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from free_generation_image.cli import main


class Cli:
    """Runs the real command (``python -m free_generation_image``) against the test's sandbox."""

    def __init__(self, env: dict[str, str], output_dir: Path) -> None:
        self.env = env
        self.output_dir = output_dir

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "free_generation_image", *args]

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run to completion; stdin, stdout and stderr are not terminals."""
        return subprocess.run(
            self.command(*args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def json(self, *args: str, expect: int = 0) -> dict[str, Any]:
        """Run with --json; check the exit code and that stdout is exactly one JSON document."""
        done = self.run(*args, "--json")
        assert done.returncode == expect, (done.returncode, done.stdout, done.stderr)
        document: dict[str, Any] = json.loads(done.stdout)
        return document

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@dataclass
class Outcome:
    """What one in-process run of ``main`` returned and printed."""

    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        """stdout, which must be exactly one JSON document."""
        document: dict[str, Any] = json.loads(self.out)
        return document


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    """Run the CLI's ``main`` here: the console script's code, without the interpreter start-up."""
    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse: --help, --version, usage errors
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)
