"""The command line's text and shape: argparse options, help, examples and environment for every command."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, get_args

from free_generation_image import __version__
from free_generation_image.cli.render import EXIT_CODES_HELP, PROG
from free_generation_image.prompting import AspectRatio

DEFAULT_WAIT = 900.0  # a shell has no host timeout, but a forgotten command should not wait forever
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
        help="do not ask on a terminal when the estimate exceeds the balance (an estimate never "
        "blocks: piped or --json runs send and note it)",
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


__all__ = ["DEFAULT_WAIT", "DEMO_PROMPT", "build_parser"]
