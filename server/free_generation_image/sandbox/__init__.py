"""The sandbox: a local NemoVideo skill backend (real HTTP on loopback, real PNG/MP4, fault injection).

    from free_generation_image.sandbox import SandboxConfig, run_sandbox

    with run_sandbox(SandboxConfig(generation_seconds=0.1, render_seconds=0.2)) as sb:
        ...  # point a client at sb.url; sb.inject("rate_limited", retry_after=1); sb.journal("/run_sse")

``main(argv)`` is the ``free-generation-image sandbox`` command. This face imports nothing itself: each
name loads its module on first use, so importing one part (``sandbox.video``) never loads the server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from free_generation_image.sandbox.cli import main
    from free_generation_image.sandbox.config import SandboxConfig
    from free_generation_image.sandbox.control_client import Credentials, SandboxControl, UserInfo
    from free_generation_image.sandbox.events import TOOL_EDIT, TOOL_GENERATE_IMAGE, TOOL_GENERATE_VIDEO
    from free_generation_image.sandbox.faults import FAULTS
    from free_generation_image.sandbox.journal import JournalEntry
    from free_generation_image.sandbox.runner import Sandbox, run_sandbox

_HOMES = {
    "FAULTS": "faults",
    "TOOL_EDIT": "events",
    "TOOL_GENERATE_IMAGE": "events",
    "TOOL_GENERATE_VIDEO": "events",
    "Credentials": "control_client",
    "JournalEntry": "journal",
    "Sandbox": "runner",
    "SandboxConfig": "config",
    "SandboxControl": "control_client",
    "UserInfo": "control_client",
    "main": "cli",
    "run_sandbox": "runner",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


__all__ = [
    "FAULTS",
    "TOOL_EDIT",
    "TOOL_GENERATE_IMAGE",
    "TOOL_GENERATE_VIDEO",
    "Credentials",
    "JournalEntry",
    "Sandbox",
    "SandboxConfig",
    "SandboxControl",
    "UserInfo",
    "main",
    "run_sandbox",
]
