"""The entry point: parse, set up logs and streams, run one command; errors and Ctrl-C -> an exit code.

Results go to stdout (text, or exactly one JSON document with ``--json``); progress, agent text and
errors go to stderr. Module-level imports stay light because ``serve`` is cold-start benchmarked: the
service, the sandbox, Pillow and PyAV are imported inside the commands that need them.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from free_generation_image.cli.commands import COMMANDS, with_service
from free_generation_image.cli.parser import build_parser
from free_generation_image.cli.progress import Display, choose_mode
from free_generation_image.cli.render import (
    EXIT_INTERRUPTED,
    EXIT_PIPE_CLOSED,
    EXIT_UNEXPECTED,
    PROG,
    error_document,
    error_line,
    resume_hint,
)
from free_generation_image.cli.run import Run
from free_generation_image.errors import Cancelled, FGIError
from free_generation_image.nemo.sanitize import clean

if TYPE_CHECKING:
    from free_generation_image.service import Service

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``free-generation-image`` console script."""
    try:
        try:
            return _main(argv)
        finally:  # flushed here (also after --help's SystemExit), not at exit where it could only complain
            sys.stdout.flush()
    except BaseException as err:
        if not _closed_pipe(err):
            raise
        return _quiet_after_closed_pipe()


def _closed_pipe(err: BaseException) -> bool:
    """A BrokenPipeError, alone or as the only kind of error in a task group's exception group."""
    if isinstance(err, BaseExceptionGroup):
        rest = err.split(BrokenPipeError)[1]
        return rest is None
    return isinstance(err, BrokenPipeError)


def _quiet_after_closed_pipe() -> int:
    """The reader of our output went away (``| head``): stop quietly, as ``git log | head`` does.

    Python flushes stdout once more at exit; pointing it at devnull keeps that flush from failing too
    (https://docs.python.org/3/library/signal.html#note-on-sigpipe). Stderr may be the closed pipe as well.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream in (sys.stdout, sys.stderr):
            try:
                os.dup2(devnull, stream.fileno())
            except (AttributeError, OSError, ValueError):  # not a real file (tests capture it): nothing to do
                continue
    finally:
        os.close(devnull)
    return EXIT_PIPE_CLOSED


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "sandbox":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "sandbox":  # it parses its own flags and sets up its own logging (-v)
        from free_generation_image.sandbox.cli import main as sandbox_main

        return sandbox_main(extra)
    _setup_logging(debug=args.debug)
    if args.command == "serve":
        return _serve(args)
    for stream in (sys.stdout, sys.stderr):
        # A console that cannot show "→" or CJK must degrade, not crash after the work is done.
        reconfigure: Callable[..., None] | None = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    display = Display(
        sys.stderr,
        choose_mode(sys.stderr, quiet=args.quiet, debug=args.debug, env=os.environ),
        clock=time.monotonic,
        width=lambda: shutil.get_terminal_size().columns,
        dim="NO_COLOR" not in os.environ,  # https://no-color.org
    )
    run = Run(
        args=args,
        display=display,
        stdout=sys.stdout,
        stderr=sys.stderr,
        confirmed=bool(getattr(args, "yes", False)),
    )
    return execute(run)


def execute(run: Run) -> int:
    """Run the command; turn errors, refusals and Ctrl-C into one clear line and an exit code."""
    try:
        return _dispatch(run)
    except KeyboardInterrupt:
        return _interrupted(run)
    except FGIError as err:
        if run.args.debug:
            log.debug("command failed", exc_info=True)
        return run.fail(err)
    except Exception as err:  # a bug: say so in one line; the traceback is for --debug
        if run.args.debug or _closed_pipe(err):  # a closed pipe is no bug: main() ends quietly
            raise
        detail = " ".join(clean(str(err)).split())
        run.stderr.write(
            f"error: unexpected {type(err).__name__}: {detail}. Run again with --debug for details "
            "and please report it.\n"
        )
        return EXIT_UNEXPECTED


def _dispatch(run: Run) -> int:
    import anyio

    if run.args.command == "demo":
        from free_generation_image.cli.demo import run_demo

        return run_demo(run)
    return anyio.run(with_service, run, COMMANDS[run.args.command])


def _interrupted(run: Run) -> int:
    jobs = run.watching or _running_jobs(run.service)
    if run.args.command == "demo":
        jobs, lines = [], ["Demo interrupted. Nothing to resume: it ran on a throwaway local sandbox."]
    elif jobs:
        lines = [
            f"Stopped waiting. Job {job_id} keeps its place: run `{PROG} status --job {job_id}` to collect "
            "it. Nothing was re-sent."
            for job_id in jobs
        ]
    else:
        lines = ["Interrupted."]
    run.stderr.write("\n" + "\n".join(lines) + "\n")
    run.stderr.flush()
    if run.args.json:
        err = Cancelled(lines[0], hint=resume_hint(jobs[0]) if jobs else "")
        run.json_out(error_document(err, job_ids=jobs))
    return EXIT_INTERRUPTED


def _running_jobs(service: Service | None) -> list[str]:
    """Jobs this process started (or adopted) that were still running when it was interrupted."""
    if service is None:
        return []
    owner = service.jobs.owner
    return [r.id for r in service.jobs.records() if r.owner == owner and r.status == "running"]


class _StderrHandler(logging.Handler):
    """Writes to ``sys.stderr`` as it is at the time of the record (never stdout: in serve, the protocol)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(clean(self.format(record)) + "\n")  # records quote backend text
        except Exception:  # handleError stays silent on a closed stderr (OSError)
            self.handleError(record)


def _setup_logging(*, debug: bool) -> None:
    """Logs go to stderr only; WARNING and up unless --debug."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    if debug:
        logging.getLogger("free_generation_image").setLevel(logging.DEBUG)
        # Request lines, not wire traces: the transport's DEBUG output is noise and carries headers.
        logging.getLogger("httpx2").setLevel(logging.INFO)


def _serve(args: argparse.Namespace) -> int:
    from free_generation_image.config import Settings
    from free_generation_image.mcp_server import serve

    if getattr(args, "http", False):
        from free_generation_image.remote.cli import serve_http_command

        return serve_http_command(args)
    try:
        serve(Settings.from_env(api_url=args.api_url))
    except FGIError as err:  # bad configuration: stderr only, stdout belongs to the protocol
        sys.stderr.write(error_line(err) + "\n")
        return err.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return 0


__all__ = ["execute", "main"]
