"""The command line: the same operations as the MCP tools, for people and scripts.

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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, get_args

from free_generation_image import __version__
from free_generation_image.cli_progress import Activity, Display, choose_mode
from free_generation_image.cli_render import (
    EXIT_CODES_HELP,
    EXIT_INTERRUPTED,
    EXIT_PIPE_CLOSED,
    EXIT_UNEXPECTED,
    PROG,
    Result,
    error_document,
    error_line,
    exit_code_for,
    render_json,
    render_text,
    resume_hint,
)
from free_generation_image.errors import Cancelled, FGIError
from free_generation_image.jobs import Job, Progress
from free_generation_image.nemo.sanitize import clean
from free_generation_image.prompting import AspectRatio

if TYPE_CHECKING:
    from free_generation_image.config import Settings
    from free_generation_image.models import ExportResult, GenerateResult, StatusResult
    from free_generation_image.sandbox import SandboxConfig
    from free_generation_image.service import Service

log = logging.getLogger(__name__)

DEFAULT_WAIT = 900.0  # a shell has no host timeout, but a forgotten command should not wait forever
HANDOFF_SECONDS = 60.0  # longest wait for the backend to take a job before --wait may end this process
DEMO_PROMPT = "A red fox curled up in fresh snow at sunrise, soft watercolor illustration"

DESCRIPTION = """\
Turn a text prompt (English or Chinese) into images and short 1080p videos with the NemoVideo
backend, and save real files. Generation spends credits; export, status and credits are free."""

EXAMPLES = f"""\
examples:
  {PROG} demo                                  # offline round trip on a local sandbox
  {PROG} generate "a cat surfing at sunset" --kind image
  {PROG} export --format mp4 --output ~/Videos
  {PROG} status --job job_1a2b3c4d5e6f         # collect a job that was still running
  {PROG} chat "导出"                            # free text, routed like the chat tool
  {PROG} --json credits | jq .available
"""

ENVIRONMENT = """\
environment:
  NEMO_TOKEN       NemoVideo API token (default: a free anonymous token, cached in the config dir)
  NEMO_API_URL     backend URL (default: production; --api-url overrides it)
  NEMO_OUTPUT_DIR  where files are saved (default: Downloads/free-generation-image)
  NEMO_CONFIG_DIR  client id, token cache, current project, job log
  NEMO_LANGUAGE    project language (default: from the prompt's script)
"""


# --------------------------------------------------------------------------- arguments
def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not seconds >= 0:  # also refuses NaN
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {value!r}")
    return seconds


def _output_options(suppress: bool) -> argparse.ArgumentParser:
    """--json/--debug/--quiet, accepted before or after the command name."""
    default: Any = argparse.SUPPRESS if suppress else False
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--json",
        action="store_true",
        default=default,
        help="print one JSON document on stdout (the tools' structured output)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="debug logs on stderr, and a traceback on errors",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="no progress display, only the result"
    )
    return parser


def _backend_options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--api-url", metavar="URL", help="backend URL (overrides NEMO_API_URL)")
    return parser


def _wait_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--wait",
        type=_seconds,
        default=DEFAULT_WAIT,
        metavar="SECONDS",
        help=f"wait at most this long for {what}, then print the job id and exit 75 "
        f"(default: {DEFAULT_WAIT:g}; 0 = as soon as the backend has the work)",
    )


def _output_dir_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        metavar="DIR",
        help=f"save {what} in DIR (default: NEMO_OUTPUT_DIR, else Downloads/free-generation-image)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; every subcommand has --help with examples."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        formatter_class=formatter,
        epilog=f"{EXAMPLES}\n{ENVIRONMENT}\n{EXIT_CODES_HELP}",
        parents=[_output_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    io = [_output_options(suppress=True)]
    backend = [*io, _backend_options()]

    def command(
        name: str, summary: str, examples: str, parents: list[argparse.ArgumentParser], **kwargs: Any
    ) -> argparse.ArgumentParser:
        lines = "\n".join(f"  {PROG} {name} {line}".rstrip() for line in examples.splitlines())
        return sub.add_parser(
            name,
            help=summary,
            description=summary,
            parents=parents,
            formatter_class=formatter,
            epilog=f"examples:\n{lines}\n\n{EXIT_CODES_HELP}",
            **kwargs,
        )

    gen = command(
        "generate",
        "Generate an image or short video from a prompt (spends credits).",
        '"a lighthouse in a storm, oil painting" --kind image\n'
        '"一只在海边奔跑的小狗" --kind video --duration 8 --aspect-ratio 9:16\n'
        '"neon city flythrough" --wait 0 --json   # a job id once the prompt is sent',
        backend,
    )
    gen.add_argument("prompt", help="what to make, in your words")
    gen.add_argument(
        "--kind",
        choices=("auto", "image", "video"),
        default="auto",
        help="image, video, or auto: let the prompt decide (default)",
    )
    gen.add_argument(
        "--aspect-ratio", choices=get_args(AspectRatio), help="frame shape (default: the backend's)"
    )
    gen.add_argument("--duration", type=float, metavar="SECONDS", help="video length, 1-60 s")
    gen.add_argument(
        "--new-project",
        action="store_true",
        help="start a fresh project instead of adding to the current one",
    )
    gen.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="send even if it likely costs more credits than "
        "are available (otherwise you are asked, or it is refused when not interactive)",
    )
    _wait_option(gen, "the generation")
    _output_dir_option(gen, "the generated media")

    upload = command(
        "upload",
        "Add local files or http(s) URLs to the current project (free).",
        "photo.jpg\nintro.mp4 https://example.com/music.mp3",
        backend,
    )
    upload.add_argument("sources", nargs="+", metavar="SOURCE", help="local path or http(s) URL")

    command("credits", "Show the credit balance: available, frozen, total (free).", "\n--json", backend)

    status = command(
        "status",
        "Show the project's timeline and recent jobs, or collect one job (free).",
        "\n--job job_1a2b3c4d5e6f\n--job job_1a2b3c4d5e6f --wait 60 --json",
        backend,
    )
    status.add_argument("--job", metavar="JOB_ID", help="wait for this job and show its result")
    _wait_option(status, "the job (with --job)")
    _output_dir_option(status, "files of a generation resumed after an interruption")

    export = command(
        "export",
        "Render the timeline and save the file (free).",
        "\n--format png --output ~/Pictures\n--wait 30 --json",
        backend,
    )
    export.add_argument(
        "--format",
        choices=("mp4", "png"),
        default="mp4",
        help="mp4: the video (default); png: a still of the composition",
    )
    _wait_option(export, "the render")
    _output_dir_option(export, "the exported file")

    cancel = command(
        "cancel", "Stop a job; a pending render is cancelled on the backend too.", "job_1a2b3c4d5e6f", backend
    )
    cancel.add_argument("job", metavar="JOB_ID")

    chat = command(
        "chat",
        "Free text, English or Chinese, routed to the right operation.",
        '"export it as a png"\n"我还有多少积分"\n"a paper boat on a rainy street"   # a generation',
        backend,
    )
    chat.add_argument("message")
    chat.add_argument("-y", "--yes", action="store_true", help="as for generate")
    _wait_option(chat, "a generation or export")
    _output_dir_option(chat, "generated or exported files")

    command(
        "sandbox",
        "Run the local NemoVideo backend (offline twin); prints its URL.",
        "--port 8765\n--help          # the sandbox's own options",
        io,
        add_help=False,
    )

    demo = command(
        "demo",
        "Offline round trip on an in-process sandbox: prompt -> image -> export -> MP4.",
        '\n--output /tmp/fgi-demo\n--prompt "a paper lantern festival" --json',
        io,
    )
    demo.add_argument("--prompt", default=DEMO_PROMPT, help="what the demo generates")
    demo.add_argument(
        "--output",
        "-o",
        type=Path,
        metavar="DIR",
        help="where the files go (default: a 'demo' folder in the output dir). The demo "
        "never touches your token or project: it uses a throwaway config dir",
    )

    serve = command(
        "serve",
        "Run the MCP server on stdio (what MCP clients launch), or with --http for many users.",
        "\n--api-url http://127.0.0.1:8765"
        "\n--http --host 0.0.0.0 --port 8000   # FGI_SECRET_KEY; docs/remote.md",
        backend,
    )
    serve.add_argument("--http", action="store_true", help="serve MCP over Streamable HTTP at /mcp")
    serve.add_argument("--host", help="with --http: address to bind (default: FGI_HOST, else 127.0.0.1)")
    serve.add_argument("--port", type=int, help="with --http: port (default: FGI_PORT, else 8000; 0 = any)")
    return parser


# --------------------------------------------------------------------------- one invocation
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

    def emit(self, result: Result, *, failed_code: int = EXIT_UNEXPECTED) -> int:
        """Print a result on stdout and return the exit code it stands for."""
        if self.args.json:
            print(render_json(result, ascii_only=not _utf8(self.stdout)), file=self.stdout)
        else:
            print(render_text(result), file=self.stdout)
        self.stdout.flush()
        return exit_code_for(result, failed_code=failed_code)

    def fail(self, err: FGIError, **extra: Any) -> int:
        """One clear line on stderr (and the JSON error document with --json); the error's exit code."""
        if self.args.json:
            print(
                render_json(error_document(err, **extra), ascii_only=not _utf8(self.stdout)), file=self.stdout
            )
        print(error_line(err), file=self.stderr)
        return err.exit_code


def _utf8(stream: TextIO) -> bool:
    return (getattr(stream, "encoding", "") or "").lower().replace("-", "") == "utf8"


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
        from free_generation_image.sandbox import main as sandbox_main

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


def _interactive(run: Run) -> bool:
    return sys.stdin.isatty() and run.stderr.isatty()


class SpendDeclined(FGIError):
    """The person answered no when asked to spend more than the balance; nothing was sent."""

    default_hint = f"Nothing was sent. To send without asking, add --yes (or run `{PROG} credits`)."


def _ask_to_spend(run: Run, question: str) -> bool:
    """Ask on the terminal (the CLI's elicitation) before a generation estimated above the balance."""
    run.stderr.write(f"{question}\nSend it anyway? [y/N] ")
    run.stderr.flush()
    try:
        answer = sys.stdin.readline()
    except (EOFError, OSError):
        answer = ""
    return answer.strip().lower() in ("y", "yes", "是")


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
        print(
            render_json(error_document(err, job_ids=jobs), ascii_only=not _utf8(run.stdout)), file=run.stdout
        )
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


def _settings(run: Run) -> Settings:
    from free_generation_image.config import Settings

    return Settings.from_env(
        api_url=getattr(run.args, "api_url", None), output_dir=getattr(run.args, "output", None)
    )


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


# --------------------------------------------------------------------------- commands
Command = Callable[[Run, "Service"], Awaitable[int]]


def _dispatch(run: Run) -> int:
    import anyio

    if run.args.command == "demo":
        return _demo(run)
    return anyio.run(_with_service, run, _COMMANDS[run.args.command])


async def _with_service(run: Run, command: Command) -> int:
    settings = _settings(run)  # a configuration error is reported before anything heavy is loaded
    from free_generation_image.service import Service

    async with Service(settings) as service:
        run.service = service
        return await command(run, service)


async def _cmd_generate(run: Run, service: Service) -> int:
    return run.emit(
        await _generate(
            run,
            service,
            run.args.prompt,
            kind=run.args.kind,
            aspect_ratio=run.args.aspect_ratio,
            duration_s=run.args.duration,
            new_project=run.args.new_project,
        )
    )


async def _confirm_spend(run: Run, service: Service, prompt: str, **options: Any) -> None:
    """On a terminal, ask once when the estimate exceeds the balance; never when the call joins a job.

    Elsewhere (piped, --json, --yes) nothing is asked: the estimate is a guess and never blocks, and the
    result states it.
    """
    import anyio

    if run.confirmed or not _interactive(run):
        return
    if await service.find_generate(prompt, **options) is not None:
        return
    estimate, available = await service.preflight(prompt, options.get("kind") or "auto")
    if available is None or available >= estimate:
        return
    question = (
        f"This generation is estimated at about {estimate} credits (an estimate, not a price) and "
        f"{available} are available."
    )
    if not await anyio.to_thread.run_sync(_ask_to_spend, run, question):
        raise SpendDeclined("Not sent: you chose not to spend credits on this generation.")
    run.confirmed = True
    run.started = time.monotonic()  # --wait counts from the answer, not from the question


async def _generate(run: Run, service: Service, prompt: str, **options: Any) -> GenerateResult:
    await _confirm_spend(run, service, prompt, **options)
    async with run.display.activity("Generating") as act:
        job, deduplicated = await service.start_generate(prompt, **options)
        if deduplicated:
            act.text(f"Same request as job {job.id}: returning it instead of sending (and paying) again.\n")
        await _until_handed_off(service, job, act)
        status = await _follow(run, service, job.id, act)
    result = _settled(service, status, job.id).generate
    assert result is not None
    result.deduplicated = result.deduplicated or deduplicated
    return result


async def _cmd_export(run: Run, service: Service) -> int:
    return run.emit(await _export(run, service, run.args.format))


async def _export(run: Run, service: Service, fmt: str) -> ExportResult:
    async with run.display.activity(f"Exporting {fmt.upper()}") as act:
        job = await service.start_export("png" if fmt == "png" else "mp4")
        await _until_handed_off(service, job, act)
        status = await _follow(run, service, job.id, act)
    result = _settled(service, status, job.id).export
    assert result is not None
    return result


async def _cmd_status(run: Run, service: Service) -> int:
    job_id: str | None = run.args.job
    if not job_id:
        return run.emit(await service.status())
    async with run.display.activity(f"Waiting for {job_id}") as act:
        status = await _follow(run, service, job_id.strip(), act)
    return run.emit(status, failed_code=_failure_code(service, job_id.strip()))


async def _cmd_credits(run: Run, service: Service) -> int:
    return run.emit(await service.credits())


async def _cmd_upload(run: Run, service: Service) -> int:
    async with run.display.activity("Uploading") as act:
        result = await service.upload(run.args.sources, wait_seconds=_chunk(run), on_progress=act)
        if result.status == "running" and result.job_id:
            status = await _follow(run, service, result.job_id, act)
            result = _settled(service, status, result.job_id).upload or result
    return run.emit(result)


async def _cmd_cancel(run: Run, service: Service) -> int:
    return run.emit(await service.cancel(run.args.job))


async def _cmd_chat(run: Run, service: Service) -> int:
    from free_generation_image import router

    message: str = run.args.message
    route = router.route(message)
    if route.op == "generate":
        await _confirm_spend(run, service, route.prompt or message)
    async with run.display.activity("Working") as act:
        result = await service.chat(message, wait_seconds=_chunk(run), on_progress=act)
        running = result.generate or result.export or result.upload
        if running is not None and running.status == "running" and running.job_id:
            job = await service.job(running.job_id)
            await _until_handed_off(service, job, act)
            status = await _follow(run, service, running.job_id, act)
            settled = _settled(service, status, running.job_id)
            result.generate = settled.generate or result.generate
            result.export = settled.export or result.export
            result.upload = settled.upload or result.upload
    return run.emit(result)


_COMMANDS: dict[str, Command] = {
    "generate": _cmd_generate,
    "upload": _cmd_upload,
    "credits": _cmd_credits,
    "status": _cmd_status,
    "export": _cmd_export,
    "cancel": _cmd_cancel,
    "chat": _cmd_chat,
}


# --------------------------------------------------------------------------- waiting
def _remaining(run: Run) -> float:
    return max(0.0, run.deadline - time.monotonic())


def _chunk(run: Run) -> float:
    from free_generation_image.service import MAX_WAIT_SECONDS

    return min(_remaining(run), MAX_WAIT_SECONDS)


async def _until_handed_off(service: Service, job: Job, act: Activity) -> None:
    """Wait (bounded) until the backend has the work of a job this process runs, even with --wait 0.

    The job runs inside this process, so exiting earlier would stop it before the backend got it; the
    job says when the backend has it (``Job.handed_off``).
    """
    import anyio

    if job.done or job.record.owner != service.jobs.owner:
        return  # finished, or run by another process: nothing here to hand over

    async def show(progress: Progress) -> None:
        act.update(progress)

    with anyio.move_on_after(HANDOFF_SECONDS) as scope:

        async def watch() -> None:
            await job.handed_off.wait()
            scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            await job.wait(HANDOFF_SECONDS, show)


async def _follow(run: Run, service: Service, job_id: str, act: Activity) -> StatusResult:
    """Wait for a job until it ends or --wait runs out, in waits the service accepts (<= its maximum).

    A job another process runs is followed through its log file by the service (its end is noticed
    within a second).
    """
    run.watching = [job_id]
    while True:
        status = await service.status(job_id, wait_seconds=_chunk(run), on_progress=act)
        job = status.job
        if job is None or job.status != "running" or _remaining(run) <= 0:
            return status


def _settled(service: Service, status: StatusResult, job_id: str) -> StatusResult:
    """The job's result if it finished, still runs or was cancelled; its own error if it failed."""
    if status.generate is not None or status.export is not None or status.upload is not None:
        return status
    summary = status.job
    if summary is not None and summary.status == "interrupted":
        raise Cancelled(f"Job {job_id} was interrupted.", hint=f"Run `{PROG} status` to see the project.")
    raise _job_error(service, job_id)


def _job_error(service: Service, job_id: str) -> FGIError:
    """Why a job failed: the original error when it failed in this process, else the one in its log."""
    from free_generation_image.engine import failure

    return failure(service.jobs.get(job_id))


def _failure_code(service: Service, job_id: str) -> int:
    try:
        return _job_error(service, job_id).exit_code
    except FGIError:  # the job vanished from the log meanwhile
        return EXIT_UNEXPECTED


# --------------------------------------------------------------------------- demo
def _demo(run: Run) -> int:
    """Prompt -> image saved -> timeline -> MP4 saved, on an in-process sandbox and a throwaway config dir."""
    import tempfile

    import anyio

    from free_generation_image import videolib
    from free_generation_image.sandbox import run_sandbox

    # The demo ends with an MP4: say now, and precisely, if this environment cannot make one, rather than
    # after a render has failed twice.
    videolib.h264_encoder()
    with (
        tempfile.TemporaryDirectory(prefix="fgi-demo-") as config_dir,
        run_sandbox(demo_sandbox_config()) as sandbox,
    ):
        settings = _demo_settings(sandbox.url, Path(config_dir), run.args.output)
        run.display.note(
            f"Demo on a local sandbox backend at {sandbox.url}: offline, no account, no real "
            f"credits. Files go to {settings.output_dir}"
        )
        code: int = anyio.run(_demo_flow, run, settings, sandbox.url)
        return code


def demo_sandbox_config() -> SandboxConfig:
    """The demo's backend: real 1080p media, and waits long enough to see the progress display."""
    from free_generation_image.sandbox import SandboxConfig

    return SandboxConfig(generation_seconds=3.0, render_seconds=3.0)


def _demo_settings(api_url: str, config_dir: Path, output: Path | None) -> Settings:
    from free_generation_image.config import Settings

    # Only the output location comes from the user's environment: never their token, client id or project.
    user = Settings.from_env({k: v for k, v in os.environ.items() if k == "NEMO_OUTPUT_DIR"})
    return Settings.from_env(
        {}, api_url=api_url, config_dir=config_dir, output_dir=output or user.output_dir / "demo"
    )


async def _demo_flow(run: Run, settings: Settings, sandbox_url: str) -> int:
    from free_generation_image.service import Service

    async with Service(settings) as service:
        run.service = service
        run.display.note(f"[1/3] Generating an image: {run.args.prompt}")
        generated = await _generate(run, service, run.args.prompt, kind="image")
        if generated.status != "completed" or not generated.media:
            raise FGIError(
                "The demo generation produced no file.", hint="Run again with --debug and report it."
            )
        run.display.note(f"[2/3] Saved {generated.media[0].path}; reading the timeline")
        status = await service.status()
        run.display.note("[3/3] Exporting the timeline as MP4 (export is free)")
        exported = await _export(run, service, "mp4")
    image, video = generated.media[0].path, exported.file.path if exported.file else None
    if run.args.json:
        document = {
            "sandbox_url": sandbox_url,
            "image": image,
            "video": video,
            "generate": generated.model_dump(mode="json"),
            "status": status.model_dump(mode="json"),
            "export": exported.model_dump(mode="json"),
        }
        print(render_json(document, ascii_only=not _utf8(run.stdout)), file=run.stdout)
    else:
        timeline = status.timeline or "Timeline is empty."
        print(clean(f"Image: {image}\n{timeline}\nVideo: {video}"), file=run.stdout)
    return exit_code_for(exported)


__all__ = ["DEFAULT_WAIT", "build_parser", "execute", "main"]
