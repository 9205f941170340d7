"""The sandbox: a local NemoVideo skill backend (real HTTP on loopback, real PNG/MP4, fault injection).

    from free_generation_image.sandbox import SandboxConfig, run_sandbox

    with run_sandbox(SandboxConfig(generation_seconds=0.1, render_seconds=0.2)) as sb:
        ...  # point a client at sb.url; sb.inject("rate_limited", retry_after=1); sb.journal("/run_sse")

``main(argv)`` is the ``free-generation-image sandbox`` command.
"""

from free_generation_image.sandbox.cli import main
from free_generation_image.sandbox.config import SandboxConfig
from free_generation_image.sandbox.control_client import Credentials, SandboxControl, UserInfo
from free_generation_image.sandbox.events import TOOL_EDIT, TOOL_GENERATE_IMAGE, TOOL_GENERATE_VIDEO
from free_generation_image.sandbox.faults import FAULTS
from free_generation_image.sandbox.journal import JournalEntry
from free_generation_image.sandbox.runner import Sandbox, run_sandbox

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
