"""``serve --http``: configuration errors on stderr, then JSON-line logs until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import sys

from free_generation_image.config import Settings
from free_generation_image.errors import FGIError
from free_generation_image.remote import logs
from free_generation_image.remote.config import RemoteConfig


def serve_http_command(args: argparse.Namespace) -> int:
    """Run the hosted server; returns the exit code."""
    from free_generation_image.remote.serve import serve_http

    try:
        base = Settings.from_env(api_url=getattr(args, "api_url", None))
        config = RemoteConfig.from_env(host=args.host, port=args.port, base=base)
    except FGIError as err:
        sys.stderr.write(f"error: {err.message} {err.hint}".rstrip() + "\n")
        return err.exit_code
    logs.setup("DEBUG" if getattr(args, "debug", False) else "INFO")
    try:
        serve_http(config, on_ready=lambda url: print(f"MCP over Streamable HTTP at {url}", file=sys.stderr))
    except OSError as err:  # the port is taken, or the address cannot be bound
        sys.stderr.write(f"error: cannot listen on {config.host}:{config.port}: {err.strerror or err}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
