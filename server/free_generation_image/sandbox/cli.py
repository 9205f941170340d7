"""``free-generation-image sandbox``: run the local backend in the foreground (the CLI delegates here)."""

from __future__ import annotations

import argparse
import logging
import sys

from free_generation_image.sandbox.config import SandboxConfig
from free_generation_image.sandbox.faults import FAULTS
from free_generation_image.sandbox.runner import serve

DEFAULT_PORT = 8765


def parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    p = argparse.ArgumentParser(
        prog="free-generation-image sandbox",
        description="Run a local NemoVideo-compatible backend: no account, no credits, real files.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0 = any free port)"
    )
    p.add_argument("--generation-seconds", type=float, help="how long an image/video generation takes")
    p.add_argument("--render-seconds", type=float, help="how long an export takes")
    p.add_argument("--heartbeat-interval", type=float, help="seconds between stream keep-alives")
    p.add_argument("--framing", choices=["adk", "typed"], help="stream dialect (default: adk)")
    p.add_argument(
        "--heartbeat", choices=["typed", "empty", "comment"], help="keep-alive form (default: typed)"
    )
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME[:times]",
        help=f"arm a fault (repeatable; times may be 'always'). Names: {', '.join(sorted(FAULTS))}",
    )
    p.add_argument("--media-scale", type=float, help="scale generated media and renders (e.g. 0.25)")
    p.add_argument("--no-quota", action="store_true", help="lift the anonymous-token quotas")
    p.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    return p


def config_from(args: argparse.Namespace) -> SandboxConfig:
    """A SandboxConfig from parsed arguments (unset options keep their defaults)."""
    options = {
        "host": args.host,
        "port": args.port,
        "generation_seconds": args.generation_seconds,
        "render_seconds": args.render_seconds,
        "heartbeat_interval": args.heartbeat_interval,
        "framing": args.framing,
        "heartbeat": args.heartbeat,
        "media_scale": args.media_scale,
    }
    if args.no_quota:
        options["quota_enabled"] = False
    return SandboxConfig(faults=tuple(args.fault), **{k: v for k, v in options.items() if v is not None})


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, run the sandbox until interrupted; 0 on a clean stop, 2 on bad arguments."""
    p = parser()
    args = p.parse_args(argv)
    try:
        config = config_from(args)
    except ValueError as err:
        p.error(str(err))
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(message)s",
    )

    def ready(url: str) -> None:
        print(
            f"free-generation-image sandbox running at {url}\n"
            f"Point the product at it:\n"
            f"  export NEMO_API_URL={url}\n"
            f'  free-generation-image generate "a red fox in the snow"\n'
            f"Control API (faults, journal, credits): {url}/_sandbox\n"
            f"Press Ctrl+C to stop.",
            flush=True,
        )

    try:
        serve(config, ready)
    except KeyboardInterrupt:  # uvicorn shuts down gracefully, then re-raises the Ctrl+C it caught
        pass
    except OSError as err:
        print(f"cannot listen on {config.host}:{config.port}: {err.strerror or err}", file=sys.stderr)
        return 1
    return 0
