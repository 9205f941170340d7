"""One invocation of the command line: its options and streams, its --wait deadline, how it prints."""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from free_generation_image.cli.parser import DEFAULT_WAIT
from free_generation_image.cli.progress import Display
from free_generation_image.cli.render import (
    EXIT_UNEXPECTED,
    Result,
    error_document,
    error_line,
    exit_code_for,
    render_json,
    render_text,
)
from free_generation_image.errors import FGIError

if TYPE_CHECKING:
    from free_generation_image.service import Service


@dataclass
class Run:
    """One invocation: options, where things are printed, and what to report if it is interrupted."""

    args: argparse.Namespace
    display: Display
    stdout: TextIO
    stderr: TextIO
    confirmed: bool = False
    started: float = field(default_factory=time.monotonic)
    service: Service | None = None
    watching: list[str] = field(default_factory=list)

    @property
    def deadline(self) -> float:
        return self.started + float(getattr(self.args, "wait", DEFAULT_WAIT))

    def remaining(self) -> float:
        """Seconds left of --wait (0 once it has run out)."""
        return max(0.0, self.deadline - time.monotonic())

    def json_out(self, document: Result | Mapping[str, Any]) -> None:
        """Print one JSON document on stdout; ASCII-escaped unless stdout takes UTF-8."""
        print(render_json(document, ascii_only=not utf8(self.stdout)), file=self.stdout)

    def emit(self, result: Result, *, failed_code: int = EXIT_UNEXPECTED) -> int:
        """Print a result on stdout and return the exit code it stands for."""
        if self.args.json:
            self.json_out(result)
        else:
            print(render_text(result), file=self.stdout)
        self.stdout.flush()
        return exit_code_for(result, failed_code=failed_code)

    def fail(self, err: FGIError, **extra: Any) -> int:
        """One clear line on stderr (and the JSON error document with --json); the error's exit code."""
        if self.args.json:
            self.json_out(error_document(err, **extra))
        print(error_line(err), file=self.stderr)
        return err.exit_code


def utf8(stream: TextIO) -> bool:
    return (getattr(stream, "encoding", "") or "").lower().replace("-", "") == "utf8"


__all__ = ["Run", "utf8"]
